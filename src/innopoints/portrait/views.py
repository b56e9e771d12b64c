"""Portrait pages: one firm-year's portrait (一企一像) with guidance, its PDF, and the data
corrections (submit, list, review). Reads go through `portrait.access`, writes through
`portrait.actions`, the content through `portrait.results`.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innopoints.accounts.access import profile_of, role_of
from innopoints.accounts.models import Role
from innopoints.portrait import access
from innopoints.portrait.actions import (
    CorrectionError,
    do_approve_correction,
    do_reject_correction,
    do_submit_correction,
)
from innopoints.portrait.forms import CorrectionForm, ReviewForm
from innopoints.portrait.models import Correction
from innopoints.portrait.pdf import pdf_engine, render_pdf
from innopoints.portrait.results import build_portrait, field_label, portrait_years

PAGE_SIZE = 50


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise Http404("year out of range")
    return year


@login_required
def portrait_home(request: HttpRequest) -> HttpResponse:
    """A firm goes to its own portrait; admins and supervisors open one by USCC."""
    if not access.can_view_portraits(request.user):
        raise Http404("no portraits")
    if role_of(request.user) == Role.ENTERPRISE:
        enterprise = profile_of(request.user).enterprise
        if enterprise is None:
            raise Http404("no enterprise")
        return redirect("portrait-latest", enterprise.uscc)
    uscc = (request.GET.get("uscc") or "").strip().upper()
    if uscc:
        return redirect("portrait-latest", access.get_portrait_enterprise(request.user, uscc).uscc)
    return render(request, "portrait/home.html", {})


@login_required
def portrait_latest(request: HttpRequest, uscc: str) -> HttpResponse:
    """The portrait of the firm's latest scored year (or this year when none is scored)."""
    enterprise = access.get_portrait_enterprise(request.user, uscc)
    years = portrait_years(enterprise)
    year = years[0] if years else dt.date.today().year - 1
    return redirect("portrait-page", enterprise.uscc, year)


def _context(request: HttpRequest, uscc: str, year: int) -> dict:
    enterprise = access.get_portrait_enterprise(request.user, uscc)
    portrait = build_portrait(enterprise, _year(year), _lang(request), request.user)
    return {
        "enterprise": enterprise,
        "portrait": portrait,
        "p": portrait,
        "years": portrait_years(enterprise),
        "can_correct": access.can_submit_correction(request.user, enterprise),
        "charts": _charts(portrait),
    }


def _charts(portrait: dict) -> dict:
    """The numbers the ECharts radar and trend charts draw (the page shows them as tables)."""
    classes = portrait.get("classes") or []
    trends = portrait["trends"]["scores"]
    return {
        "radar": {
            "indicators": [{"name": c["name"], "max": c["max_points"]} for c in classes],
            "firm": [c["points"] for c in classes],
            "peer": [c["peer_median"] for c in classes],
        },
        "trend": {
            "years": [t["year"] for t in trends],
            "total": [t["total"] for t in trends],
            "rank": [t["rank_zone"] for t in trends],
        },
    }


@login_required
def portrait_page(request: HttpRequest, uscc: str, year: int) -> HttpResponse:
    """One firm-year's portrait with guidance."""
    context = _context(request, uscc, year)
    context["form"] = (
        CorrectionForm(lang=_lang(request), initial={"year": year})
        if context["can_correct"]
        else None
    )
    return render(request, "portrait/page.html", context)


@login_required
def portrait_pdf(request: HttpRequest, uscc: str, year: int) -> HttpResponse:
    """The portrait as a PDF; 503 with a bilingual explanation when WeasyPrint cannot run."""
    context = _context(request, uscc, year)
    engine, problem = pdf_engine()
    if engine is None:
        return render(request, "portrait/pdf_unavailable.html", {"problem": problem}, status=503)
    html = render_to_string("portrait/pdf.html", context, request=request)
    data = render_pdf(html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(data, content_type="application/pdf")
    name = f"portrait-{context['enterprise'].uscc}-{year}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------- corrections


@login_required
def corrections_page(request: HttpRequest) -> HttpResponse:
    """Corrections in the user's scope, filtered by status."""
    if role_of(request.user) not in (Role.ZONE_ADMIN, Role.SUPERVISOR, Role.ENTERPRISE):
        raise PermissionDenied
    status = request.GET.get("status", "")
    rows = access.visible_corrections(request.user).select_related("enterprise", "reviewer")
    if status in Correction.Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    lang = _lang(request)
    return render(
        request,
        "portrait/corrections.html",
        {
            "page": page,
            "rows": [(c, field_label(c.field, lang)) for c in page.object_list],
            "status": status,
            "statuses": Correction.Status.choices,
        },
    )


@login_required
def correction_new(request: HttpRequest, uscc: str) -> HttpResponse:
    """The firm submits a correction of its own data."""
    enterprise = access.get_portrait_enterprise(request.user, uscc)
    if not access.can_submit_correction(request.user, enterprise):
        raise PermissionDenied
    form = CorrectionForm(request.POST or None, lang=_lang(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            correction = do_submit_correction(
                request.user, enterprise, data["year"], data["field"], data["value"], data["note"]
            )
        except CorrectionError as exc:
            form.add_error("value", str(exc))
        else:
            messages.success(request, _("Correction submitted for review."))
            return redirect("portrait-correction", correction.pk)
    return render(
        request,
        "portrait/correction_new.html",
        {"form": form, "enterprise": enterprise},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def correction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One correction with its review form for the zone's admins."""
    correction = access.get_visible_correction(request.user, pk)
    lang = _lang(request)
    return render(
        request,
        "portrait/correction.html",
        {
            "c": correction,
            "field_label": field_label(correction.field, lang),
            "can_review": access.can_review_correction(request.user, correction)
            and correction.status == Correction.Status.SUBMITTED,
            "form": ReviewForm(),
        },
    )


@login_required
@require_POST
def correction_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a correction (zone admins of its zone)."""
    correction = access.get_visible_correction(request.user, pk)
    if not access.can_review_correction(request.user, correction):
        raise PermissionDenied
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("portrait-correction", pk)
    try:
        if form.cleaned_data["decision"] == "approve":
            correction = do_approve_correction(request.user, correction)
            if correction.rescore_error:
                messages.warning(request, correction.rescore_error)
            messages.success(request, _("Correction approved and applied."))
        else:
            do_reject_correction(request.user, correction, form.cleaned_data["reason"])
            messages.success(request, _("Correction rejected."))
    except CorrectionError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("portrait-correction", args=[pk]))
