"""Writes of the inbox: send notifications (in-app and email), mark them read. Audited.

`do_notify(actor, title=..., body=..., users=[...] | enterprise=firm, ...)` is the one
call other apps use: it writes one `Notification` per recipient (every user of the firm
when `enterprise` is given) and sends an email with Django's `send_mail` to recipients
who have an address (the console backend in the demo). An email failure is logged and
never undoes the in-app message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from innopoints.audit.actions import record
from innopoints.inbox.models import Notification

log = logging.getLogger(__name__)


def enterprise_users(enterprise_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Active users of each enterprise (enterprise id → users), in one query."""
    out: dict[int, list[Any]] = {}
    users = (
        get_user_model()
        .objects.filter(
            profile__role="enterprise",
            profile__enterprise_id__in=list(enterprise_ids),
            is_active=True,
        )
        .select_related("profile")
    )
    for user in users:
        out.setdefault(user.profile.enterprise_id, []).append(user)
    return out


def do_notify(
    actor,
    *,
    title: str,
    body: str = "",
    link: str = "",
    kind: str = "",
    users: Sequence[Any] = (),
    enterprise: Any = None,
    zone: Any = None,
    email: bool = True,
) -> list[Notification]:
    """Notify `users` and/or every user of `enterprise`; returns the notifications made.

    One transaction, one audit record; emails go out after the commit."""
    recipients = list(users)
    if enterprise is not None:
        recipients += enterprise_users([enterprise.pk]).get(enterprise.pk, [])
        zone = zone or enterprise.zone
    seen: set[int] = set()
    recipients = [u for u in recipients if not (u.pk in seen or seen.add(u.pk))]
    if not recipients:
        return []
    title = title[:200]
    with transaction.atomic():
        notes = Notification.objects.bulk_create(
            [
                Notification(
                    user=u,
                    zone=zone,
                    enterprise=enterprise,
                    kind=kind[:40],
                    title=title,
                    body=body,
                    link=link[:300],
                    emailed=bool(email and u.email),
                )
                for u in recipients
            ]
        )
        record(
            actor,
            "inbox.notify",
            None,
            zone=zone,
            object_type="inbox.notification",
            object_repr=title,
            detail={
                "kind": kind,
                "recipients": [u.username for u in recipients],
                "enterprise": getattr(enterprise, "uscc", None),
            },
        )
        if email:
            messages = [
                (title, f"{body}\n\n{link}".strip(), settings.DEFAULT_FROM_EMAIL, [u.email])
                for u in recipients
                if u.email
            ]
            if messages:
                transaction.on_commit(lambda: _send(messages))
    return notes


def notify_many(
    actor, items: Sequence[dict[str, Any]], *, kind: str = "", email: bool = True
) -> int:
    """Notify many firms at once: each item {enterprise_id, title, body, link, zone_id}.

    The users of all firms are read in one query and the notifications written in one
    bulk insert (for batch jobs such as matching and payouts); returns the count."""
    by_firm = enterprise_users({i["enterprise_id"] for i in items})
    notes = []
    messages = []
    for item in items:
        for u in by_firm.get(item["enterprise_id"], []):
            notes.append(
                Notification(
                    user=u,
                    zone_id=item.get("zone_id"),
                    enterprise_id=item["enterprise_id"],
                    kind=kind[:40],
                    title=item["title"][:200],
                    body=item.get("body", ""),
                    link=item.get("link", "")[:300],
                    emailed=bool(email and u.email),
                )
            )
            if email and u.email:
                text = f"{item.get('body', '')}\n\n{item.get('link', '')}".strip()
                messages.append((item["title"], text, settings.DEFAULT_FROM_EMAIL, [u.email]))
    if not notes:
        return 0
    with transaction.atomic():
        Notification.objects.bulk_create(notes, batch_size=500)
        record(
            actor,
            "inbox.notify",
            None,
            object_type="inbox.notification",
            object_repr=f"{kind} × {len(notes)}",
            detail={"kind": kind, "notifications": len(notes), "firms": len(items)},
        )
        if messages:
            transaction.on_commit(lambda: _send(messages))
    return len(notes)


def _send(messages: list[tuple[str, str, str, list[str]]]) -> None:
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:  # an unreachable mail server never loses the in-app message
        log.exception("sending %d notification emails failed", len(messages))


def do_mark_read(actor, note: Notification) -> bool:
    """Mark one of the actor's notifications read; False when it already was."""
    if note.user_id != getattr(actor, "pk", None):
        raise PermissionError("not your notification")
    if note.read_at is not None:
        return False
    with transaction.atomic():
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
        record(actor, "inbox.read", note, object_repr=note.title)
    return True


def do_mark_all_read(actor) -> int:
    """Mark all the actor's unread notifications read; returns how many."""
    with transaction.atomic():
        n = Notification.objects.filter(user=actor, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if n:
            record(
                actor,
                "inbox.read_all",
                None,
                object_type="inbox.notification",
                object_repr=f"{n}",
                detail={"count": n},
            )
    return n
