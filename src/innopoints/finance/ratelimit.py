"""A small per-token rate limiter for the finance API (fixed one-minute windows in the cache).

The limit is `FINANCE_API_RATE` requests per minute (setting; default 120) for each API
token, or for each user on the browser session. Over the limit the API answers 429
(`throttled`) with `Retry-After`.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

DEFAULT_RATE = 120
WINDOW = 60


class TokenRateLimit(BaseThrottle):
    """At most `FINANCE_API_RATE` requests per token (or user) and minute."""

    def __init__(self) -> None:
        self._wait: float | None = None

    @staticmethod
    def ident(request: HttpRequest) -> str:
        token = getattr(request, "api_token", None)
        if token is not None:
            return f"t{token.pk}"
        user = getattr(request, "user", None)
        return f"u{getattr(user, 'pk', None) or request.META.get('REMOTE_ADDR', '')}"

    def allow_request(self, request: HttpRequest) -> bool:
        limit = int(getattr(settings, "FINANCE_API_RATE", DEFAULT_RATE))
        now = time.time()
        window = int(now // WINDOW)
        key = f"finance-rate:{self.ident(request)}:{window}"
        cache.add(key, 0, WINDOW + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, WINDOW + 5)
            count = 1
        if count > limit:
            self._wait = WINDOW - (now % WINDOW)
            return False
        self._wait = None
        return True

    def wait(self) -> float | None:
        return self._wait
