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


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


class ApiToken(models.Model):
    """A personal API token for machine clients (``Authorization: Bearer <token>``).

    The plain token is ``ip_<prefix>_<secret>``: ``prefix`` (stored) finds the row, and only
    the SHA-256 of the whole token is kept in ``secret_hash``. A token acts as its user, so
    the user's role and scope decide what it sees; a ``read`` token refuses unsafe methods.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80)
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (ip_{self.prefix}_…)"

    @property
    def display_prefix(self) -> str:
        """The visible start of the token, for telling tokens apart."""
        return f"ip_{self.prefix}_…"

    def is_active(self, now=None) -> bool:
        """Not revoked and not expired."""
        from django.utils import timezone

        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now
