"""The REST API root (django-ninja): token or session auth; OpenAPI at /api/openapi.json,
docs at /api/docs; one error body for every error."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.pagination import LimitOffsetPagination

from innopoints.accounts.api import router as tokens_router
from innopoints.accounts.api import session_auth, token_auth
from innopoints.enterprises.api import router as enterprises_router
from innopoints.finance.api import router as finance_router
from innopoints.inbox.api import router as inbox_router
from innopoints.policies.api import router as policies_router
from innopoints.pools.api import router as pools_router
from innopoints.portal.api import router as portal_router
from innopoints.portrait.api import router as portrait_router
from innopoints.scoring.api import router as scoring_router
from innopoints.services.actions import ServiceError
from innopoints.services.api import router as services_router

logger = logging.getLogger("innopoints.api")

DESCRIPTION = """企业创新积分平台 API — the same access rules as the web pages.

**Authentication.** Either the browser session (unsafe methods need Django's CSRF token,
header `X-CSRFToken`) or an API token created on the page *API tokens*
(`/accounts/tokens/`): `Authorization: Bearer ip_<prefix>_<secret>`. A token acts as
its owner, with the owner's role and scope; a `read` token may only use GET.

**Errors.** Every error answers JSON `{"detail": "...", "code": "..."}`; validation
errors add `errors`, a list of the offending fields. Codes:

| status | code | meaning |
|---|---|---|
| 400 | `bad_request`, `invalid` or an action's own code | the request cannot be carried out |
| 401 | `unauthenticated` | no session and no valid token (unknown, expired or revoked) |
| 403 | `forbidden` | the role may not do this |
| 403 | `scope` | a `read` token used with POST, PUT, PATCH or DELETE |
| 403 | `csrf` | a session request with an unsafe method and no valid CSRF token |
| 404 | `not_found` | no such object, or outside the caller's scope |
| 409 | `conflict` | the object's state does not allow this (e.g. already reviewed) |
| 422 | `validation` | parameters or body do not match the schema (see `errors`) |
| 429 | `throttled` | too many requests |
| 500 | `server_error` | an unexpected error (logged) |

Lists are paginated with `limit` and `offset` and answer `{"items": [...], "count": n}`.
"""

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation",
    429: "throttled",
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["detail", "code"],
}
ERROR_DESCRIPTIONS = {
    "400": "Bad request",
    "401": "Not authenticated (no session, or an unknown, expired or revoked token)",
    "403": "Forbidden (role, token scope or CSRF)",
    "404": "Not found or outside the caller's scope",
    "409": "Conflict with the object's state",
    "422": "Validation error",
}
UNSAFE = {"post", "put", "patch", "delete"}


def error_body(detail: str, code: str, errors: list | None = None) -> dict[str, Any]:
    """The one error body of the API."""
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors is not None:
        body["errors"] = errors
    return body


# ninja's LimitOffsetPagination bounds neither `offset` nor (by default) `limit`, so
# `?offset=10**22` reached the database and failed with a 500 (SQLite "datatype mismatch",
# PostgreSQL "bigint out of range"). Every list of this API pages through it; clamp both
# to 2**53 at call time (a page past the end is simply empty), whichever app decorated it.
SQL_SAFE_INT = 2**53
_paginate_queryset = LimitOffsetPagination.paginate_queryset


def _bounded_paginate_queryset(self, queryset, pagination, request, **params):  # type: ignore[no-untyped-def]
    """LimitOffsetPagination.paginate_queryset with offset and limit within SQL range."""
    pagination.offset = min(pagination.offset, SQL_SAFE_INT)
    pagination.limit = min(pagination.limit, SQL_SAFE_INT)
    return _paginate_queryset(self, queryset, pagination, request, **params)


LimitOffsetPagination.paginate_queryset = _bounded_paginate_queryset  # type: ignore[method-assign]


class InnopointsAPI(NinjaAPI):
    """NinjaAPI with documented error responses on every operation and a JSON 404 for
    any unknown path under the API."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):  # type: ignore[override]
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                codes = ["400", "403", "404", "422"]
                if operation.get("security"):
                    codes.append("401")
                if method in UNSAFE:
                    codes.append("409")
                responses = operation.setdefault("responses", {})
                for code in codes:
                    responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code], **ref})
        return schema

    def _get_urls(self) -> list:
        urls = super()._get_urls()
        urls.append(re_path(r"^[\s\S]*$", self._unknown_path, name="api-unknown"))
        return urls

    @staticmethod
    @csrf_exempt
    def _unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return api.create_response(request, error_body("no such API path", "not_found"), status=404)


api = InnopointsAPI(
    title="innopoints API",
    version="1",
    description=DESCRIPTION,
    auth=[token_auth, session_auth],
    urls_namespace="api",
)


@api.exception_handler(ValidationError)
def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(
        request, error_body("invalid request", "validation", exc.errors), status=422
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    code = getattr(exc, "code", None) or CODE_BY_STATUS.get(status, "error")
    if isinstance(exc, AuthenticationError):
        code = "unauthenticated"
    response = api.create_response(request, error_body(str(exc), code), status=status)
    if isinstance(exc, Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait))
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    detail = str(exc) or "not found"
    return api.create_response(request, error_body(detail, "not_found"), status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    detail = str(exc) or "you may not do this"
    return api.create_response(request, error_body(detail, "forbidden"), status=403)


@api.exception_handler(DjangoValidationError)
def _invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, error_body("; ".join(exc.messages), "invalid"), status=400)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    """A zone-services action refused the request: 409 for a conflict, else 400."""
    status = 409 if exc.code == "conflict" else 400
    return api.create_response(request, error_body(str(exc), exc.code), status=status)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    got_request_exception.send(sender=None, request=request)  # the test client re-raises
    return api.create_response(
        request, error_body("internal server error", "server_error"), status=500
    )


api.add_router("/", enterprises_router)
api.add_router("/", tokens_router)
api.add_router("/scoring", scoring_router)
api.add_router("/pools", pools_router)
api.add_router("/portal", portal_router)
api.add_router("/portrait", portrait_router)
api.add_router("/finance", finance_router)
api.add_router("/policies", policies_router)
api.add_router("/inbox", inbox_router)
api.add_router("/services", services_router)
