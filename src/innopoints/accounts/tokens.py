"""API token secrets: generating, hashing and checking ``ip_<prefix>_<secret>`` tokens.

Only the SHA-256 of a token is stored; a presented token is found by its prefix and
compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.utils import timezone

from innopoints.accounts.models import ApiToken

TOKEN_PREFIX = "ip"
MAX_LIFETIME = dt.timedelta(days=365)
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def hash_token(token: str) -> str:
    """The stored form of a plain token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (prefix, plain token) pair: 8 hex characters and a 32-byte random secret."""
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def split_token(token: str) -> str | None:
    """The prefix of a well-formed token, or None."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def find_active_token(token: str, *, touch: bool = True) -> ApiToken | None:
    """The active (unrevoked, unexpired) token matching `token`, with its user, or None.

    With `touch`, `last_used_at` is brought up to date (at most once a minute per token).
    """
    prefix = split_token(token)
    if prefix is None or len(prefix) > 16:
        return None
    found = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if found is None or not hmac.compare_digest(found.secret_hash, hash_token(token.strip())):
        return None
    now = timezone.now()
    if not found.is_active(now) or not found.user.is_active:
        return None
    if touch and (found.last_used_at is None or now - found.last_used_at >= LAST_USED_GRANULARITY):
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        found.last_used_at = now
    return found
