"""Forms of the pool pages."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.engine.rules import shipped_criteria

MAX_RULE_CHARS = 50_000


def _default_year() -> int:
    return dt.date.today().year - 1


class ComputeForm(forms.Form):
    """Zone and year whose pools to compute."""

    zone = forms.ModelChoiceField(queryset=None, label=_("Zone"))
    year = forms.IntegerField(
        label=_("Year"), min_value=2000, max_value=2100, initial=_default_year
    )

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        if zones.count() == 1:
            self.fields["zone"].initial = zones.first()


class OverrideForm(forms.Form):
    """An admin's addition or removal of a firm for a year."""

    uscc = forms.CharField(label=_("USCC"), max_length=18)
    year = forms.IntegerField(
        label=_("Year"), min_value=2000, max_value=2100, initial=_default_year
    )
    action = forms.ChoiceField(
        label=_("Action"),
        choices=[("add", _("Add to the pool")), ("remove", _("Remove from the pool"))],
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def clean_uscc(self) -> str:
        return self.cleaned_data["uscc"].strip().upper()


def _criterion_choices() -> list[tuple[str, str]]:
    return [("", _("Custom rule (below)"))] + [(c, c) for c in shipped_criteria()]


class PoolSettingsForm(forms.Form):
    """A pool's configuration: names, criterion or custom rule, points condition, order."""

    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100)
    name_en = forms.CharField(label=_("Name (English)"), max_length=150)
    criterion = forms.ChoiceField(label=_("Criterion"), required=False, choices=())
    params = forms.CharField(
        label=_("Parameter overrides (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
    )
    rule = forms.CharField(
        label=_("Custom rule (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
    )
    points_kind = forms.ChoiceField(
        label=_("Points condition"),
        required=False,
        choices=[
            ("", _("None")),
            # xgettext:no-python-format
            ("top_stage", _("Top % of its stage")),
            # xgettext:no-python-format
            ("top_zone", _("Top % of the zone")),
            # xgettext:no-python-format
            ("top_industry", _("Top % of its industry")),
            ("min_total", _("Total points at least")),
        ],
    )
    points_value = forms.FloatField(label=_("Value"), required=False, min_value=0)
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=32767)
    active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].choices = _criterion_choices()

    def _json(self, name: str, want: type | None = None):
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        if len(text) > MAX_RULE_CHARS:
            raise forms.ValidationError(_("The text is too long."))
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s") % {"error": exc.msg}
            ) from exc
        if want is not None and not isinstance(value, want):
            raise forms.ValidationError(_("Give a JSON object."))
        return value

    def clean_params(self):
        return self._json("params", dict) or {}

    def clean_rule(self):
        return self._json("rule")

    def clean(self):
        data = super().clean()
        kind, value = data.get("points_kind"), data.get("points_value")
        if kind and value is None:
            self.add_error("points_value", _("Give the value of the points condition."))
        if kind and kind.startswith("top_") and value is not None and not 0 < value <= 100:
            self.add_error("points_value", _("A share is between 0 and 100 %."))
        return data


class NewPoolForm(PoolSettingsForm):
    """A new pool: its zone and code, then the settings."""

    zone = forms.ModelChoiceField(queryset=None, label=_("Zone"))
    code = forms.SlugField(label=_("Code"), max_length=40)

    field_order = ["zone", "code"]

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        if zones.count() == 1:
            self.fields["zone"].initial = zones.first()
