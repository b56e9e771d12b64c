"""The API tokens page: any signed-in user lists, creates and revokes their own tokens."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from innopoints.accounts.actions import do_create_api_token, do_revoke_api_token
from innopoints.accounts.forms import ApiTokenForm
from innopoints.accounts.models import ApiToken


@never_cache
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; POST creates one (its secret is shown on this response only)
    or revokes one (`revoke=<id>`, the user's own tokens only)."""
    form = ApiTokenForm()
    created = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = get_object_or_404(ApiToken, pk=_int(request.POST["revoke"]), user=request.user)
            do_revoke_api_token(request.user, token)
            messages.success(request, _("Token revoked."))
            return redirect("api-tokens")
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            expires_at = timezone.now() + dt.timedelta(days=data["lifetime"])
            try:
                token, plain = do_create_api_token(
                    request.user, data["name"], data["scope"], expires_at
                )
            except ValidationError as exc:
                messages.error(request, "; ".join(exc.messages))
            else:
                created = {"token": token, "secret": plain}
                form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": tokens, "created": created, "now": timezone.now()},
    )


def _int(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0
