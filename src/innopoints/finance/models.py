"""Finance: consent (授权), loan products and their credit-line tables, shortlists (银行找企业),
loans with their repayment schedule, risk-compensation pools (风险补偿资金池), the IP registry
and pledges (知识产权质押融资).

Money is in 万元 (two decimals), rates in % a year, ratios as fractions (0.5 = 50 %).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class Consent(models.Model):
    """A firm's grant of access to its portrait and data: to one bank, or to every partner
    bank of its zone (`bank` empty), from `valid_from` to `valid_until`, revocable."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="consents"
    )
    bank = models.ForeignKey(
        "zones.Bank", null=True, blank=True, on_delete=models.CASCADE, related_name="consents"
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="consent_period_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}→{self.bank_id or '*'} {self.valid_from}–{self.valid_until}"

    def is_valid(self, today) -> bool:
        """Not revoked and `today` within the period."""
        return self.revoked_at is None and self.valid_from <= today <= self.valid_until


class Branch(models.Model):
    """A branch (分支机构) of a bank, optionally serving one zone."""

    bank = models.ForeignKey("zones.Bank", on_delete=models.CASCADE, related_name="branches")
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=100)
    region_code = models.CharField(max_length=6, blank=True)
    zone = models.ForeignKey(
        "zones.Zone", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["bank_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="unique_bank_branch_code")
        ]

    def __str__(self) -> str:
        return self.name


class Officer(models.Model):
    """A bank user's place in the bank: branch and title (客户经理, 审批人 …)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bank_officer"
    )
    bank = models.ForeignKey("zones.Bank", on_delete=models.CASCADE, related_name="officers")
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.SET_NULL, related_name="officers"
    )
    title = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["bank_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.branch_id or self.bank_id}"


class LoanProduct(models.Model):
    """A bank's loan product with its eligibility rule and credit-line table."""

    class Kind(models.TextChoices):
        POINTS_CREDIT = "points_credit", _("Points credit loan")
        IP_PLEDGE = "ip_pledge", _("IP pledge loan")
        GUARANTEED = "guaranteed", _("Guaranteed loan")

    bank = models.ForeignKey("zones.Bank", on_delete=models.CASCADE, related_name="products")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POINTS_CREDIT)
    amount_min = models.DecimalField(**MONEY, default=0)
    amount_max = models.DecimalField(**MONEY)
    term_min_months = models.PositiveSmallIntegerField(default=1)
    term_max_months = models.PositiveSmallIntegerField(default=36)
    rate_min = models.DecimalField(max_digits=6, decimal_places=3)
    rate_max = models.DecimalField(max_digits=6, decimal_places=3)
    eligibility = models.JSONField(null=True, blank=True)  # a rule tree (engine.rules)
    credit_table = models.JSONField(default=dict)  # engine.credit table document
    ltv_max = models.JSONField(default=dict, blank=True)  # IP type → max loan-to-value
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bank_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="unique_bank_product_code"),
            models.CheckConstraint(
                condition=Q(amount_max__gte=F("amount_min")) & Q(amount_min__gte=0),
                name="product_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(term_max_months__gte=F("term_min_months")), name="product_term_range"
            ),
            models.CheckConstraint(
                condition=Q(rate_max__gte=F("rate_min")) & Q(rate_min__gte=0),
                name="product_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Shortlisting(models.Model):
    """A firm on a bank product's shortlist (the firm sees it on its finance page)."""

    product = models.ForeignKey(LoanProduct, on_delete=models.CASCADE, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="shortlistings"
    )
    year = models.PositiveSmallIntegerField()
    rank = models.PositiveIntegerField()
    suggested_line = models.DecimalField(**MONEY, null=True, blank=True)
    first_at = models.DateTimeField(auto_now_add=True)
    last_at = models.DateTimeField(auto_now=True)
    exported = models.BooleanField(default=False)

    class Meta:
        ordering = ["-last_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "enterprise", "year"], name="unique_shortlisting"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.enterprise_id}/{self.year} #{self.rank}"


class Loan(models.Model):
    """One application and, if approved, the loan it becomes."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REVIEW = "review", _("Under review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        DISBURSED = "disbursed", _("Disbursed")
        OVERDUE = "overdue", _("Overdue")
        REPAID = "repaid", _("Repaid")
        DEFAULTED = "defaulted", _("Defaulted")

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="loans"
    )
    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey("zones.Bank", on_delete=models.PROTECT, related_name="loans")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="loans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPLIED)
    # the application (the short form, pre-filled)
    amount_requested = models.DecimalField(**MONEY)
    term_months = models.PositiveSmallIntegerField()
    purpose = models.CharField(max_length=200)
    contact = models.CharField(max_length=60, blank=True)
    credit_share = models.DecimalField(max_digits=4, decimal_places=3, default=1)
    score_year = models.PositiveSmallIntegerField(null=True, blank=True)
    points = models.FloatField(null=True, blank=True)
    band = models.CharField(max_length=32, blank=True)
    grade = models.CharField(max_length=32, blank=True)  # the product table's grade
    suggested_line = models.DecimalField(**MONEY, null=True, blank=True)
    applied_at = models.DateTimeField(default=timezone.now)
    imported = models.BooleanField(default=False)  # history loaded from the bank's book
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.SET_NULL, related_name="loans"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # the decision
    amount_approved = models.DecimalField(**MONEY, null=True, blank=True)
    rate = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    term_approved_months = models.PositiveSmallIntegerField(null=True, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # the loan
    amount_disbursed = models.DecimalField(**MONEY, null=True, blank=True)
    disbursed_on = models.DateField(null=True, blank=True)
    maturity_on = models.DateField(null=True, blank=True)
    principal_repaid = models.DecimalField(**MONEY, default=0)
    settled_on = models.DateField(null=True, blank=True)
    defaulted_on = models.DateField(null=True, blank=True)
    loss = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_disbursed__isnull=True)
                | Q(amount_disbursed__lte=F("amount_approved")),
                name="loan_disbursed_le_approved",
            ),
            models.CheckConstraint(
                condition=Q(amount_requested__gt=0), name="loan_requested_positive"
            ),
            models.CheckConstraint(
                condition=Q(principal_repaid__gte=0), name="loan_repaid_nonnegative"
            ),
            models.UniqueConstraint(
                fields=["enterprise", "product"],
                condition=Q(status__in=["applied", "review", "approved"]),
                name="one_open_application_per_product",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.enterprise_id}→{self.bank_id} ({self.status})"

    @property
    def outstanding(self):
        """Principal disbursed and not yet repaid."""
        if self.amount_disbursed is None:
            return 0
        return self.amount_disbursed - self.principal_repaid


class Installment(models.Model):
    """One line of a loan's repayment schedule (equal principal, monthly)."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    principal = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY)
    paid = models.DecimalField(**MONEY, default=0)

    class Meta:
        ordering = ["loan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="unique_loan_installment")
        ]

    def __str__(self) -> str:
        return f"{self.loan_id}#{self.number} {self.due_on}"


class Repayment(models.Model):
    """A payment received on a loan."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="repayments")
    paid_on = models.DateField()
    principal = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY, default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan_id", "paid_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gte=0) & Q(interest__gte=0), name="repayment_nonnegative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.paid_on} {self.principal}"


class RiskPool(models.Model):
    """A zone's risk-compensation pool (风险补偿资金池).

    A covered loan's case decides the pool's ratio of the loss: a firm's first loan, a loan
    at least `mostly_credit_share` credit-based, or at least `part_credit_share`. The pool
    pays ratio × loss (at most `per_loan_cap`), a guarantor `guarantor_share` × loss, the
    bank the rest (e.g. 30 / 50 / 20). A loan stays covered `max_years` from disbursement.
    """

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    size = models.DecimalField(**MONEY)
    cover_part_credit = models.DecimalField(max_digits=4, decimal_places=3, default=0.5)
    cover_mostly_credit = models.DecimalField(max_digits=4, decimal_places=3, default=0.7)
    cover_first_loan = models.DecimalField(max_digits=4, decimal_places=3, default=0.9)
    mostly_credit_share = models.DecimalField(max_digits=4, decimal_places=3, default=0.7)
    part_credit_share = models.DecimalField(max_digits=4, decimal_places=3, default=0.5)
    per_loan_cap = models.DecimalField(**MONEY)
    max_years = models.PositiveSmallIntegerField(default=2)
    guarantor_share = models.DecimalField(max_digits=4, decimal_places=3, default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="riskpool_size_positive"),
            models.CheckConstraint(
                condition=Q(guarantor_share__gte=0) & Q(guarantor_share__lte=1),
                name="riskpool_shares_bounded",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Cover(models.Model):
    """A loan covered by a pool: the commitment the pool holds for it."""

    pool = models.ForeignKey(RiskPool, on_delete=models.PROTECT, related_name="covers")
    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="cover")
    case = models.CharField(max_length=16)  # part_credit / mostly_credit / first_loan
    ratio = models.DecimalField(max_digits=4, decimal_places=3)
    committed = models.DecimalField(**MONEY)
    covered_until = models.DateField()
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.loan_id} {self.committed}"


class Claim(models.Model):
    """A pool's compensation for a defaulted loan, split between pool, bank and guarantor."""

    pool = models.ForeignKey(RiskPool, on_delete=models.PROTECT, related_name="claims")
    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="claim")
    loss = models.DecimalField(**MONEY)
    pool_amount = models.DecimalField(**MONEY)
    bank_amount = models.DecimalField(**MONEY)
    guarantor_amount = models.DecimalField(**MONEY)
    explanation = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.loan_id} {self.pool_amount}"


class IPItem(models.Model):
    """A firm's patent, trademark or software copyright."""

    class Kind(models.TextChoices):
        INVENTION = "invention_patent", _("Invention patent")
        UTILITY = "utility_model", _("Utility model")
        DESIGN = "design_patent", _("Design patent")
        TRADEMARK = "trademark", _("Trademark")
        SOFTWARE = "software_copyright", _("Software copyright")

    class LegalStatus(models.TextChoices):
        VALID = "valid", _("Valid")
        PENDING = "pending", _("Pending")
        LAPSED = "lapsed", _("Lapsed")

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="ip_items"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    granted_on = models.DateField(null=True, blank=True)
    ipc_class = models.CharField(max_length=20, blank=True)
    legal_status = models.CharField(
        max_length=8, choices=LegalStatus.choices, default=LegalStatus.VALID
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["enterprise_id", "kind", "number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="unique_ip_kind_number")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def latest_valuation(self):
        """The newest valuation, or None."""
        return self.valuations.order_by("-valued_on", "-id").first()


class Valuation(models.Model):
    """A value put on an IP item by an appraiser or a bank's model."""

    class Source(models.TextChoices):
        APPRAISER = "appraiser", _("Appraiser")
        BANK_MODEL = "bank_model", _("Bank model")

    item = models.ForeignKey(IPItem, on_delete=models.CASCADE, related_name="valuations")
    source = models.CharField(max_length=12, choices=Source.choices)
    appraiser = models.CharField(max_length=100, blank=True)
    value = models.DecimalField(**MONEY)
    valued_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_id", "-valued_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(value__gt=0), name="valuation_positive")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.value} ({self.valued_on})"


class Pledge(models.Model):
    """An IP pledge (知识产权质押): pledgor, pledgee bank, items, registration, release."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="pledges"
    )
    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey("zones.Bank", on_delete=models.PROTECT, related_name="pledges")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="pledges")
    loan = models.ForeignKey(
        Loan, null=True, blank=True, on_delete=models.SET_NULL, related_name="pledges"
    )
    registration_no = models.CharField(max_length=40, unique=True)
    registered_on = models.DateField()
    loan_amount = models.DecimalField(**MONEY)
    pledged_value = models.DecimalField(**MONEY)
    released_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(loan_amount__gt=0), name="pledge_amount_positive")
        ]

    def __str__(self) -> str:
        return self.registration_no


class PledgedItem(models.Model):
    """One IP item in a pledge; `active` until the pledge is released (one active per item)."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(IPItem, on_delete=models.PROTECT, related_name="pledged")
    value = models.DecimalField(**MONEY)
    ltv_max = models.DecimalField(max_digits=4, decimal_places=3)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(active=True), name="one_active_pledge_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pledge_id}/{self.item_id}"


class LicenceBack(models.Model):
    """Licence-back financing: a financier pays the firm a one-off licence fee for its IP,
    licenses it back, and the firm pays usage fees in instalments."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="licences"
    )
    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey(
        "zones.Bank", null=True, blank=True, on_delete=models.PROTECT, related_name="licences"
    )
    financier = models.CharField(max_length=100)
    items = models.ManyToManyField(IPItem, related_name="licences")
    contract_no = models.CharField(max_length=40, unique=True)
    licence_fee = models.DecimalField(**MONEY)
    paid_on = models.DateField()
    fee_rate = models.DecimalField(max_digits=6, decimal_places=3)  # % a year
    term_months = models.PositiveSmallIntegerField()
    every_months = models.PositiveSmallIntegerField(default=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(licence_fee__gt=0), name="licence_fee_positive")
        ]

    def __str__(self) -> str:
        return self.contract_no


class LicenceInstalment(models.Model):
    """One usage-fee instalment of a licence-back contract."""

    licence = models.ForeignKey(LicenceBack, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    paid = models.DecimalField(**MONEY, default=0)

    class Meta:
        ordering = ["licence_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["licence", "number"], name="unique_licence_instalment"),
            models.CheckConstraint(condition=Q(paid__lte=F("amount")), name="instalment_paid_le"),
        ]

    def __str__(self) -> str:
        return f"{self.licence_id}#{self.number} {self.due_on}"


class LicencePayment(models.Model):
    """A usage-fee payment received from the firm."""

    licence = models.ForeignKey(LicenceBack, on_delete=models.CASCADE, related_name="payments")
    paid_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["licence_id", "paid_on", "id"]

    def __str__(self) -> str:
        return f"{self.licence_id} {self.paid_on} {self.amount}"
