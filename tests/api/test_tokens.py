"""API tokens: lifecycle, scope, role-equal access, error bodies, the tokens page, audit."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.conftest import bearer, make_token
from tests.conftest import uscc

OWN, PEER, FOREIGN = uscc(1), uscc(2), uscc(9)


def _token_row(plain: str):
    from innopoints.accounts.models import ApiToken

    return ApiToken.objects.get(prefix=plain.split("_")[1])


# ---------------------------------------------------------------------------- lifecycle


def test_the_tokens_page_shows_a_new_secret_once_and_stores_only_its_hash(client_for, users):
    from innopoints.accounts.models import ApiToken

    client = client_for("admin")
    response = client.post("/accounts/tokens/", {"name": "etl", "scope": "read", "lifetime": 30})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=users["admin"])
    page = response.content.decode()
    start = page.index('id="token-secret">') + len('id="token-secret">')
    secret = page[start : page.index("<", start)]
    assert secret.startswith(f"ip_{token.prefix}_") and len(secret) > 40
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.values().get(pk=token.pk))
    assert token.scope == "read" and token.name == "etl"
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    listing = client.get("/accounts/tokens/").content.decode()
    assert "etl" in listing and token.display_prefix in listing and secret not in listing


def test_a_token_works_and_records_its_last_use(api_client, users):
    plain = make_token(users["admin"], "read")
    assert _token_row(plain).last_used_at is None
    response = api_client.get("/api/enterprises", **bearer(plain))
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert _token_row(plain).last_used_at is not None


@pytest.mark.parametrize("change", ["expired", "revoked", "unknown", "garbled", "inactive_user"])
def test_an_invalid_token_is_401_with_the_error_body(api_client, users, change):
    from innopoints.accounts.actions import do_revoke_api_token
    from innopoints.accounts.models import ApiToken

    plain = make_token(users["admin"])
    if change == "expired":
        ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif change == "revoked":
        do_revoke_api_token(users["admin"], _token_row(plain))
    elif change == "unknown":
        plain = plain[:-4] + ("aaaa" if not plain.endswith("aaaa") else "bbbb")
    elif change == "garbled":
        plain = "not-a-token"
    else:
        users["admin"].is_active = False
        users["admin"].save()
    response = api_client.get("/api/enterprises", **bearer(plain))
    assert response.status_code == 401
    assert response.json() == {"detail": response.json()["detail"], "code": "unauthenticated"}


def test_a_bad_token_does_not_fall_back_to_the_session(client_for):
    client = client_for("admin")
    assert client.get("/api/zones").status_code == 200
    assert client.get("/api/zones", **bearer("ip_deadbeef_nope")).status_code == 401


def test_a_read_token_refuses_unsafe_methods_with_code_scope(api_client, users):
    from innopoints.accounts.models import ApiToken

    read = make_token(users["admin"], "read")
    response = api_client.post(
        "/api/portal/publications", {"run": 1}, content_type="application/json", **bearer(read)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "scope"
    token = _token_row(read)
    response = api_client.delete(f"/api/tokens/{token.pk}", **bearer(read))
    assert response.status_code == 403 and response.json()["code"] == "scope"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    write = make_token(users["admin"], "read_write")
    response = api_client.post(
        "/api/portal/publications", {"run": 999}, content_type="application/json", **bearer(write)
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_expiry_is_required_and_at_most_a_year(users):
    from django.core.exceptions import ValidationError

    from innopoints.accounts.actions import do_create_api_token

    now = timezone.now()
    for expires_at in (None, now - dt.timedelta(days=1), now + dt.timedelta(days=366)):
        with pytest.raises(ValidationError):
            do_create_api_token(users["admin"], "x", "read", expires_at)
    with pytest.raises(ValidationError):
        do_create_api_token(users["admin"], "x", "admin", now + dt.timedelta(days=1))
    token, _plain = do_create_api_token(users["admin"], "x", "read", now + dt.timedelta(days=365))
    assert token.pk


def test_revoking_through_the_page_and_the_api(client_for, api_client, users):
    plain = make_token(users["enterprise"], "read_write", name="erp")
    token = _token_row(plain)
    other = make_token(users["admin"])
    # someone else's token is not found, on the page and in the API
    response = client_for("admin").post("/accounts/tokens/", {"revoke": token.pk})
    assert response.status_code == 404
    assert api_client.delete(f"/api/tokens/{token.pk}", **bearer(other)).status_code == 404
    response = client_for("enterprise").post("/accounts/tokens/", {"revoke": token.pk})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_client.get("/api/zones", **bearer(plain)).status_code == 401
    # a read-write token may revoke itself through the API
    second = make_token(users["enterprise"], "read_write")
    assert (
        api_client.delete(f"/api/tokens/{_token_row(second).pk}", **bearer(second)).status_code
        == 204
    )
    assert api_client.get("/api/tokens", **bearer(second)).status_code == 401


def test_the_token_list_shows_only_the_callers_tokens_without_secrets(api_client, users):
    mine = make_token(users["bank"], "read", name="risk")
    make_token(users["admin"], name="admin-etl")
    body = api_client.get("/api/tokens", **bearer(mine)).json()
    assert [t["name"] for t in body] == ["risk"]
    assert body[0]["prefix"].startswith("ip_") and mine not in str(body)
    assert body[0]["active"] is True and body[0]["last_used_at"] is not None


def test_create_and_revoke_are_audited(users):
    from innopoints.accounts.actions import do_revoke_api_token
    from innopoints.audit.models import AuditEvent

    plain = make_token(users["supervisor"], "read", name="report")
    token = _token_row(plain)
    created = AuditEvent.objects.get(action="api_token.create")
    assert created.actor == users["supervisor"] and created.object_id == str(token.pk)
    assert created.detail["scope"] == "read" and created.detail["prefix"] == token.prefix
    assert plain not in str(created.detail) and token.secret_hash not in str(created.detail)
    do_revoke_api_token(users["supervisor"], token)
    do_revoke_api_token(users["supervisor"], token)  # twice: one event
    revoked = AuditEvent.objects.filter(action="api_token.revoke")
    assert revoked.count() == 1 and revoked.get().actor == users["supervisor"]


# ---------------------------------------------------------------------------- roles


def test_a_token_sees_exactly_what_its_users_role_sees(api_client, client_for, tokens):
    for role in ("admin", "other_admin", "supervisor", "enterprise", "bank"):
        for path in ("/api/enterprises", "/api/zones", "/api/scoring/runs", "/api/pools/pools"):
            by_session = client_for(role).get(path)
            api_client.logout()
            by_token = api_client.get(path, **bearer(tokens[role]))
            assert by_token.status_code == by_session.status_code, (role, path)
            assert by_token.json() == by_session.json(), (role, path)
    api_client.logout()
    admin = api_client.get("/api/enterprises", **bearer(tokens["admin"])).json()
    firm = api_client.get("/api/enterprises", **bearer(tokens["enterprise"])).json()
    assert {e["uscc"] for e in admin["items"]} == {OWN, PEER, uscc(3)}
    assert [e["uscc"] for e in firm["items"]] == [OWN]
    assert (
        api_client.get(f"/api/enterprises/{PEER}", **bearer(tokens["enterprise"])).status_code
        == 404
    )
    assert (
        api_client.get(f"/api/enterprises/{FOREIGN}", **bearer(tokens["admin"])).status_code == 404
    )


ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]
MATRIX = [
    ("/accounts/tokens/", (302, 200, 200, 200, 200, 200)),
    ("/api/tokens", (401, 200, 200, 200, 200, 200)),
    ("/api/nowhere", (404, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize("path,expected", MATRIX, ids=[p for p, _ in MATRIX])
def test_every_role_against_the_token_endpoints(client_for, path, expected):
    for role, status in zip(ROLES, expected, strict=True):
        response = client_for(role).get(path)
        assert response.status_code == status, f"{role} GET {path}: {response.status_code}"


def test_the_nav_links_the_tokens_page(client_for):
    assert (
        'href="/accounts/tokens/"' in client_for("bank").get("/accounts/tokens/").content.decode()
    )


# ---------------------------------------------------------------------------- errors


def test_error_bodies_have_detail_and_code(api_client, tokens):
    api_client.logout()
    assert api_client.get("/api/zones").json()["code"] == "unauthenticated"
    auth = bearer(tokens["admin"])
    not_found = api_client.get(f"/api/enterprises/{FOREIGN}", **auth)
    assert not_found.status_code == 404 and set(not_found.json()) == {"detail", "code"}
    assert not_found.json()["code"] == "not_found"
    unknown = api_client.get("/api/no/such/path", **auth)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    invalid = api_client.get("/api/scoring/runs?year=abc", **auth)
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["code"] == "validation" and body["detail"] and body["errors"]
    forbidden = api_client.post("/api/portal/objections", {"publication": 1, "reason": "x"}, **auth)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    body = api_client.post(
        "/api/portrait/corrections",
        {"uscc": OWN, "year": 2024, "field": "revenue", "value": 1},
        content_type="application/json",
        **auth,
    ).json()
    assert body["code"] == "forbidden" and set(body) == {"detail", "code"}


def test_session_posts_need_csrf_and_token_posts_do_not(users, tokens):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"], backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        "/api/portal/publications", {"run": 999}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["code"] == "csrf"
    client.get("/accounts/tokens/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/portal/publications",
        {"run": 999},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 404
    tokens_client = Client(enforce_csrf_checks=True)
    response = tokens_client.post(
        "/api/portal/publications",
        {"run": 999},
        content_type="application/json",
        **bearer(tokens["admin"]),
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_schema_documents_tokens_and_error_codes(api_client):
    schema = api_client.get("/api/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert any(s.get("in") == "cookie" for s in schemes.values())
    for code in ("unauthenticated", "forbidden", "scope", "csrf", "not_found", "validation"):
        assert f"`{code}`" in schema["info"]["description"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "422"):
                assert status in operation["responses"], (method, path, status)
