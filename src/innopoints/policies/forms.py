"""Forms of the policy pages (the checks that matter are in `catalogue.check_entry`)."""

from __future__ import annotations

import yaml
from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.policies.models import PayoutBatch, PolicyVersion


class PolicyForm(forms.Form):
    """A policy version's catalogue fields; rule and amount as YAML or JSON text."""

    code = forms.SlugField(label=_("Code"), max_length=60)
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=250, required=False)
    department = forms.CharField(label=_("Issuing department"), max_length=200)
    document_number = forms.CharField(label=_("Document number"), max_length=120, required=False)
    document_url = forms.CharField(label=_("Document link"), max_length=400, required=False)
    beneficiaries = forms.CharField(
        label=_("Beneficiaries"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    mode = forms.ChoiceField(label=_("Mode"), choices=PolicyVersion.Mode.choices)
    rule = forms.CharField(
        label=_("Conditions (rule, YAML or JSON)"), widget=forms.Textarea(attrs={"rows": 6})
    )
    amount = forms.CharField(
        label=_("Amount formula (10k CNY, YAML or JSON)"), widget=forms.Textarea(attrs={"rows": 3})
    )
    budget = forms.CharField(label=_("Budget (10k CNY)"), required=False)
    effective_from = forms.CharField(label=_("Effective from"))
    effective_until = forms.CharField(label=_("Effective until"), required=False)
    required_documents = forms.CharField(
        label=_("Required documents (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    deadline_working_days = forms.CharField(label=_("Payout limit (working days)"))
    address = forms.CharField(label=_("Service address"), max_length=300, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=60, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    @staticmethod
    def initial_from(values: dict) -> dict:
        """Form initial data from catalogue values."""
        out = {k: ("" if v is None else v) for k, v in values.items()}
        for key in ("rule", "amount"):
            if key in values and values[key] is not None:
                out[key] = yaml.safe_dump(values[key], allow_unicode=True, sort_keys=False).strip()
        out["required_documents"] = "\n".join(values.get("required_documents") or [])
        for key in ("effective_from", "effective_until"):
            if values.get(key):
                out[key] = values[key].isoformat()
        return out

    def entry(self) -> dict:
        """The submitted values as a catalogue entry (typed later by `check_entry`)."""
        data = dict(self.cleaned_data)
        data["required_documents"] = [
            line.strip()
            for line in (data.get("required_documents") or "").splitlines()
            if line.strip()
        ]
        return data


class ImportForm(forms.Form):
    """A YAML or Excel catalogue to import."""

    file = forms.FileField(label=_("File (.yaml or .xlsx)"))
    publish = forms.BooleanField(label=_("Publish the new versions"), required=False)


class BatchForm(forms.Form):
    """Propose a payout batch."""

    period = forms.CharField(label=_("Period"), max_length=20)
    shortfall_rule = forms.ChoiceField(
        label=_("If the budget is short"), choices=PayoutBatch.Shortfall.choices
    )
    objection_days = forms.IntegerField(
        label=_("Objection window (working days)"), min_value=1, max_value=60, initial=5
    )


class ApplyForm(forms.Form):
    """An enterprise's application."""

    period = forms.CharField(label=_("Period"), max_length=20)
    contact = forms.CharField(label=_("Contact person and phone"), max_length=100, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
