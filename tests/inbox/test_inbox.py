"""Inbox: notifications per user or per firm, email through send_mail, read/unread,
the nav count, access (only one's own), the API."""

from __future__ import annotations

import pytest
from django.core import mail

from innopoints.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_notify_a_firm_reaches_its_users_and_mails_them(
    users, firms, django_capture_on_commit_callbacks
):
    from innopoints.inbox.actions import do_notify
    from innopoints.inbox.models import Notification
    from tests.conftest import uscc

    firm_user = users["enterprise"]
    firm_user.email = "firm@example.cn"
    firm_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        notes = do_notify(
            None, enterprise=firms[uscc(1)], title="新政策", body="研发补助", link="/policies/mine/"
        )
    assert [n.user for n in notes] == [firm_user]
    assert notes[0].emailed and notes[0].zone_id == firms[uscc(1)].zone_id
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["firm@example.cn"]
    assert "研发补助" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="inbox.notify").count() == 1
    assert do_notify(None, enterprise=firms[uscc(2)], title="x") == []  # no users
    assert Notification.objects.count() == 1


def test_read_unread_access_and_nav_count(client_for, users):
    from innopoints.inbox.actions import do_mark_read, do_notify

    [note] = do_notify(None, users=[users["supervisor"]], title="待办", email=False)
    sup = client_for("supervisor")
    assert 'id="inbox-count">1<' in sup.get("/inbox/").content.decode()
    assert client_for("admin").get("/api/inbox/unread").json() == {"unread": 0}
    assert client_for("admin").post(f"/api/inbox/notifications/{note.pk}/read").status_code == 404
    with pytest.raises(PermissionError):
        do_mark_read(users["admin"], note)
    sup = client_for("supervisor")
    assert sup.get("/api/inbox/unread").json() == {"unread": 1}
    items = sup.get("/api/inbox/notifications?unread=true").json()
    assert items["count"] == 1 and items["items"][0]["title"] == "待办"
    assert sup.post("/api/inbox/read-all").json() == {"unread": 0}
    assert 'id="inbox-count"' not in sup.get("/inbox/").content.decode()


def test_open_never_redirects_off_site(client_for, users):
    from innopoints.inbox.actions import do_notify

    [note] = do_notify(None, users=[users["admin"]], title="x", link="//evil.example/", email=False)
    response = client_for("admin").post(f"/inbox/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/inbox/"
