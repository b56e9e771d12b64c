"""API authentication (bearer tokens and the browser session) and the API token endpoints.

A token acts as its user: `request.user` becomes the token's user, so every access module
answers exactly as on the pages. A `read` token refuses unsafe methods (403, code `scope`);
an unknown, expired or revoked token is 401 (never falls back to the session). Session
auth keeps Django's CSRF check on unsafe methods; token requests need no CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import SessionAuth
from ninja.security.http import HttpBearer

from innopoints.accounts.actions import do_revoke_api_token
from innopoints.accounts.models import ApiToken, TokenScope
from innopoints.accounts.tokens import find_active_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ApiError(HttpError):
    """An HTTP error with a machine-readable `code` for the error body."""

    def __init__(self, status_code: int, message: str, code: str) -> None:
        super().__init__(status_code, message)
        self.code = code


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ip_<prefix>_<secret>`."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header) or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None  # no bearer token: let the session decide
        return self.authenticate(request, value)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = find_active_token(token)
        if found is None:
            raise AuthenticationError(401, "invalid, expired or revoked API token")
        if found.scope == TokenScope.READ and request.method not in SAFE_METHODS:
            raise ApiError(403, "this API token is read-only", "scope")
        request.user = found.user
        request.api_token = found
        return found.user


class SessionCsrfAuth(SessionAuth):
    """Django's session, with the CSRF check on unsafe methods reported as code `csrf`."""

    def _get_key(self, request: HttpRequest) -> str | None:
        try:
            return super()._get_key(request)
        except HttpError as exc:
            if exc.status_code == 403:
                raise ApiError(403, "CSRF check failed", "csrf") from exc
            raise


token_auth = TokenAuth()
session_auth = SessionCsrfAuth()

router = Router(tags=["tokens"])


class ApiTokenOut(Schema):
    id: int
    name: str
    scope: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    active: bool

    @staticmethod
    def resolve_prefix(obj: ApiToken) -> str:
        return obj.display_prefix

    @staticmethod
    def resolve_active(obj: ApiToken) -> bool:
        return obj.is_active()


@router.get("/tokens", response=list[ApiTokenOut])
def list_tokens(request: HttpRequest):
    """The caller's own API tokens, newest first (secrets are never shown again)."""
    return list(ApiToken.objects.filter(user=request.user))


@router.delete("/tokens/{token_id}", response={204: None})
def revoke_token(request: HttpRequest, token_id: int):
    """Revoke one of the caller's own tokens (404 for other people's tokens); a
    `read_write` token may revoke itself, e.g. when it leaked."""
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    do_revoke_api_token(request.user, token)
    return Status(204, None)
