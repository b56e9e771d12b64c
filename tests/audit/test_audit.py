"""The audit trail: append-only, logins and permission changes recorded, filtered by zone."""

from __future__ import annotations

import pytest
from django.db import connection

from innopoints.accounts.actions import do_change_role
from innopoints.audit.actions import record
from innopoints.audit.models import AppendOnlyError, AuditEvent
from innopoints.enterprises.access import get_visible_enterprise, note_read
from tests.conftest import uscc


def test_events_cannot_be_changed_or_deleted(db):
    event = record(None, "test.event", object_repr="x")
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger is PostgreSQL's")
def test_postgresql_refuses_raw_updates(db):
    from django.db import DatabaseError, transaction

    event = record(None, "test.event")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])


def test_login_and_failed_login_are_recorded_with_address(client, users):
    client.post(
        "/accounts/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="10.1.2.3"
    )
    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.object_repr == "admin" and failed.source == "10.1.2.3"
    response = client.post(
        "/accounts/login/", {"username": "admin", "password": "pw-admin"}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    login = AuditEvent.objects.get(action="login")
    assert login.actor == users["admin"] and login.source == "10.1.2.3"


def test_repeated_failures_lock_the_login(client, users):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "admin", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "admin", "password": "pw-admin"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_permission_change_records_old_and_new_scope(users, zone, other_zone):
    admin = users["admin"]
    do_change_role(admin, users["supervisor"], "zone_admin", zones=[zone, other_zone])
    event = AuditEvent.objects.get(action="user.permissions")
    assert event.changes["role"] == ["supervisor", "zone_admin"]
    assert event.changes["zones"] == [["Z1"], ["Z1", "Z2"]]
    assert event.actor == admin


def test_user_creation_is_recorded(users):
    created = AuditEvent.objects.filter(action="user.create")
    assert {e.object_repr for e in created} >= {"admin", "firm", "banker"}


def test_bank_reads_are_recorded_and_others_are_not(users, firms):
    firm = firms[uscc(1)]
    note_read(users["bank"], firm)
    note_read(users["admin"], firm)
    reads = AuditEvent.objects.filter(action="enterprise.read")
    assert [e.actor for e in reads] == [users["bank"]]
    assert reads[0].object_id == str(firm.pk) and reads[0].zone == firm.zone
    get_visible_enterprise(users["admin"], uscc(1))
    assert AuditEvent.objects.filter(action="enterprise.read").count() == 1


def test_trail_page_filters_and_is_scoped_to_the_admins_zones(client_for, users, zone, other_zone):
    record(None, "demo.z1", zone=zone, object_repr="in-z1")
    record(None, "demo.z2", zone=other_zone, object_repr="in-z2")
    page = client_for("admin").get("/audit/").content.decode()
    assert "in-z1" in page and "in-z2" not in page
    filtered = client_for("admin").get("/audit/?action=demo.z1").content.decode()
    assert "in-z1" in filtered and "<code>user.create</code>" not in filtered
