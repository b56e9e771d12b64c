"""Corrections (数据更正) a firm submits to its own yearly data, and their review.

A correction names one yearly field of the data standard, the year and the new value
(stored as JSON, typed by the field's kind), with the firm's note. A zone admin approves
it (the value is written through the import action, audited with old and new value, and
the year is re-scored) or rejects it with a reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Correction(models.Model):
    """One requested change of one field of one firm-year."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    zone = models.ForeignKey("zones.Zone", on_delete=models.CASCADE, related_name="+")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    field = models.CharField(max_length=64)
    old_value = models.JSONField(null=True, blank=True)  # the value when submitted
    new_value = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    import_batch = models.ForeignKey(
        "enterprises.ImportBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    run = models.ForeignKey(
        "scoring.ScoringRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["submitted", "approved", "rejected"]),
                name="correction_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="correction_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="submitted") | Q(reviewed_at__isnull=False),
                name="correction_review_has_time",
            ),
            models.CheckConstraint(condition=Q(year__gte=2000), name="correction_year_from_2000"),
        ]
        indexes = [models.Index(fields=["zone", "status"], name="correction_zone_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.field} {self.year} ({self.status})"
