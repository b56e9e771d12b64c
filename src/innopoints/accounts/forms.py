"""The form of the API tokens page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.accounts.models import TokenScope

LIFETIMES = [
    (30, _("30 days")),
    (90, _("90 days")),
    (180, _("180 days")),
    (365, _("365 days")),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, label=_("Name"), help_text=_("what the token is for"))
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ, label=_("Scope"))
    lifetime = forms.TypedChoiceField(
        choices=LIFETIMES, coerce=int, initial=90, label=_("Expires after")
    )
