"""Each user's role: zone admin, enterprise user, bank user or supervisor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ZONE_ADMIN = "zone_admin", _("Zone administrator")
    ENTERPRISE = "enterprise", _("Enterprise user")
    BANK = "bank", _("Bank user")
    SUPERVISOR = "supervisor", _("Supervisor")


class Profile(models.Model):
    """A user's role and scope.

    zone_admin: one or more `zones`; supervisor: read-only over `zones`;
    enterprise: exactly one `enterprise`; bank: exactly one `bank`.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices)
    zones = models.ManyToManyField("zones.Zone", blank=True, related_name="profiles")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", null=True, blank=True, on_delete=models.PROTECT
    )
    bank = models.ForeignKey("zones.Bank", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role="enterprise", enterprise__isnull=False, bank__isnull=True)
                    | models.Q(role="bank", bank__isnull=False, enterprise__isnull=True)
                    | models.Q(
                        role__in=["zone_admin", "supervisor"],
                        enterprise__isnull=True,
                        bank__isnull=True,
                    )
                ),
                name="profile_scope_matches_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.username} ({self.role})"
