"""The zone portal: published rankings (frozen snapshots of a scoring run) and the
objections (异议) enterprises file against their placement.

A `Publication` copies a run's ranking rows into `Placement` rows once, when it is
published; later runs never change them. The snapshot is hashed (`snapshot_hash`) from
the rows' scoring fields keyed by USCC, so re-running scoring on the same data (same
run hash) reproduces the same snapshot hash. Placements are append-only: code that tries
to change or delete one gets `FrozenError`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FrozenError(RuntimeError):
    """Raised when code tries to change or delete a published placement."""


class Publication(models.Model):
    """One published ranking of a zone's year: a frozen copy of a run's results."""

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    run = models.ForeignKey("scoring.ScoringRun", on_delete=models.PROTECT, related_name="+")
    run_hash = models.CharField(max_length=80)
    snapshot_hash = models.CharField(max_length=80)
    model_version = models.CharField(max_length=140)  # "model_id version", for display
    band_names = models.JSONField(default=dict, blank=True)  # code -> {zh, en}, as published
    stage_names = models.JSONField(default=dict, blank=True)  # code -> {zh, en}
    firms = models.PositiveIntegerField(default=0)
    objection_days = models.PositiveSmallIntegerField(default=5)
    published_at = models.DateTimeField()
    objection_deadline = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["zone", "year", "-published_at"], name="pub_zone_year")]
        constraints = [
            models.CheckConstraint(
                condition=Q(objection_deadline__gte=models.F("published_at")),
                name="publication_deadline_after_publication",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.zone_id}/{self.year} run {self.run_id}"

    def band_name(self, code: str, lang: str) -> str:
        """The published name of a band in `lang` ('zh' or 'en'); the code if unknown."""
        names = self.band_names.get(code) or {}
        return names.get(lang) or names.get("zh") or code

    def stage_name(self, code: str, lang: str) -> str:
        """The published name of a stage in `lang`; the code if unknown."""
        names = self.stage_names.get(code) or {}
        return names.get(lang) or names.get("zh") or code


class PlacementQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: D102
        raise FrozenError("published placements are frozen")

    def delete(self):  # noqa: D102
        raise FrozenError("published placements are frozen")


class Placement(models.Model):
    """One firm's row in a published ranking, copied from the run when published."""

    publication = models.ForeignKey(
        Publication, on_delete=models.PROTECT, related_name="placements"
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    uscc = models.CharField(max_length=18)
    name = models.CharField(max_length=100)  # the name when published
    stage = models.CharField(max_length=32, blank=True)
    industry_section = models.CharField(max_length=1, blank=True)
    total = models.FloatField(null=True, blank=True)
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

    objects = PlacementQuerySet.as_manager()

    class Meta:
        ordering = ["publication_id", "rank_zone", "uscc"]
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "enterprise"], name="unique_publication_enterprise"
            ),
        ]
        indexes = [models.Index(fields=["publication", "rank_zone"], name="placement_pub_rank")]

    def __str__(self) -> str:
        return f"{self.publication_id}/{self.uscc}: {self.rank_zone}"

    def save(self, *args, **kwargs):  # noqa: D102
        if self.pk is not None:
            raise FrozenError("published placements are frozen")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: D102
        raise FrozenError("published placements are frozen")


class Objection(models.Model):
    """An enterprise's objection (异议) to its placement in a published ranking."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    publication = models.ForeignKey(
        Publication, on_delete=models.PROTECT, related_name="objections"
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filed_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | (
                    Q(status__in=["accepted", "rejected"], resolved_at__isnull=False)
                    & ~Q(resolution_note="")
                ),
                name="objection_resolution_complete",
            ),
        ]
        indexes = [models.Index(fields=["status", "-filed_at"], name="objection_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.enterprise_id} ({self.status})"


class ObjectionAttachment(models.Model):
    """A file attached to an objection, stored under PRIVATE_FILES_DIR (not web-served)."""

    objection = models.ForeignKey(Objection, on_delete=models.CASCADE, related_name="attachments")
    original_name = models.CharField(max_length=200)
    stored_path = models.CharField(max_length=300)  # relative to PRIVATE_FILES_DIR
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["objection_id", "id"]

    def __str__(self) -> str:
        return self.original_name
