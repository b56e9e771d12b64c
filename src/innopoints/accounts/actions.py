"""Creating people and changing their roles (permission changes are audited)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from innopoints.accounts.models import Profile, Role
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
