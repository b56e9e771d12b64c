"""The audit trail page for zone admins: filter by action, person, object, zone and dates."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from innopoints.audit.access import can_view_trail, visible_events


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@login_required
def audit_trail(request: HttpRequest) -> HttpResponse:
    """Audit events of the admin's zones, newest first, filtered and paginated."""
    if not can_view_trail(request.user):
        raise PermissionDenied
    events = visible_events(request.user).select_related("zone")
    params = request.GET
    if params.get("action"):
        events = events.filter(action__startswith=params["action"])
    if params.get("actor"):
        events = events.filter(actor_name__icontains=params["actor"])
    if params.get("object"):
        text = params["object"]
        events = events.filter(object_repr__icontains=text) | events.filter(object_id=text)
    since, until = _date(params.get("since", "")), _date(params.get("until", ""))
    if since:
        events = events.filter(at__date__gte=since)
    if until:
        events = events.filter(at__date__lte=until)
    actions = list(
        visible_events(request.user).order_by("action").values_list("action", flat=True).distinct()
    )
    page = Paginator(events, 50).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/trail.html",
        {"page": page, "actions": actions, "params": params, "query": query.urlencode()},
    )
