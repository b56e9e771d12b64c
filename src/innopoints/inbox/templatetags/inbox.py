"""`{% inbox_link %}`: the nav entry with the user's unread count."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from innopoints.inbox.access import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_link(context) -> str:
    """A link to /inbox/ with the unread count as a badge (nothing for anonymous users)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    n = unread_count(user)
    badge = format_html(' <span class="tag" id="inbox-count">{}</span>', n) if n else ""
    return format_html('<a href="{}" id="inbox-link">{}{}</a>', reverse("inbox"), _("Inbox"), badge)
