"""Cultivation pools (培育库): a zone's pools, manual overrides, computed memberships.

A pool names a criterion — a shipped criterion (`specs/criteria/<name>.yaml`, with the
zone's parameter overrides) or a custom rule tree — and optionally a points condition
over a scoring run's columns (e.g. top 20 % of the firm's stage). Membership is computed
per year for every firm of the zone (member or not, with status, score, reasons and the
near-miss text) and stored; an admin's override adds or removes a firm for a year.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Pool(models.Model):
    """One cultivation pool of a zone."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(max_length=40)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150)
    criterion = models.CharField(max_length=64, blank=True)  # a shipped criterion name
    params = models.JSONField(default=dict, blank=True)  # the zone's parameter overrides
    rule = models.JSONField(null=True, blank=True)  # a custom rule tree (when no criterion)
    points_rule = models.JSONField(null=True, blank=True)  # condition over score columns
    order = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)
    default = models.BooleanField(default=False)  # created by `do_create_default_pools`
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["zone_id", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="unique_zone_pool_code"),
            models.CheckConstraint(
                condition=~Q(criterion="") | Q(rule__isnull=False),
                name="pool_has_criterion_or_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.code})"

    def name(self, lang: str) -> str:
        """The pool's name in `lang` ('zh' or 'en')."""
        return self.name_en if lang == "en" else self.name_zh


class PoolComputation(models.Model):
    """One computation of a zone's pools for a year (what the memberships came from)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    run = models.ForeignKey(
        "scoring.ScoringRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    data_version = models.PositiveBigIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)  # {pool code: {status: n, members: n}}
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.zone_id}/{self.year} ({self.status})"


class StoredReasons:
    """Reasons and near-miss texts stored in Chinese (`reasons`, `near_miss`) and English
    (`reasons_en`, `near_miss_en`) on a rule result (pool memberships, policy matches)."""

    reasons: str
    reasons_en: str
    near_miss: str
    near_miss_en: str

    def reasons_in(self, lang: str) -> str:
        """The stored reasons in `lang` ('zh' or 'en')."""
        return (self.reasons_en or self.reasons) if lang == "en" else self.reasons

    def near_miss_in(self, lang: str) -> str:
        """The stored near-miss text in `lang` ('zh' or 'en')."""
        return (self.near_miss_en or self.near_miss) if lang == "en" else self.near_miss


class PoolMembership(StoredReasons, models.Model):
    """One firm's result in one pool for one year (member or not, and why)."""

    class Status(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        INELIGIBLE = "ineligible", _("Not eligible")
        UNKNOWN = "unknown", _("Unknown (data missing)")

    class Source(models.TextChoices):
        COMPUTED = "computed", _("Computed")
        OVERRIDE = "override", _("Override")

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="memberships")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    member = models.BooleanField(default=False)
    computed_member = models.BooleanField(default=False)  # before overrides
    status = models.CharField(max_length=10, choices=Status.choices)
    score = models.FloatField(null=True, blank=True)
    score_min = models.FloatField(null=True, blank=True)
    score_max = models.FloatField(null=True, blank=True)
    reasons = models.TextField(blank=True)
    reasons_en = models.TextField(blank=True)
    missing = models.TextField(blank=True)
    near_miss = models.TextField(blank=True)
    near_miss_en = models.TextField(blank=True)
    near_miss_blocked = models.BooleanField(null=True, blank=True)
    stage = models.CharField(max_length=32, blank=True)
    industry_section = models.CharField(max_length=1, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.COMPUTED)
    override_reason = models.TextField(blank=True)
    computation = models.ForeignKey(
        PoolComputation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(
        "scoring.ScoringRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["pool_id", "year", "-member", "-score", "enterprise_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "enterprise", "year"], name="unique_pool_firm_year"
            ),
        ]
        indexes = [
            models.Index(fields=["pool", "year", "member"], name="poolmember_pool_year"),
            models.Index(fields=["enterprise", "year"], name="poolmember_firm_year"),
        ]

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.enterprise_id}/{self.year}: {self.status}"


class PoolOverride(models.Model):
    """An admin's decision to add or remove a firm for a year, with the reason."""

    class Action(models.TextChoices):
        ADD = "add", _("Add to the pool")
        REMOVE = "remove", _("Remove from the pool")

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="overrides")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=6, choices=Action.choices)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pool_id", "-year", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "enterprise", "year"], name="unique_pool_override"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="pool_override_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.enterprise_id} {self.pool_id}/{self.year}"
