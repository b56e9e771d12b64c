"""Forms of the zone settings page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.accounts.models import Role
from innopoints.zones.models import CustomField


class CustomFieldForm(forms.Form):
    code = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]{1,39}$",
        label=_("Code"),
        help_text=_("lower-case letters, digits and _"),
    )
    label_zh = forms.CharField(max_length=60, label=_("Chinese name"))
    label_en = forms.CharField(max_length=80, label=_("English name"))
    kind = forms.ChoiceField(choices=CustomField._meta.get_field("kind").choices, label=_("Type"))
    unit_zh = forms.CharField(max_length=20, required=False, label=_("Unit (Chinese)"))
    unit_en = forms.CharField(max_length=20, required=False, label=_("Unit (English)"))
    minimum = forms.FloatField(required=False, label=_("Minimum"))
    maximum = forms.FloatField(required=False, label=_("Maximum"))
    choices = forms.CharField(required=False, label=_("Choices (enum, comma-separated)"))

    def clean_choices(self) -> list[str]:
        text = self.cleaned_data["choices"].replace("，", ",")
        return [c.strip() for c in text.split(",") if c.strip()]


class PersonForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]{3,150}$", label=_("Username"))
    display_name = forms.CharField(max_length=150, required=False, label=_("Display name"))
    password = forms.CharField(widget=forms.PasswordInput, min_length=10, label=_("Password"))
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))
    enterprise = forms.CharField(
        required=False, max_length=18, label=_("Enterprise USCC (enterprise users)")
    )
    bank = forms.ModelChoiceField(queryset=None, required=False, label=_("Bank (bank users)"))

    def __init__(self, *args, banks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank"].queryset = banks
