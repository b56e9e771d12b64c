"""Logins, logouts and failed logins go to the audit trail."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from innopoints.audit.actions import record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    record(user, "login", user, object_repr=user.username)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(user, "logout", user, object_repr=user.username)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))[:150]
    record(None, "login.failed", object_type="auth.user", object_repr=username)
