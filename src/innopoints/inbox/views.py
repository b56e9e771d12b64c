"""The inbox page (/inbox/): the user's notifications, newest first; open marks read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from innopoints.inbox import access
from innopoints.inbox.actions import do_mark_all_read, do_mark_read


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The user's notifications (`?unread=1` for unread only), 50 a page."""
    notes = access.visible_notifications(request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        notes = notes.filter(read_at__isnull=True)
    page = Paginator(notes, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "inbox/list.html",
        {
            "page": page,
            "unread_only": unread_only,
            "query": "unread=1" if unread_only else "",
            "unread": access.unread_count(request.user),
        },
    )


@login_required
@require_POST
def open_note(request: HttpRequest, note_id: int) -> HttpResponse:
    """Mark a notification read and go to its link (a path of this site) or the inbox."""
    note = access.get_visible_notification(request.user, note_id)
    do_mark_read(request.user, note)
    target = note.link if note.link.startswith("/") else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("inbox")


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the user read."""
    do_mark_all_read(request.user)
    return redirect("inbox")
