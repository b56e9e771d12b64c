"""Scoring: indicator model versions per zone, their activation per year, scoring runs,
stored firm scores, and externally computed points for side-by-side display.

A stored score always names its run, and the run names the model version (by content
hash) and the data snapshot (by data hash), so any historic score can be recomputed and
checked: the same model and the same data give the same run hash.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    """One indicator model document as uploaded (or shipped) for a zone."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    effective_from = models.DateField()
    content_hash = models.CharField(max_length=80)
    document = models.JSONField()  # the canonical form (defaults filled, no content_hash)
    source_yaml = models.TextField()
    shipped = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_id", "-effective_from", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "content_hash"], name="unique_zone_model_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} {self.version}"

    def name(self, lang: str) -> str:
        """The model's name in `lang` ('zh' or 'en')."""
        return self.name_en if lang == "en" else self.name_zh


class ModelActivation(models.Model):
    """Which model version scores a zone's firms for one year."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="activations"
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "year"], name="unique_zone_year_activation"),
        ]

    def __str__(self) -> str:
        return f"{self.zone_id}/{self.year} → {self.model_version_id}"


class ScoringRun(models.Model):
    """One scoring of a zone's firms for one year with one model version."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    data_hash = models.CharField(max_length=80, blank=True)
    model_hash = models.CharField(max_length=80, blank=True)
    run_hash = models.CharField(max_length=80, blank=True, db_index=True)
    data_version = models.PositiveBigIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.year} ({self.status})"


class FirmScore(models.Model):
    """One firm's result in one run, as the engine gave it."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="scores")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    stage = models.CharField(max_length=32, blank=True)
    industry_section = models.CharField(max_length=1, blank=True)
    total = models.FloatField(null=True, blank=True)
    base_points = models.FloatField(null=True, blank=True)
    bonus_points = models.FloatField(null=True, blank=True)
    deducted_points = models.FloatField(null=True, blank=True)
    band = models.CharField(max_length=32, blank=True)
    rank_zone = models.PositiveIntegerField(null=True, blank=True)
    n_zone = models.PositiveIntegerField(null=True, blank=True)
    pct_zone = models.FloatField(null=True, blank=True)
    rank_stage = models.PositiveIntegerField(null=True, blank=True)
    n_stage = models.PositiveIntegerField(null=True, blank=True)
    pct_stage = models.FloatField(null=True, blank=True)
    rank_industry = models.PositiveIntegerField(null=True, blank=True)
    n_industry = models.PositiveIntegerField(null=True, blank=True)
    pct_industry = models.FloatField(null=True, blank=True)
    ranks = models.JSONField(default=dict, blank=True)  # every ranking group of the model
    node_points = models.JSONField(default=dict, blank=True)
    indicator_points = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run_id", "rank_zone", "enterprise_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "enterprise"], name="unique_run_enterprise"),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(total__gte=0), name="firm_score_total_ge_0"
            ),
        ]
        indexes = [models.Index(fields=["run", "rank_zone"], name="firmscore_run_rank")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.enterprise_id}: {self.total}"


class ExternalScore(models.Model):
    """Points computed elsewhere (e.g. the national platform), shown beside ours."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=64)
    points = models.FloatField()
    rank = models.PositiveIntegerField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["zone_id", "-year", "source", "rank", "enterprise_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "year", "source", "enterprise"], name="unique_external_score"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.year} {self.enterprise_id}: {self.points}"
