"""The zone settings page: custom fields and the people of the zone."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from innopoints.accounts.access import people_of_zone
from innopoints.accounts.actions import do_create_user
from innopoints.enterprises.access import visible_enterprises
from innopoints.zones.access import configurable_zones, get_configurable_zone
from innopoints.zones.actions import do_define_custom_field, do_remove_custom_field
from innopoints.zones.forms import CustomFieldForm, PersonForm


@login_required
def zone_home(request: HttpRequest) -> HttpResponse:
    """Send an admin to the settings of their (first) zone."""
    zone = configurable_zones(request.user).first()
    if zone is None:
        raise PermissionDenied
    return redirect("zone-settings", code=zone.code)


@login_required
def zone_settings(request: HttpRequest, code: str) -> HttpResponse:
    """Custom fields and people of one zone (its admins only)."""
    zone = get_configurable_zone(request.user, code)
    banks = zone.banks.all()
    field_form = CustomFieldForm(prefix="field")
    person_form = PersonForm(prefix="person", banks=banks)
    if request.method == "POST":
        try:
            if "remove_field" in request.POST:
                field = zone.customfield_set.filter(pk=request.POST["remove_field"]).first()
                if field is not None:
                    do_remove_custom_field(request.user, field)
                    messages.success(request, _("Custom field removed."))
                return redirect("zone-settings", code=zone.code)
            if request.POST.get("form") == "field":
                field_form = CustomFieldForm(request.POST, prefix="field")
                if field_form.is_valid():
                    do_define_custom_field(request.user, zone, **field_form.cleaned_data)
                    messages.success(request, _("Custom field added."))
                    return redirect("zone-settings", code=zone.code)
            elif request.POST.get("form") == "person":
                person_form = PersonForm(request.POST, prefix="person", banks=banks)
                if person_form.is_valid():
                    data = person_form.cleaned_data
                    enterprise = None
                    if data["role"] == "enterprise":
                        enterprise = (
                            visible_enterprises(request.user)
                            .filter(zone=zone, uscc=data["enterprise"].upper())
                            .first()
                        )
                        if enterprise is None:
                            raise ValidationError(_("No enterprise of this zone has that USCC."))
                    do_create_user(
                        request.user,
                        data["username"],
                        data["password"],
                        data["role"],
                        zones=[zone] if data["role"] in ("zone_admin", "supervisor") else [],
                        enterprise=enterprise,
                        bank=data["bank"] if data["role"] == "bank" else None,
                        display_name=data["display_name"],
                    )
                    messages.success(request, _("Account created."))
                    return redirect("zone-settings", code=zone.code)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    return render(
        request,
        "zones/settings.html",
        {
            "zone": zone,
            "fields": zone.customfield_set.all(),
            "people": people_of_zone(request.user, zone),
            "banks": banks,
            "field_form": field_form,
            "person_form": person_form,
        },
    )
