"""The audit trail: one append-only record per write, login, permission change or bank read."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit record."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: D102
        raise AppendOnlyError("the audit trail is append-only")

    def delete(self):  # noqa: D102
        raise AppendOnlyError("the audit trail is append-only")


class AuditEvent(models.Model):
    """Who did what, when, from where, to which object, with old and new values."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(  # PROTECT: people with a history are deactivated, not deleted
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=64, blank=True)  # IP address, or "cli"
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    zone = models.ForeignKey("zones.Zone", null=True, blank=True, on_delete=models.PROTECT)
    changes = models.JSONField(default=dict, blank=True)  # field -> [old, new]
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["zone", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):  # noqa: D102
        if self.pk is not None:
            raise AppendOnlyError("the audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: D102
        raise AppendOnlyError("the audit trail is append-only")
