"""Where the current write comes from (IP address or 'cli'), set once per request."""

from __future__ import annotations

from contextvars import ContextVar

current_source: ContextVar[str] = ContextVar("audit_source", default="cli")
