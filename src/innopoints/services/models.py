"""Zone services (园区服务): technology contracts, research–demand matching, results
conversion under 赋权+转让+约定收益, key projects and assisted handling (帮代办).

Money is in 万元 (two decimals in the UI); shares and ratios in percent (0–100).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# ---------------------------------------------------------------------------- contracts


class ContractType(models.TextChoices):
    DEVELOPMENT = "development", _("Technology development")
    TRANSFER = "transfer", _("Technology transfer")
    LICENCE = "licence", _("Technology licence")
    CONSULTING = "consulting", _("Technology consulting")
    SERVICE = "service", _("Technology service")


# Chinese names as written on the registration form (技术合同认定登记), for import/export.
CONTRACT_TYPE_ZH = {
    "development": "技术开发",
    "transfer": "技术转让",
    "licence": "技术许可",
    "consulting": "技术咨询",
    "service": "技术服务",
}


class TechContract(models.Model):
    """A registered technology contract (技术合同登记). Zone firms among its parties are
    linked; their yearly totals are written to `tech_contract_amount` (see actions)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered")
        IMPORT = "import", _("Imported")
        MATCH = "match", _("From a match")
        CONVERSION = "conversion", _("From a results conversion")

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    registration_no = models.CharField(max_length=40)
    registered_on = models.DateField()
    title = models.CharField(max_length=200)
    type = models.CharField(max_length=12, choices=ContractType.choices)
    seller_name = models.CharField(max_length=100)
    seller_uscc = models.CharField(max_length=18, blank=True)
    buyer_name = models.CharField(max_length=100)
    buyer_uscc = models.CharField(max_length=18, blank=True)
    seller = models.ForeignKey(
        "enterprises.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    buyer = models.ForeignKey(
        "enterprises.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.FloatField()  # 万元
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    match = models.ForeignKey(
        "services.Match", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-registered_on", "registration_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "registration_no"], name="unique_zone_contract_no"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="contract_amount_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.registration_no} {self.title}"


# ---------------------------------------------------------------------------- matching


class Maturity(models.TextChoices):
    LAB = "lab", _("Laboratory")
    PROTOTYPE = "prototype", _("Prototype")
    PILOT = "pilot", _("Pilot scale")
    INDUSTRIAL = "industrial", _("Industrialised")


TECH_FIELDS = {
    # code: (中文, English) — 国家重点支持的高新技术领域 (the eight fields)
    "electronics": ("电子信息", "Electronic information"),
    "biomed": ("生物与新医药", "Biology and new medicine"),
    "aerospace": ("航空航天", "Aerospace"),
    "materials": ("新材料", "New materials"),
    "hightech_services": ("高技术服务", "High-tech services"),
    "energy": ("新能源与节能", "New energy and energy saving"),
    "environment": ("资源与环境", "Resources and environment"),
    "manufacturing": ("先进制造与自动化", "Advanced manufacturing and automation"),
}
FIELD_CHOICES = [(k, v[0]) for k, v in TECH_FIELDS.items()]


class SupplyItem(models.Model):
    """One entry of the research supply list (院所科研清单)."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=200)
    field = models.CharField(max_length=20, choices=FIELD_CHOICES)
    keywords = models.CharField(max_length=300, blank=True)  # separated by 、 , ; or spaces
    description = models.TextField(blank=True)
    maturity = models.CharField(max_length=12, choices=Maturity.choices, default=Maturity.LAB)
    owner = models.CharField(max_length=100)  # university or institute
    industries = models.CharField(max_length=40, blank=True)  # GB/T 4754 sections, e.g. "C,I"
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["zone_id", "id"]

    def __str__(self) -> str:
        return self.title


class DemandItem(models.Model):
    """One entry of the enterprise demand list (企业需求清单)."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    problem = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    field = models.CharField(max_length=20, choices=FIELD_CHOICES, blank=True)
    budget = models.FloatField(null=True, blank=True)  # 万元
    deadline = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0),
                name="demand_budget_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return self.problem


class Match(models.Model):
    """A demand paired with a supply item: both sides' interest, and the contract it led to."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        MATCHED = "matched", _("Both sides interested")
        CONTRACTED = "contracted", _("Contract signed")

    demand = models.ForeignKey(DemandItem, on_delete=models.CASCADE, related_name="matches")
    supply = models.ForeignKey(SupplyItem, on_delete=models.CASCADE, related_name="matches")
    score = models.FloatField(default=0)
    terms = models.JSONField(default=list, blank=True)
    firm_interest_at = models.DateTimeField(null=True, blank=True)
    owner_interest_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    contract = models.ForeignKey(
        TechContract, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["demand", "supply"], name="unique_demand_supply"),
        ]

    def __str__(self) -> str:
        return f"{self.demand_id}↔{self.supply_id}"


# ---------------------------------------------------------------------------- results


class ResultStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    GRANTED = "granted", _("Ownership granted")
    TRANSFERRED = "transferred", _("University share transferred")
    INCOME_AGREED = "income_agreed", _("Income right agreed")
    CONVERTED = "converted", _("Converted")


class IncomeBasis(models.TextChoices):
    REVENUE = "revenue", _("Revenue")
    PROFIT = "profit", _("Profit")
    EQUITY = "equity", _("Equity")


class ResearchResult(models.Model):
    """A job-related research result (职务科技成果) going through 赋权+转让+约定收益."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    university = models.CharField(max_length=100)
    team = models.CharField(max_length=300)  # member names separated by 、
    ip_numbers = models.CharField(max_length=300, blank=True)  # IP registry numbers, as text
    field = models.CharField(max_length=20, choices=FIELD_CHOICES, blank=True)
    status = models.CharField(
        max_length=16, choices=ResultStatus.choices, default=ResultStatus.REGISTERED
    )
    # step 1: grant of ownership shares (赋权)
    team_share = models.FloatField(default=80)
    university_share = models.FloatField(default=20)
    grant_agreement = models.CharField(max_length=100, blank=True)
    granted_on = models.DateField(null=True, blank=True)
    # step 2: transfer of the university's share to the team (转让)
    transfer_agreement = models.CharField(max_length=100, blank=True)
    transferred_on = models.DateField(null=True, blank=True)
    transfer_price = models.FloatField(null=True, blank=True)  # 万元
    # step 3: the university's agreed income right (约定收益)
    income_ratio = models.FloatField(null=True, blank=True)  # % of the basis
    income_basis = models.CharField(max_length=10, choices=IncomeBasis.choices, blank=True)
    income_term_years = models.PositiveSmallIntegerField(null=True, blank=True)
    income_from = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team_share__gte=0)
                & Q(university_share__gte=0)
                & Q(team_share__lte=100)
                & Q(university_share__lte=100),
                name="result_shares_in_range",
            ),
            models.CheckConstraint(
                condition=Q(income_ratio__isnull=True)
                | (Q(income_ratio__gte=0) & Q(income_ratio__lte=100)),
                name="result_income_ratio_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ConversionMode(models.TextChoices):
    LICENCE = "licence", _("Licence")
    TRANSFER = "transfer", _("Transfer")
    EQUITY = "equity", _("Equity in a new firm")


class Conversion(models.Model):
    """A result converted into a firm (licence, transfer, or equity in a new firm)."""

    result = models.ForeignKey(ResearchResult, on_delete=models.CASCADE, related_name="conversions")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    firm_name = models.CharField(max_length=100)
    in_zone = models.BooleanField(default=True)
    mode = models.CharField(max_length=10, choices=ConversionMode.choices)
    converted_on = models.DateField()
    amount = models.FloatField(default=0)  # contract value or equity valuation, 万元
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["result_id", "converted_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="conversion_amount_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.result_id} → {self.firm_name}"


class IncomeEntry(models.Model):
    """Conversion income of one period; the university's share follows the agreed ratio."""

    result = models.ForeignKey(ResearchResult, on_delete=models.CASCADE, related_name="income")
    conversion = models.ForeignKey(Conversion, on_delete=models.CASCADE, related_name="income")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField(default=0)  # 0 = the whole year
    basis_amount = models.FloatField()  # revenue, profit or equity value of the period, 万元
    ratio = models.FloatField()  # the agreed ratio in force, %
    university_amount = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["result_id", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversion", "year", "quarter"], name="unique_income_period"
            ),
            models.CheckConstraint(condition=Q(quarter__lte=4), name="income_quarter_0_to_4"),
            models.CheckConstraint(condition=Q(basis_amount__gte=0), name="income_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.result_id} {self.year}Q{self.quarter}"


# ---------------------------------------------------------------------------- projects


class ProjectStage(models.TextChoices):
    SIGNED = "signed", _("Signed")
    GROUNDBREAKING = "groundbreaking", _("Groundbreaking")
    CONSTRUCTION = "construction", _("Under construction")
    COMPLETED = "completed", _("Construction completed")
    PRODUCTION = "production", _("In production")


STAGE_ORDER = [s.value for s in ProjectStage]


class KeyProject(models.Model):
    """A key project (重点项目) tracked from signing to production."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=200)
    total_investment = models.FloatField()  # 万元
    plan_year = models.PositiveSmallIntegerField()
    planned_this_year = models.FloatField()  # 万元
    stage = models.CharField(max_length=16, choices=ProjectStage.choices)
    signed_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "-total_investment", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_investment__gte=0) & Q(planned_this_year__gte=0),
                name="project_investment_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProjectMilestone(models.Model):
    """The planned date of a project's stage, and when it was reached."""

    project = models.ForeignKey(KeyProject, on_delete=models.CASCADE, related_name="milestones")
    stage = models.CharField(max_length=16, choices=ProjectStage.choices)
    due_on = models.DateField()
    reached_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "due_on"]
        constraints = [
            models.UniqueConstraint(fields=["project", "stage"], name="unique_project_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.stage} {self.due_on}"


class ProjectInvestment(models.Model):
    """Actual investment of a project in one month."""

    project = models.ForeignKey(KeyProject, on_delete=models.CASCADE, related_name="investments")
    month = models.DateField()  # the first day of the month
    amount = models.FloatField()  # 万元

    class Meta:
        ordering = ["project_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["project", "month"], name="unique_project_month"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="investment_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.month:%Y-%m}"


# ---------------------------------------------------------------------------- 帮代办


class ProcedureType(models.Model):
    """A procedure the zone handles for firms, with its statutory and promised limits."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=40)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150)
    statutory_days = models.PositiveSmallIntegerField()  # working days
    promised_days = models.PositiveSmallIntegerField()  # working days

    class Meta:
        ordering = ["zone_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="unique_zone_procedure"),
            models.CheckConstraint(
                condition=Q(promised_days__lte=F("statutory_days")),
                name="procedure_promise_within_statute",
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh

    def name(self, lang: str) -> str:
        """The name in `lang` ('zh' or 'en')."""
        return self.name_en if lang == "en" else self.name_zh


class HandlingRequest(models.Model):
    """A firm's request for assisted handling (帮代办) of one procedure."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ACCEPTED = "accepted", _("Taken by an official")
        COMPLETED = "completed", _("Completed")
        RETURNED = "returned", _("Returned to the firm")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    procedure = models.ForeignKey(ProcedureType, on_delete=models.PROTECT, related_name="+")
    description = models.TextField()
    documents = models.TextField(blank=True)  # names of the documents handed over, one a line
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUBMITTED)
    submitted_on = models.DateField()
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_on = models.DateField(null=True, blank=True)
    promised_deadline = models.DateField(null=True, blank=True)
    statutory_deadline = models.DateField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    working_days = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "-submitted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.procedure_id} {self.enterprise_id} {self.submitted_on}"


class ServiceDocument(models.Model):
    """A file handed over at a step of a result's workflow or with a 帮代办 request,
    stored under PRIVATE_FILES_DIR (never web-served; downloads go through access)."""

    class Step(models.TextChoices):
        GRANT = "grant", _("Grant of ownership shares")
        TRANSFER = "transfer", _("Transfer of the university's share")
        INCOME = "income", _("Agreed income right")
        CONVERSION = "conversion", _("Conversion")
        REQUEST = "request", _("Request")

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    result = models.ForeignKey(
        ResearchResult, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    request = models.ForeignKey(
        HandlingRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    step = models.CharField(max_length=12, choices=Step.choices)
    original_name = models.CharField(max_length=200)
    stored_path = models.CharField(max_length=300)  # relative to PRIVATE_FILES_DIR
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__isnull=False, request__isnull=True)
                | Q(result__isnull=True, request__isnull=False),
                name="document_of_result_or_request",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name
