"""Inbox API: the caller's notifications (paginated), the unread count, mark read."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.inbox import access
from innopoints.inbox.actions import do_mark_all_read, do_mark_read

router = Router(tags=["inbox"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadOut(Schema):
    unread: int


@router.get("/notifications", response=list[NotificationOut])
@paginate(LimitOffsetPagination)
def notifications(request: HttpRequest, unread: bool = False):
    """The caller's notifications, newest first (`unread=true` for unread only)."""
    notes = access.visible_notifications(request.user)
    return notes.filter(read_at__isnull=True) if unread else notes


@router.get("/unread", response=UnreadOut)
def unread(request: HttpRequest):
    """How many of the caller's notifications are unread."""
    return {"unread": access.unread_count(request.user)}


@router.post("/notifications/{note_id}/read", response=NotificationOut)
def mark_read(request: HttpRequest, note_id: int):
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    note = access.get_visible_notification(request.user, note_id)
    do_mark_read(request.user, note)
    return note


@router.post("/read-all", response=UnreadOut)
def read_all(request: HttpRequest):
    """Mark all the caller's notifications read; answers the new unread count (0)."""
    do_mark_all_read(request.user)
    return {"unread": access.unread_count(request.user)}
