"""API test fixtures: tokens for the role users and a bearer-header client."""

from __future__ import annotations

import datetime as dt

import pytest


def make_token(user, scope: str = "read_write", *, days: int = 30, name: str = "ci") -> str:
    """A plain API token for `user` (created through the audited action)."""
    from django.utils import timezone

    from innopoints.accounts.actions import do_create_api_token

    _token, plain = do_create_api_token(user, name, scope, timezone.now() + dt.timedelta(days=days))
    return plain


def bearer(token: str) -> dict[str, str]:
    """Request headers for the Django test client carrying `token`."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def tokens(users) -> dict[str, str]:
    """A read-write token per role user."""
    return {role: make_token(user) for role, user in users.items()}


@pytest.fixture
def api_client(db, client):
    """The test client without any session (only what the caller's headers carry)."""
    client.logout()
    return client
