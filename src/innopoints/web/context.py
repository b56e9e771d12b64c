"""Template context shared by every page: the user's role and the navigation it allows."""

from __future__ import annotations

from django.conf import settings

from innopoints.accounts.access import profile_of


def navigation(request) -> dict:
    """The role and the menu entries of the signed-in user."""
    profile = profile_of(getattr(request, "user", None))
    role = profile.role if profile else None
    return {
        "role": role,
        "role_label": settings.ROLE_LABELS.get(role, "") if role else "",
        "profile": profile,
    }
