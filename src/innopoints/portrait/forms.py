"""Forms of the portrait pages: submitting a correction, reviewing one."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.portrait.actions import correctable_fields


def field_choices(lang: str) -> list[tuple[str, str]]:
    """(code, label) of the correctable yearly fields, with the unit."""
    out = []
    for code, f in correctable_fields().items():
        unit = f.unit_en if lang == "en" else f.unit_zh
        out.append((code, f"{f.label(lang)}{f' ({unit})' if unit else ''} · {code}"))
    return out


class CorrectionForm(forms.Form):
    """A firm's correction of one yearly field."""

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    field = forms.ChoiceField(label=_("Field"))
    value = forms.CharField(
        label=_("New value"),
        max_length=64,
        required=False,
        help_text=_("Money in 10k CNY, ratios as fractions (0.05 = 5%); empty clears the value."),
    )
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, lang: str = "zh", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = field_choices(lang)


class ReviewForm(forms.Form):
    """An admin's decision on a correction."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
