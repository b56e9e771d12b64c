"""Enterprise policies (惠企政策): versions, match results, payouts, applications.

A `Policy` is a zone's catalogue entry; its content lives in `PolicyVersion`s (draft →
published → retired; one published version at a time). The 申报条件 is a rule of the
rules engine and the benefit amount a value expression of the same language (万元).
`PolicyMatch` stores every firm's result against the published version, stamped with
the version, the zone's data version, the scoring run and the time it was computed.
No-application (免申即享) policies are paid in `PayoutBatch`es; `Payout` rows are unique
per firm, policy and period in the database. Application (快申快享) policies take
`Application`s with working-day deadlines per step.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from innopoints.pools.models import StoredReasons


class Policy(models.Model):
    """One policy of a zone's catalogue (its content is in its versions)."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="unique_zone_policy_code")
        ]

    def __str__(self) -> str:
        return self.code

    def published(self) -> PolicyVersion | None:
        """The published version, or None."""
        return self.versions.filter(status=PolicyVersion.Status.PUBLISHED).first()


class PolicyVersion(models.Model):
    """One version of a policy: every catalogue field, the rule and the amount formula."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    class Mode(models.TextChoices):
        NO_APPLICATION = "no_application", _("No application (免申即享)")
        APPLICATION = "application", _("Quick application (快申快享)")

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    title_zh = models.CharField(max_length=200)
    title_en = models.CharField(max_length=250, blank=True)
    department = models.CharField(max_length=200)  # issuing department
    document_number = models.CharField(max_length=120, blank=True)  # 文号
    document_url = models.URLField(max_length=400, blank=True)
    beneficiaries = models.TextField(blank=True)  # 惠及对象
    rule = models.JSONField()  # 申报条件 (a rule tree)
    amount = models.JSONField()  # benefit formula (a value tree, 万元)
    budget = models.FloatField(null=True, blank=True)  # 万元 per period; null = not capped
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    required_documents = models.JSONField(default=list, blank=True)  # list of texts
    deadline_working_days = models.PositiveSmallIntegerField(default=20)  # 兑现时限
    address = models.CharField(max_length=300, blank=True)  # 受理地址
    phone = models.CharField(max_length=60, blank=True)  # 咨询电话
    notes = models.TextField(blank=True)
    content_hash = models.CharField(max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["policy_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="unique_policy_version"),
            models.UniqueConstraint(
                fields=["policy"], condition=Q(status="published"), name="one_published_version"
            ),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="policy_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy.code} v{self.number}"

    def title(self, lang: str) -> str:
        """The title in `lang` ('zh' or 'en')."""
        return (self.title_en or self.title_zh) if lang == "en" else self.title_zh

    @property
    def criterion_id(self) -> str:
        """The id of this version's criterion in engine results."""
        return f"pv{self.pk}"


class MatchRun(models.Model):
    """One matching of policies against firms (the whole zone or some firms)."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=40)  # publish, scoring, pools, import, manual, stale
    data_version = models.PositiveBigIntegerField()
    run = models.ForeignKey(
        "scoring.ScoringRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policies = models.PositiveIntegerField(default=0)
    firms = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    new_matches = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.zone_id}/{self.year} {self.reason}"


class PolicyMatch(StoredReasons, models.Model):
    """One firm's result against a policy's published version for a data year."""

    class Status(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        INELIGIBLE = "ineligible", _("Not eligible")
        UNKNOWN = "unknown", _("Unknown (data missing)")

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="matches")
    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    amount = models.FloatField(null=True, blank=True)  # 万元, exact
    amount_min = models.FloatField(null=True, blank=True)
    amount_max = models.FloatField(null=True, blank=True)
    reasons = models.TextField(blank=True)
    reasons_en = models.TextField(blank=True)
    missing = models.TextField(blank=True)
    near_miss = models.TextField(blank=True)
    near_miss_en = models.TextField(blank=True)
    near_miss_blocked = models.BooleanField(null=True, blank=True)
    stage = models.CharField(max_length=32, blank=True)
    industry_section = models.CharField(max_length=1, blank=True)
    data_version = models.PositiveBigIntegerField()
    run = models.ForeignKey(
        "scoring.ScoringRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    match_run = models.ForeignKey(
        MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["policy_id", "-status", "enterprise_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "enterprise", "year"], name="unique_policy_firm_year"
            )
        ]
        indexes = [
            models.Index(fields=["enterprise", "year"], name="policymatch_firm_year"),
            models.Index(fields=["policy", "year", "status"], name="policymatch_policy_status"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}/{self.enterprise_id}/{self.year}: {self.status}"


class PayoutBatch(models.Model):
    """A proposed or approved list of no-application payouts of one policy and period."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        CANCELLED = "cancelled", _("Cancelled")

    class Shortfall(models.TextChoices):
        PRO_RATA = "pro_rata", _("Pro rata (scale every amount)")
        BY_RANK = "by_rank", _("By rank (pay in points order until the budget ends)")

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="batches")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=20)  # e.g. "2024"
    year = models.PositiveSmallIntegerField()  # the data year matched
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    shortfall_rule = models.CharField(max_length=10, choices=Shortfall.choices)
    budget = models.FloatField(null=True, blank=True)
    requested = models.FloatField(default=0)
    total = models.FloatField(default=0)
    firms = models.PositiveIntegerField(default=0)
    objection_days = models.PositiveSmallIntegerField(default=5)  # working days
    objection_deadline = models.DateField(null=True, blank=True)
    data_version = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.policy_id} {self.period} ({self.status})"


class PayoutLine(models.Model):
    """One firm of a batch: the amount the formula gives and the amount after the budget."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.CASCADE, related_name="lines")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    rank = models.PositiveIntegerField()
    points = models.FloatField(null=True, blank=True)
    requested = models.FloatField()
    amount = models.FloatField()

    class Meta:
        ordering = ["batch_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "enterprise"], name="unique_batch_firm")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.enterprise_id}: {self.amount}"


class Application(models.Model):
    """A firm's application (快申快享) to a policy for a period, with per-step deadlines."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ACCEPTED = "accepted", _("Accepted for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Paid")

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="applications")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    prefill = models.JSONField(default=dict, blank=True)  # the firm's data when it applied
    amount_requested = models.FloatField(null=True, blank=True)
    amount_approved = models.FloatField(null=True, blank=True)
    contact = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    reject_reason = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)  # deadline of the current step
    payout_due_on = models.DateField(null=True, blank=True)  # statutory 兑现时限
    deadline_error = models.TextField(blank=True)  # the calendar could not count the days

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "enterprise", "period"],
                condition=~Q(status="rejected"),
                name="one_live_application",
            )
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="application_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.enterprise_id} {self.policy_id} ({self.status})"

    @property
    def open(self) -> bool:
        """Whether a step is still to be taken by the zone."""
        return self.status in (self.Status.SUBMITTED, self.Status.ACCEPTED, self.Status.APPROVED)


class ApplicationAttachment(models.Model):
    """A file attached to an application, stored under PRIVATE_FILES_DIR (not web-served)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    document = models.CharField(max_length=200, blank=True)  # which required document
    original_name = models.CharField(max_length=200)
    stored_path = models.CharField(max_length=300)  # relative to PRIVATE_FILES_DIR
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class Payout(models.Model):
    """Money paid (or to be paid) to a firm under a policy for a period: never twice."""

    class Status(models.TextChoices):
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        WITHHELD = "withheld", _("Withheld after objection")

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="payouts")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    period = models.CharField(max_length=20)
    amount = models.FloatField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    batch = models.ForeignKey(
        PayoutBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    application = models.OneToOneField(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="payout"
    )
    objection_deadline = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "enterprise", "period"], name="one_payout_per_firm_policy_period"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payout_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}/{self.enterprise_id}/{self.period}: {self.amount}"


class PayoutObjection(models.Model):
    """A firm's objection to a no-application payout (amount or omission), in its window."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    batch = models.ForeignKey(PayoutBatch, on_delete=models.CASCADE, related_name="objections")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filed_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="payout_objection_reason"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.enterprise_id} ({self.status})"
