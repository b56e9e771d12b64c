"""Creating people, changing their roles, and their API tokens (all audited)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innopoints.accounts.models import ApiToken, Profile, Role, TokenScope
from innopoints.audit.actions import record


def _scope(profile: Profile) -> dict:
    return {
        "role": profile.role,
        "zones": sorted(profile.zones.values_list("code", flat=True)),
        "enterprise": profile.enterprise.uscc if profile.enterprise_id else None,
        "bank": profile.bank.code if profile.bank_id else None,
    }


@transaction.atomic
def do_create_user(
    actor,
    username: str,
    password: str,
    role: str,
    *,
    zones=(),
    enterprise=None,
    bank=None,
    email: str = "",
    display_name: str = "",
):
    """Create a user with a role and scope; audited as a permission change."""
    if role not in Role.values:
        raise ValidationError(f"unknown role {role!r}")
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"用户名已存在 / username already exists: {username}")
    user = User.objects.create_user(
        username=username, password=password, email=email, first_name=display_name[:150]
    )
    profile = Profile(user=user, role=role, enterprise=enterprise, bank=bank)
    profile.full_clean(exclude=["user"])
    profile.save()
    if zones:
        profile.zones.set(zones)
    zone = next(iter(zones), None) or (enterprise.zone if enterprise is not None else None)
    record(
        actor,
        "user.create",
        user,
        zone=zone,
        object_repr=username,
        changes={k: [None, v] for k, v in _scope(profile).items() if v},
    )
    return user


@transaction.atomic
def do_change_role(actor, user, role: str, *, zones=(), enterprise=None, bank=None) -> Profile:
    """Change a user's role or scope; the old and new scope go to the audit trail."""
    profile = Profile.objects.select_for_update().get(user=user)
    before = _scope(profile)
    profile.role, profile.enterprise, profile.bank = role, enterprise, bank
    profile.full_clean(exclude=["user"])
    profile.save()
    profile.zones.set(zones)
    after = _scope(profile)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    zone = next(iter(zones), None) or (enterprise.zone if enterprise is not None else None)
    record(actor, "user.permissions", user, zone=zone, object_repr=user.username, changes=changes)
    return profile


@transaction.atomic
def do_set_password(actor, user, password: str) -> None:
    """Set a user's password (the value is never recorded)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    record(actor, "user.password", user, object_repr=user.username)


@transaction.atomic
def do_create_api_token(
    actor, name: str, scope: str, expires_at: dt.datetime
) -> tuple[ApiToken, str]:
    """Create an API token for `actor` itself; returns the row and the plain token, which
    is shown once and never stored (only its hash). `expires_at` is required and at most
    365 days away. Audited as ``api_token.create``."""
    from innopoints.accounts.tokens import MAX_LIFETIME, hash_token, new_token

    if not getattr(actor, "is_authenticated", False):
        raise ValidationError("only a signed-in user creates API tokens")
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError(_("A token needs a name of at most 80 characters."))
    if scope not in TokenScope.values:
        raise ValidationError(f"unknown token scope {scope!r}")
    now = timezone.now()
    if expires_at is None or expires_at <= now:
        raise ValidationError(_("The expiry must be in the future."))
    if expires_at > now + MAX_LIFETIME + dt.timedelta(minutes=5):
        raise ValidationError(_("A token lives at most 365 days."))
    prefix, plain = new_token()
    while ApiToken.objects.filter(prefix=prefix).exists():  # pragma: no cover - 2^32 space
        prefix, plain = new_token()
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        scope=scope,
        prefix=prefix,
        secret_hash=hash_token(plain),
        expires_at=expires_at,
    )
    record(
        actor,
        "api_token.create",
        token,
        object_repr=f"{actor.username}: {name}",
        detail={"scope": scope, "prefix": prefix, "expires_at": expires_at},
    )
    return token, plain


@transaction.atomic
def do_revoke_api_token(actor, token: ApiToken) -> ApiToken:
    """Revoke a token (its owner only); revoking twice changes nothing and records nothing.
    Audited as ``api_token.revoke``."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != getattr(actor, "pk", None):
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            actor,
            "api_token.revoke",
            token,
            object_repr=f"{actor.username}: {token.name}",
            detail={"prefix": token.prefix},
        )
    return token
