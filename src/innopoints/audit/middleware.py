"""Records the client address of each request for the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from innopoints.audit.context import current_source


def client_address(request: HttpRequest) -> str:
    """The client's IP address (REMOTE_ADDR; proxies are configured at the web server)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class AuditContextMiddleware:
    """Makes the request's client address available to actions that record audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_source.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            current_source.reset(token)
