"""Finance forms: consent, product, loan application and handling, risk pool, IP, pledge."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.engine.credit import DEFAULT_TABLE
from innopoints.finance.models import IPItem, LoanProduct, Valuation


class DateInput(forms.DateInput):
    input_type = "date"


class ConsentForm(forms.Form):
    bank = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Bank"), empty_label=_("All partner banks")
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput)
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput)

    def __init__(self, *args, banks=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank"].queryset = banks


class JSONField(forms.CharField):
    """A JSON document in a textarea."""

    widget = forms.Textarea(attrs={"rows": 8, "class": "mono"})

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2) if value is not None else ""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s"), params={"error": str(exc)}
            ) from exc


class ProductForm(forms.Form):
    code = forms.SlugField(max_length=40, label=_("Code"))
    name = forms.CharField(max_length=100, label=_("Name"))
    kind = forms.ChoiceField(choices=LoanProduct.Kind.choices, label=_("Kind"))
    amount_min = forms.DecimalField(
        min_value=0, decimal_places=2, label=_("Minimum amount (10k CNY)")
    )
    amount_max = forms.DecimalField(
        min_value=0, decimal_places=2, label=_("Maximum amount (10k CNY)")
    )
    term_min_months = forms.IntegerField(
        min_value=1, max_value=360, label=_("Shortest term (months)")
    )
    term_max_months = forms.IntegerField(
        min_value=1, max_value=360, label=_("Longest term (months)")
    )
    rate_min = forms.DecimalField(min_value=0, decimal_places=3, label=_("Lowest rate (%)"))
    rate_max = forms.DecimalField(min_value=0, decimal_places=3, label=_("Highest rate (%)"))
    eligibility = JSONField(required=False, label=_("Eligibility rule"))
    credit_table = JSONField(label=_("Credit-line table"), initial=DEFAULT_TABLE)
    ltv_max = JSONField(required=False, label=_("Maximum loan-to-value by IP type"))
    active = forms.BooleanField(required=False, initial=True, label=_("Active"))


class ApplyForm(forms.Form):
    amount = forms.DecimalField(min_value=0, decimal_places=2, label=_("Amount (10k CNY)"))
    term_months = forms.IntegerField(min_value=1, max_value=360, label=_("Term (months)"))
    purpose = forms.CharField(max_length=200, label=_("Purpose"))
    contact = forms.CharField(max_length=60, required=False, label=_("Contact"))
    credit_share = forms.DecimalField(
        min_value=0, max_value=1, decimal_places=3, initial=1, label=_("Credit share (0–1)")
    )


class LoanActionForm(forms.Form):
    ACTIONS = [
        ("review", _("Start review")),
        ("approve", _("Approve")),
        ("reject", _("Reject")),
        ("disburse", _("Disburse")),
        ("repay", _("Record repayment")),
        ("overdue", _("Mark overdue")),
        ("default", _("Declare default")),
        ("withdraw", _("Withdraw")),
        ("cover", _("Cover by risk pool")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    amount = forms.DecimalField(required=False, decimal_places=2, label=_("Amount (10k CNY)"))
    rate = forms.DecimalField(required=False, decimal_places=3, label=_("Rate (%)"))
    term_months = forms.IntegerField(
        required=False, min_value=1, max_value=360, label=_("Term (months)")
    )
    on = forms.DateField(required=False, widget=DateInput, label=_("Date"))
    interest = forms.DecimalField(required=False, decimal_places=2, label=_("Interest (10k CNY)"))
    reason = forms.CharField(required=False, max_length=300, label=_("Reason"))
    pool = forms.IntegerField(required=False, widget=forms.HiddenInput)


class RiskPoolForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=None, label=_("Zone"))
    name = forms.CharField(max_length=100, label=_("Name"))
    size = forms.DecimalField(min_value=0, decimal_places=2, label=_("Size (10k CNY)"))
    cover_part_credit = forms.DecimalField(
        initial=0.5, decimal_places=3, label=_("Cover: part credit")
    )
    cover_mostly_credit = forms.DecimalField(
        initial=0.7, decimal_places=3, label=_("Cover: mostly credit")
    )
    cover_first_loan = forms.DecimalField(
        initial=0.9, decimal_places=3, label=_("Cover: first loan")
    )
    per_loan_cap = forms.DecimalField(
        min_value=0, decimal_places=2, label=_("Cap per loan (10k CNY)")
    )
    max_years = forms.IntegerField(min_value=1, max_value=10, initial=2, label=_("Years covered"))
    guarantor_share = forms.DecimalField(initial=0, decimal_places=3, label=_("Guarantor share"))

    def __init__(self, *args, zones=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones


class IPItemForm(forms.Form):
    kind = forms.ChoiceField(choices=IPItem.Kind.choices, label=_("Type"))
    number = forms.CharField(max_length=40, label=_("Number"))
    title = forms.CharField(max_length=200, label=_("Title"))
    granted_on = forms.DateField(required=False, widget=DateInput, label=_("Grant date"))
    ipc_class = forms.CharField(max_length=20, required=False, label=_("IPC class"))
    legal_status = forms.ChoiceField(choices=IPItem.LegalStatus.choices, label=_("Legal status"))


class ValuationForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    source = forms.ChoiceField(choices=Valuation.Source.choices, label=_("Source"))
    appraiser = forms.CharField(max_length=100, required=False, label=_("Appraiser"))
    value = forms.DecimalField(min_value=0, decimal_places=2, label=_("Value (10k CNY)"))
    valued_on = forms.DateField(widget=DateInput, label=_("Valuation date"))


class PledgeForm(forms.Form):
    product = forms.ModelChoiceField(queryset=None, label=_("Product"))
    uscc = forms.CharField(max_length=18, label=_("Pledgor USCC"))
    items = forms.CharField(max_length=500, label=_("IP numbers (comma-separated)"))
    registration_no = forms.CharField(max_length=40, label=_("Registration number"))
    registered_on = forms.DateField(widget=DateInput, label=_("Registration date"))
    loan_amount = forms.DecimalField(
        min_value=0, decimal_places=2, label=_("Loan amount (10k CNY)")
    )

    def __init__(self, *args, products=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products


class LicenceForm(forms.Form):
    uscc = forms.CharField(max_length=18, label=_("Enterprise USCC"))
    items = forms.CharField(max_length=500, label=_("IP numbers (comma-separated)"))
    financier = forms.CharField(max_length=100, required=False, label=_("Financier"))
    contract_no = forms.CharField(max_length=40, label=_("Contract number"))
    licence_fee = forms.DecimalField(
        min_value=0, decimal_places=2, label=_("Licence fee (10k CNY)")
    )
    paid_on = forms.DateField(widget=DateInput, label=_("Fee paid on"))
    fee_rate = forms.DecimalField(
        min_value=0, decimal_places=3, label=_("Usage fee rate (% a year)")
    )
    term_months = forms.IntegerField(min_value=1, max_value=120, label=_("Term (months)"))
    every_months = forms.IntegerField(
        min_value=1, max_value=12, initial=3, label=_("Instalment every (months)")
    )


class LicencePaymentForm(forms.Form):
    paid_on = forms.DateField(widget=DateInput, label=_("Paid on"))
    amount = forms.DecimalField(min_value=0, decimal_places=2, label=_("Amount (10k CNY)"))


class BranchForm(forms.Form):
    code = forms.SlugField(max_length=32, label=_("Code"))
    name = forms.CharField(max_length=100, label=_("Name"))
    region_code = forms.CharField(max_length=6, required=False, label=_("Region code"))
    zone = forms.ModelChoiceField(queryset=None, required=False, label=_("Zone"))

    def __init__(self, *args, zones=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones


class OfficerForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, label=_("User"))
    branch = forms.ModelChoiceField(queryset=None, required=False, label=_("Branch"))
    title = forms.CharField(max_length=60, required=False, label=_("Job title"))

    def __init__(self, *args, users=None, branches=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["branch"].queryset = branches
