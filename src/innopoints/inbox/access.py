"""Who reads which notifications: every user only their own (others' are 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from innopoints.inbox.models import Notification


def visible_notifications(user) -> QuerySet[Notification]:
    """The signed-in user's own notifications (none for anonymous visitors)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user=user)


def unread_count(user) -> int:
    """How many of the user's notifications are unread."""
    return visible_notifications(user).filter(read_at__isnull=True).count()


def get_visible_notification(user, pk: int) -> Notification:
    """One of the user's notifications, or 404."""
    note = visible_notifications(user).filter(pk=pk).first()
    if note is None:
        raise Http404("notification not found")
    return note
