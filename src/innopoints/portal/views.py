"""Portal pages: the zone dashboard, rankings, publication with objections, an
enterprise's own ranking, and objection handling. Every read goes through
`portal.access` (and `scoring.access` for live runs), every write through
`portal.actions`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innopoints.enterprises.exporting import export_table_response
from innopoints.portal import access, dashboard
from innopoints.portal.actions import (
    PortalError,
    current_publications,
    do_file_objection,
    do_publish_ranking,
    do_resolve_objection,
    overdue_before,
    private_root,
)
from innopoints.portal.forms import ObjectionForm, PublishForm, ResolveForm
from innopoints.portal.models import Objection
from innopoints.portal.rankings import RankingFilters, export_rows, filter_rows
from innopoints.scoring import access as scoring_access
from innopoints.scoring.actions import model_of
from innopoints.scoring.models import FirmScore, ScoringRun
from innopoints.scoring.results import stage_labels
from innopoints.standard.codes import industry_sections

PAGE_SIZE = 50


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _require_dashboard(request: HttpRequest) -> None:
    if not access.can_view_dashboard(request.user):
        raise PermissionDenied


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()


def _pick_zone_year(request: HttpRequest):
    """The zone and year chosen with the pickers (defaults: first zone, newest year with a
    finished run, else newest year with data)."""
    zones = list(access.dashboard_zones(request.user))
    if not zones:
        raise PermissionDenied
    zone_param = request.GET.get("zone", "")
    zone = access.get_dashboard_zone(request.user, zone_param) if zone_param else zones[0]
    run_years = list(
        scoring_access.visible_runs(request.user)
        .filter(zone=zone, status=ScoringRun.Status.DONE)
        .values_list("year", flat=True)
        .distinct()
    )
    years = sorted(set(dashboard.panel_years(zone)) | set(run_years), reverse=True)
    year_param = request.GET.get("year", "")
    if year_param.isdigit() and 2000 <= int(year_param) <= 2100:
        year = int(year_param)
    elif run_years:
        year = max(run_years)
    else:
        year = years[0] if years else timezone.localdate().year - 1
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    return zones, zone, years, year


def _stage_names(zone, run: ScoringRun | None, lang: str) -> dict[str, str]:
    if run is not None:
        return dict(stage_labels(model_of(run.model_version), lang))
    return {s.code: (s.en if lang == "en" else s.zh) for s in zone.stage_scheme_obj().stages}


def _band_names(run: ScoringRun | None, lang: str) -> dict[str, str]:
    if run is None:
        return {}
    return {
        b.code: (b.name.en if lang == "en" else b.name.zh)
        for b in model_of(run.model_version).doc.bands.levels
    }


# ---------------------------------------------------------------------------- dashboard


@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """The zone dashboard: counts by stage, industry, qualification and pool; the points
    distribution; top firms per stage; movement against last year; data completeness;
    and the slots the policy and finance capabilities fill. `?table=<key>&export=csv`
    downloads one panel's numbers."""
    _require_dashboard(request)
    zones, zone, years, year = _pick_zone_year(request)
    lang = _lang(request)
    run = dashboard.latest_run(request.user, zone, year)
    previous_run = dashboard.latest_run(request.user, zone, year - 1)
    stage_names = _stage_names(zone, run, lang)
    band_names = _band_names(run, lang)
    panel = dashboard.year_panel(zone, year)
    scores = dashboard.score_frame(request.user, run)
    registered = zone.enterprises.count()
    moved = dashboard.movement(scores, dashboard.score_frame(request.user, previous_run))
    top = dashboard.top_per_stage(scores, stage_names)
    top.rows = [[*r[:5], band_names.get(r[5], r[5])] for r in top.rows]
    tables = [
        dashboard.stage_counts(panel, stage_names),
        dashboard.section_counts(panel, lang),
        dashboard.qualification_counts(panel, lang),
    ]
    pools = dashboard.pool_counts(request.user, zone, year, lang)
    if pools is not None:
        tables.append(pools)
    tables += [
        dashboard.points_histogram(scores),
        top,
        moved["risers"],
        moved["fallers"],
        dashboard.completeness(panel, registered, lang),
    ]
    by_key = {t.key: t for t in tables}
    wanted, fmt = request.GET.get("table", ""), request.GET.get("export", "")
    if fmt in ("xlsx", "csv"):
        if wanted not in by_key:
            raise Http404("no such table")
        return export_table_response(
            by_key[wanted].frame(), f"{zone.code}-{year}-{wanted}", fmt, lang
        )
    base_query = f"zone={zone.pk}&year={year}"
    return render(
        request,
        "portal/dashboard.html",
        {
            "zones": zones,
            "zone": zone,
            "years": years,
            "year": year,
            "run": run,
            "previous_run": previous_run,
            "registered": registered,
            "with_data": panel.height,
            "tables": by_key,
            "charts": {t.key: t.chart_data() for t in tables if t.chart != "none"},
            "matched": moved["matched"].extra["n"],
            "base_query": base_query,
            "has_pools": pools is not None,
            "publications": access.visible_publications(request.user).filter(zone=zone, year=year)[
                :5
            ],
        },
    )


# ---------------------------------------------------------------------------- rankings


@login_required
def rankings_page(request: HttpRequest) -> HttpResponse:
    """The ranking of a zone's year (latest finished run, or `?run=`) by zone, stage or
    industry with bands; filters, pages, export; admins publish it from here."""
    _require_dashboard(request)
    zones, zone, years, year = _pick_zone_year(request)
    lang = _lang(request)
    runs = list(
        scoring_access.visible_runs(request.user)
        .filter(zone=zone, year=year, status=ScoringRun.Status.DONE)
        .select_related("model_version")
        .order_by("-finished_at", "-id")[:20]
    )
    run_param = request.GET.get("run", "")
    run = next((r for r in runs if str(r.pk) == run_param), runs[0] if runs else None)
    filters = RankingFilters.from_query(request.GET)
    stage_names = _stage_names(zone, run, lang)
    band_names = _band_names(run, lang)
    if run is None:
        rows = FirmScore.objects.none()
    else:
        rows = scoring_access.visible_firm_scores(request.user, run)
    rows = filter_rows(
        rows.annotate(uscc=F("enterprise__uscc"), name=F("enterprise__name")), filters
    )
    fmt = request.GET.get("export")
    if fmt in ("xlsx", "csv"):
        if run is None:
            raise Http404("no finished run")
        return export_rows(
            rows,
            fmt,
            f"ranking-{zone.code}-{year}-{filters.scope}",
            lang,
            lambda c: stage_names.get(c, c),
            lambda c: band_names.get(c, c),
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    publications = (
        list(access.visible_publications(request.user).filter(run=run)) if run is not None else []
    )
    can_publish = access.can_publish(request.user, zone) and run is not None
    return render(
        request,
        "portal/rankings.html",
        {
            "zones": zones,
            "zone": zone,
            "years": years,
            "year": year,
            "runs": runs,
            "run": run,
            "page": page,
            "rows": [
                (s, stage_names.get(s.stage, s.stage), band_names.get(s.band, s.band))
                for s in page.object_list
            ],
            "stages": list(stage_names.items()),
            "bands": list(band_names.items()),
            "sections": sorted(industry_sections().items()),
            "query": _query_without(request),
            "sort_query": _query_without(request, "sort"),
            "publications": publications,
            "can_publish": can_publish,
            "publish_form": PublishForm(initial={"run": run.pk}) if can_publish else None,
            "newer_data": run is not None and run.data_version != zone.data_version,
            "keep": [("zone", zone.pk), ("year", year)] + ([("run", run.pk)] if run else []),
            **filters.as_dict(),
        },
    )


@login_required
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """Publish a run's ranking (zone admins)."""
    _require_dashboard(request)
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give an objection period between 1 and 60 days."))
        return redirect("portal-rankings")
    run = scoring_access.get_visible_run(request.user, form.cleaned_data["run"])
    if not access.can_publish(request.user, run.zone):
        raise PermissionDenied
    try:
        publication = do_publish_ranking(
            request.user,
            run,
            objection_days=form.cleaned_data["objection_days"],
            note=form.cleaned_data["note"],
        )
    except PortalError as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('portal-rankings')}?zone={run.zone_id}&year={run.year}")
    messages.success(
        request,
        _("Ranking published; objections are open until %(deadline)s.")
        % {
            "deadline": timezone.localtime(publication.objection_deadline).strftime(
                "%Y-%m-%d %H:%M"
            )
        },
    )
    return redirect("portal-publication", publication.pk)


# ---------------------------------------------------------------------------- publications


@login_required
def publications_page(request: HttpRequest) -> HttpResponse:
    """Published rankings of the user's zones with their objection counts."""
    _require_dashboard(request)
    publications = (
        access.visible_publications(request.user)
        .select_related("zone", "published_by")
        .annotate(
            objection_count=Count("objections", distinct=True),
            open_count=Count(
                "objections", filter=Q(objections__status=Objection.Status.OPEN), distinct=True
            ),
        )
    )
    year = request.GET.get("year", "")
    if year.isdigit():
        publications = publications.filter(year=int(year))
    publications = publications.order_by("-published_at", "-id")
    current = {p.pk for p in current_publications(access.visible_publications(request.user))}
    page = Paginator(publications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/publications.html",
        {
            "page": page,
            "current": current,
            "now": timezone.now(),
            "year": year,
            "query": _query_without(request),
            "can_manage": access.can_manage_objections(request.user),
        },
    )


@login_required
def publication_detail(request: HttpRequest, publication_id: int) -> HttpResponse:
    """A published ranking: the frozen list with its hashes, filters, export."""
    _require_dashboard(request)
    publication = access.get_visible_publication(request.user, publication_id)
    lang = _lang(request)
    filters = RankingFilters.from_query(request.GET)
    rows = filter_rows(access.visible_placements(request.user, publication), filters)
    fmt = request.GET.get("export")
    if fmt in ("xlsx", "csv"):
        return export_rows(
            rows,
            fmt,
            f"published-{publication.zone.code}-{publication.year}-{publication.pk}",
            lang,
            lambda c: publication.stage_name(c, lang),
            lambda c: publication.band_name(c, lang),
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    latest = current_publications(
        access.visible_publications(request.user).filter(
            zone_id=publication.zone_id, year=publication.year
        )
    )
    objections = access.visible_objections(request.user).filter(publication=publication)
    return render(
        request,
        "portal/publication_detail.html",
        {
            "publication": publication,
            "superseded_by": latest[0] if latest and latest[0].pk != publication.pk else None,
            "open_period": timezone.now() <= publication.objection_deadline,
            "page": page,
            "rows": [
                (
                    p,
                    publication.stage_name(p.stage, lang),
                    publication.band_name(p.band, lang) if p.band else "",
                )
                for p in page.object_list
            ],
            "stages": [(c, publication.stage_name(c, lang)) for c in publication.stage_names],
            "bands": [(c, publication.band_name(c, lang)) for c in publication.band_names],
            "sections": sorted(industry_sections().items()),
            "query": _query_without(request),
            "sort_query": _query_without(request, "sort"),
            "objection_count": objections.count(),
            "open_objections": objections.filter(status=Objection.Status.OPEN).count(),
            "can_manage": access.can_publish(request.user, publication.zone),
            **filters.as_dict(),
        },
    )


# ---------------------------------------------------------------------------- enterprise


@login_required
def my_ranking(request: HttpRequest) -> HttpResponse:
    """An enterprise's own placement in the published rankings, its objections, and the
    form to object while the period is open."""
    if not access.is_enterprise(request.user):
        raise PermissionDenied
    lang = _lang(request)
    placements = {
        p.publication_id: p
        for p in access.own_placements(request.user).select_related("publication")
    }
    publications = current_publications(
        access.visible_publications(request.user).select_related("zone")
    )
    now = timezone.now()
    objections = list(
        access.visible_objections(request.user)
        .select_related("publication")
        .prefetch_related("attachments")
    )
    open_for = {o.publication_id for o in objections if o.status == Objection.Status.OPEN}
    entries = []
    for publication in publications:
        placement = placements.get(publication.pk)
        if placement is None:
            continue
        can_object = now <= publication.objection_deadline and publication.pk not in open_for
        entries.append(
            {
                "publication": publication,
                "placement": placement,
                "stage": publication.stage_name(placement.stage, lang),
                "band": publication.band_name(placement.band, lang) if placement.band else "",
                "open_period": now <= publication.objection_deadline,
                "form": ObjectionForm(prefix=f"p{publication.pk}") if can_object else None,
            }
        )
    return render(
        request,
        "portal/my_ranking.html",
        {"entries": entries, "objections": objections},
    )


@login_required
@require_POST
def file_objection(request: HttpRequest, publication_id: int) -> HttpResponse:
    """File an objection (enterprise users, before the deadline)."""
    if not access.is_enterprise(request.user):
        raise PermissionDenied
    publication = access.get_visible_publication(request.user, publication_id)
    form = ObjectionForm(request.POST, request.FILES, prefix=f"p{publication.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("portal-my-ranking")
    try:
        objection = do_file_objection(
            request.user, publication, form.cleaned_data["reason"], form.cleaned_data["files"]
        )
    except PortalError as exc:
        messages.error(request, str(exc))
        return redirect("portal-my-ranking")
    messages.success(request, _("Your objection was filed."))
    return redirect("portal-objection", objection.pk)


# ---------------------------------------------------------------------------- objections


def _objection_rows(request: HttpRequest):
    params = request.GET
    objections = access.visible_objections(request.user).select_related(
        "publication", "publication__zone", "enterprise", "resolved_by"
    )
    status, year, state, q = (
        params.get("status", ""),
        params.get("year", ""),
        params.get("overdue", ""),
        (params.get("q") or "").strip()[:100],
    )
    if status in Objection.Status.values:
        objections = objections.filter(status=status)
    if year.isdigit():
        objections = objections.filter(publication__year=int(year))
    zone = params.get("zone", "")
    if zone.isdigit():
        objections = objections.filter(publication__zone_id=int(zone))
    cutoff = overdue_before()
    if state == "1":
        objections = objections.filter(status=Objection.Status.OPEN, filed_at__lt=cutoff)
    if q:
        objections = objections.filter(
            Q(enterprise__name__icontains=q) | Q(enterprise__uscc__startswith=q.upper())
        )
    return objections.order_by("-filed_at", "-id"), {
        "status": status,
        "year": year,
        "zone": zone,
        "overdue": state,
        "q": q,
        "cutoff": cutoff,
    }


@login_required
def objections_page(request: HttpRequest) -> HttpResponse:
    """Objections of the admin's zones: filters (status, year, zone, overdue, firm),
    overdue flags, pages, export."""
    if not access.can_manage_objections(request.user):
        raise PermissionDenied
    objections, chosen = _objection_rows(request)
    fmt = request.GET.get("export")
    if fmt in ("xlsx", "csv"):
        statuses = dict(Objection.Status.choices)
        frame = pl.DataFrame(
            [
                {
                    _("Objection"): o.pk,
                    _("Zone"): o.publication.zone.code,
                    _("Year"): o.publication.year,
                    _("USCC"): o.enterprise.uscc,
                    _("Enterprise"): o.enterprise.name,
                    _("Filed"): timezone.localtime(o.filed_at).strftime("%Y-%m-%d %H:%M"),
                    _("Status"): str(statuses[o.status]),
                    _("Overdue"): o.status == "open" and o.filed_at < chosen["cutoff"],
                    _("Reason"): o.reason,
                    _("Resolution"): o.resolution_note,
                }
                for o in objections
            ]
        )
        return export_table_response(frame, "objections", fmt, _lang(request))
    page = Paginator(objections, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/objections.html",
        {
            "page": page,
            "rows": [
                (o, o.status == Objection.Status.OPEN and o.filed_at < chosen["cutoff"])
                for o in page.object_list
            ],
            "statuses": Objection.Status.choices,
            "zones": access.dashboard_zones(request.user),
            "query": _query_without(request),
            **chosen,
        },
    )


@login_required
def objection_detail(request: HttpRequest, objection_id: int) -> HttpResponse:
    """One objection with its attachments; the zone's admins resolve it here."""
    if not (access.can_manage_objections(request.user) or access.is_enterprise(request.user)):
        raise PermissionDenied
    objection = access.get_visible_objection(request.user, objection_id)
    lang = _lang(request)
    placement = (
        access.visible_placements(request.user, objection.publication)
        .filter(enterprise_id=objection.enterprise_id)
        .first()
    )
    can_resolve = (
        access.can_resolve_objection(request.user, objection)
        and objection.status == Objection.Status.OPEN
    )
    return render(
        request,
        "portal/objection_detail.html",
        {
            "objection": objection,
            "publication": objection.publication,
            "placement": placement,
            "stage": objection.publication.stage_name(placement.stage, lang) if placement else "",
            "band": objection.publication.band_name(placement.band, lang)
            if placement and placement.band
            else "",
            "attachments": list(objection.attachments.all()),
            "can_resolve": can_resolve,
            "is_admin": access.can_resolve_objection(request.user, objection),
            "form": ResolveForm() if can_resolve else None,
            "overdue": objection.status == Objection.Status.OPEN
            and objection.filed_at < overdue_before(),
        },
    )


@login_required
@require_POST
def resolve_objection(request: HttpRequest, objection_id: int) -> HttpResponse:
    """Accept or reject an objection (the zone's admins)."""
    if not access.can_manage_objections(request.user):
        raise PermissionDenied
    objection = access.get_visible_objection(request.user, objection_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose accept or reject and give a note or reason."))
        return redirect("portal-objection", objection.pk)
    try:
        do_resolve_objection(
            request.user,
            objection,
            accept=form.cleaned_data["decision"] == "accept",
            note=form.cleaned_data["note"],
        )
    except PortalError as exc:
        messages.error(request, str(exc))
    else:
        if form.cleaned_data["decision"] == "accept":
            messages.success(
                request,
                _(
                    "Objection accepted. Correct the data through the import, re-run "
                    "scoring and publish again."
                ),
            )
        else:
            messages.success(request, _("Objection rejected."))
    return redirect("portal-objection", objection.pk)


@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """An objection's attachment, for the filing firm and the zone's admins only (404
    for everyone else)."""
    attachment = access.get_visible_attachment(request.user, attachment_id)
    root = private_root().resolve()
    path = (root / attachment.stored_path).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404("file not found")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=Path(attachment.original_name).name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
