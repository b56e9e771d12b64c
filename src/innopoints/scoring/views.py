"""Scoring pages: model versions (list, upload, show, diff, activate), scoring runs (list,
start with progress, results, one firm's explanation, compare two runs) and external
points (import). Every read goes through `scoring.access`, every write through
`scoring.actions`.
"""

from __future__ import annotations

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innopoints.enterprises.exporting import export_table_response
from innopoints.scoring import access
from innopoints.scoring.actions import (
    ModelUploadError,
    ScoringError,
    do_activate_model_version,
    do_import_external_scores,
    do_start_scoring_run,
    do_upload_model_version,
    ensure_shipped_models,
    model_of,
)
from innopoints.scoring.forms import (
    ActivateForm,
    ExternalImportForm,
    ModelUploadForm,
    StartRunForm,
)
from innopoints.scoring.models import ExternalScore, ScoringRun
from innopoints.scoring.results import (
    compare_runs,
    explain_firm,
    hierarchy_rows,
    moved,
    stage_labels,
    version_diff,
)
from innopoints.standard.codes import industry_sections

PAGE_SIZE = 50
RESULT_SORTS = {
    "rank": ["rank_zone", "enterprise__uscc"],
    "-rank": ["-rank_zone", "enterprise__uscc"],
    "-total": [F("total").desc(nulls_last=True), "enterprise__uscc"],
    "total": [F("total").asc(nulls_last=True), "enterprise__uscc"],
    "name": ["enterprise__name", "enterprise__uscc"],
    "stage": ["stage", "rank_stage", "enterprise__uscc"],
    "industry": ["industry_section", "rank_industry", "enterprise__uscc"],
    "band": [F("band").asc(), "rank_zone", "enterprise__uscc"],
    "-difference": [F("difference").desc(nulls_last=True), "enterprise__uscc"],
    "difference": [F("difference").asc(nulls_last=True), "enterprise__uscc"],
}


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _require_view(request: HttpRequest) -> None:
    if not access.can_view_scoring(request.user):
        raise PermissionDenied


# ---------------------------------------------------------------------------- model versions


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    """Model versions of the user's zones, the activations, and the upload form."""
    _require_view(request)
    managed = access.managed_zones(request.user)
    ensure_shipped_models(access.visible_zones(request.user))
    form = ModelUploadForm(request.POST or None, request.FILES or None, zones=managed)
    problems = []
    if request.method == "POST":
        if not managed.exists():
            raise PermissionDenied
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text."))
            else:
                try:
                    version, created = do_upload_model_version(
                        request.user, form.cleaned_data["zone"], text, file_name=upload.name
                    )
                except ModelUploadError as exc:
                    problems = exc.problems
                else:
                    if created:
                        messages.success(request, _("Model version %(v)s saved.") % {"v": version})
                    else:
                        messages.info(
                            request,
                            _("This document is already stored as %(v)s.") % {"v": version},
                        )
                    return redirect("scoring-model", version.pk)
    versions = access.visible_model_versions(request.user).select_related("zone", "uploaded_by")
    activations = access.visible_activations(request.user).select_related("zone", "model_version")
    lang = _lang(request)
    return render(
        request,
        "scoring/models.html",
        {
            "form": form,
            "can_manage": managed.exists(),
            "problems": problems,
            "versions": [(v, v.name(lang)) for v in versions],
            "activations": activations,
        },
        status=400 if problems else 200,
    )


@login_required
def model_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    """One model version: identity, the hierarchy with weights per stage, activation."""
    _require_view(request)
    version = access.get_visible_model_version(request.user, version_id)
    lang = _lang(request)
    model = model_of(version)
    doc = model.doc
    return render(
        request,
        "scoring/model_detail.html",
        {
            "version": version,
            "name": version.name(lang),
            "doc": doc,
            "stages": stage_labels(model, lang),
            "rows": hierarchy_rows(model, lang),
            "bonus": [(b, b.name.en if lang == "en" else b.name.zh, b.points) for b in doc.bonus],
            "negative": [(n, n.name.en if lang == "en" else n.name.zh) for n in doc.negative],
            "bands": [(b, b.name.en if lang == "en" else b.name.zh) for b in doc.bands.levels],
            "activations": version.activations.order_by("-year"),
            "can_manage": access.can_manage_scoring(request.user, version.zone),
            "activate_form": ActivateForm(),
            "others": access.visible_model_versions(request.user)
            .filter(zone_id=version.zone_id)
            .exclude(pk=version.pk),
        },
    )


@login_required
@require_POST
def model_activate(request: HttpRequest, version_id: int) -> HttpResponse:
    """Activate a model version for a year (zone admins)."""
    _require_view(request)
    version = access.get_visible_model_version(request.user, version_id)
    if not access.can_manage_scoring(request.user, version.zone):
        raise PermissionDenied
    form = ActivateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give a year between 2000 and 2100."))
        return redirect("scoring-model", version.pk)
    year = form.cleaned_data["year"]
    try:
        changed = do_activate_model_version(request.user, version.zone, year, version)
    except ScoringError as exc:
        messages.error(request, str(exc))
    else:
        if changed:
            messages.success(
                request, _("%(v)s now scores %(year)s.") % {"v": version, "year": year}
            )
        else:
            messages.info(
                request, _("%(v)s already scores %(year)s.") % {"v": version, "year": year}
            )
    return redirect("scoring-model", version.pk)


@login_required
def model_diff(request: HttpRequest) -> HttpResponse:
    """The differences between two model versions (`?a=<id>&b=<id>`)."""
    _require_view(request)
    try:
        a_id, b_id = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError as exc:
        raise Http404("choose two versions") from exc
    old = access.get_visible_model_version(request.user, a_id)
    new = access.get_visible_model_version(request.user, b_id)
    lang = _lang(request)
    return render(
        request,
        "scoring/model_diff.html",
        {
            "old": old,
            "new": new,
            "old_name": old.name(lang),
            "new_name": new.name(lang),
            "changes": version_diff(old, new),
        },
    )


# ---------------------------------------------------------------------------- runs


@login_required
def runs_page(request: HttpRequest) -> HttpResponse:
    """Scoring runs of the user's zones; admins start a run (progress polled with ?job=)."""
    _require_view(request)
    managed = access.managed_zones(request.user)
    form = StartRunForm(request.POST or None, zones=managed)
    if request.method == "POST":
        if not managed.exists():
            raise PermissionDenied
        if form.is_valid():
            try:
                run = do_start_scoring_run(
                    request.user, form.cleaned_data["zone"], form.cleaned_data["year"]
                )
            except ScoringError as exc:
                form.add_error(None, str(exc))
            else:
                if run.job_id is None:
                    return redirect("scoring-run", run.pk)
                return redirect(f"{reverse('scoring-runs')}?job={run.job_id}")
    runs = list(
        access.visible_runs(request.user).select_related("zone", "model_version", "created_by")[
            :100
        ]
    )
    activations = access.visible_activations(request.user).select_related("zone", "model_version")
    return render(
        request,
        "scoring/runs.html",
        {
            "form": form,
            "can_manage": managed.exists(),
            "runs": runs,
            "done_runs": [r for r in runs if r.status == ScoringRun.Status.DONE],
            "activations": activations,
            "job": request.GET.get("job", ""),
        },
    )


def _filtered_scores(request: HttpRequest, run: ScoringRun) -> tuple[QuerySet, dict]:
    """The run's scores with the page's filters, external points and sort applied."""
    params = request.GET
    scores = access.visible_firm_scores(request.user, run).select_related("enterprise")
    stage, section, band = (
        params.get("stage", ""),
        params.get("section", ""),
        params.get("band", ""),
    )
    if stage:
        scores = scores.filter(stage=stage)
    if section:
        scores = scores.filter(industry_section=section[:1])
    if band == "none":
        scores = scores.filter(band="")
    elif band:
        scores = scores.filter(band=band)
    sources = list(
        access.visible_external_scores(request.user)
        .filter(zone_id=run.zone_id, year=run.year)
        .values_list("source", flat=True)
        .distinct()
        .order_by("source")
    )
    source = params.get("source") or (sources[0] if sources else "")
    if source and source in sources:
        external = ExternalScore.objects.filter(
            zone_id=run.zone_id,
            year=run.year,
            source=source,
            enterprise_id=OuterRef("enterprise_id"),
        )
        scores = scores.annotate(
            external_points=Subquery(external.values("points")[:1]),
            external_rank=Subquery(external.values("rank")[:1]),
        ).annotate(difference=F("total") - F("external_points"))
    else:
        source = ""
    sort = params.get("sort", "rank")
    if sort not in RESULT_SORTS or ("difference" in sort and not source):
        sort = "rank"
    scores = scores.order_by(*RESULT_SORTS[sort])
    return scores, {
        "stage": stage,
        "section": section,
        "band": band,
        "sources": sources,
        "source": source,
        "sort": sort,
    }


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's results: filter by stage, industry section and band; sort; page; export."""
    _require_view(request)
    run = access.get_visible_run(request.user, run_id)
    lang = _lang(request)
    model = model_of(run.model_version)
    stage_names = dict(stage_labels(model, lang))
    band_names = {
        b.code: (b.name.en if lang == "en" else b.name.zh) for b in model.doc.bands.levels
    }
    scores, chosen = _filtered_scores(request, run)
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        return _export_scores(scores, run, export, lang, stage_names, band_names, chosen["source"])
    page = Paginator(scores, PAGE_SIZE).get_page(request.GET.get("page"))
    sections = industry_sections()
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(
        request,
        "scoring/run_detail.html",
        {
            "run": run,
            "model_name": run.model_version.name(lang),
            "page": page,
            "rows": [
                (s, stage_names.get(s.stage, s.stage), band_names.get(s.band, s.band))
                for s in page.object_list
            ],
            "stages": list(stage_names.items()),
            "bands": list(band_names.items()),
            "sections": sorted(sections.items()),
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "can_manage": access.can_manage_scoring(request.user, run.zone),
            "others": access.visible_runs(request.user)
            .filter(zone_id=run.zone_id, status=ScoringRun.Status.DONE)
            .exclude(pk=run.pk)
            .select_related("model_version")[:50],
            **chosen,
        },
    )


def _export_scores(
    scores: QuerySet,
    run: ScoringRun,
    fmt: str,
    lang: str,
    stage_names: dict[str, str],
    band_names: dict[str, str],
    source: str,
) -> HttpResponse:
    columns = [
        ("rank_zone", _("Rank"), pl.Int64),
        ("enterprise__uscc", _("USCC"), pl.String),
        ("enterprise__name", _("Enterprise"), pl.String),
        ("stage", _("Stage"), pl.String),
        ("industry_section", _("Industry section"), pl.String),
        ("total", _("Total points"), pl.Float64),
        ("band", _("Band"), pl.String),
        ("rank_stage", _("Rank in stage"), pl.Int64),
        ("rank_industry", _("Rank in industry"), pl.Int64),
        ("pct_zone", _("Percentile in zone"), pl.Float64),
    ]
    if source:
        columns += [
            ("external_points", _("External points (%(source)s)") % {"source": source}, pl.Float64),
            ("difference", _("Difference"), pl.Float64),
        ]
    frame = pl.DataFrame(
        list(scores.values_list(*[c for c, _label, _t in columns])),
        schema={c: t for c, _label, t in columns},
        orient="row",
    ).with_columns(
        pl.col("stage").replace(stage_names),
        pl.col("band").replace(band_names),
    )
    frame = frame.rename({c: label for c, label, _t in columns})
    return export_table_response(frame, f"scores-run{run.pk}-{run.year}", fmt, lang)


@login_required
def firm_explanation(request: HttpRequest, run_id: int, uscc: str) -> HttpResponse:
    """One firm's breakdown in a run, recomputed on demand and checked against the run hash."""
    _require_view(request)
    run = access.get_visible_run(request.user, run_id)
    firm_score = (
        access.visible_firm_scores(request.user, run)
        .select_related("enterprise")
        .filter(enterprise__uscc=uscc.upper())
        .first()
    )
    if firm_score is None:
        raise Http404("firm not in this run")
    lang = _lang(request)
    model = model_of(run.model_version)
    explanation = explain_firm(run, firm_score.enterprise.uscc, lang)
    band_names = {
        b.code: (b.name.en if lang == "en" else b.name.zh) for b in model.doc.bands.levels
    }
    return render(
        request,
        "scoring/firm.html",
        {
            "run": run,
            "score": firm_score,
            "enterprise": firm_score.enterprise,
            "stage_name": dict(stage_labels(model, lang)).get(firm_score.stage, firm_score.stage),
            "band_name": band_names.get(firm_score.band, firm_score.band),
            "explanation": explanation,
            "externals": access.visible_external_scores(request.user).filter(
                zone_id=run.zone_id, year=run.year, enterprise_id=firm_score.enterprise_id
            ),
        },
    )


@login_required
def run_compare(request: HttpRequest) -> HttpResponse:
    """Who moved between two runs (`?a=<old>&b=<new>`) and the indicators that moved them."""
    _require_view(request)
    try:
        a_id, b_id = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError as exc:
        raise Http404("choose two runs") from exc
    old = access.get_visible_run(request.user, a_id)
    new = access.get_visible_run(request.user, b_id)
    comparison = compare_runs(old, new)
    changed = moved(comparison)
    show_all = request.GET.get("all") == "1"
    frame = comparison if show_all else changed
    page = Paginator(range(frame.height), PAGE_SIZE).get_page(request.GET.get("page"))
    start = (page.number - 1) * PAGE_SIZE
    rows = frame.slice(start, PAGE_SIZE).to_dicts() if frame.height else []
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/compare.html",
        {
            "old": old,
            "new": new,
            "rows": rows,
            "page": page,
            "query": query.urlencode(),
            "moved": changed.height,
            "total": comparison.height,
            "show_all": show_all,
            "same_hash": old.run_hash and old.run_hash == new.run_hash,
            "data_changed": old.data_hash != new.data_hash,
            "model_changed": old.model_hash != new.model_hash,
        },
    )


# ---------------------------------------------------------------------------- external points


@login_required
def external_page(request: HttpRequest) -> HttpResponse:
    """Imported external points per zone, year and source; admins import a file."""
    _require_view(request)
    managed = access.managed_zones(request.user)
    form = ExternalImportForm(request.POST or None, request.FILES or None, zones=managed)
    outcome = None
    if request.method == "POST":
        if not managed.exists():
            raise PermissionDenied
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                outcome = do_import_external_scores(
                    request.user,
                    form.cleaned_data["zone"],
                    upload.read(),
                    file_name=upload.name,
                    source=form.cleaned_data["source"],
                )
            except ScoringError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(
                    request,
                    _("%(n)s rows imported (%(c)s new, %(u)s updated), %(e)s errors.")
                    % {
                        "n": outcome.written,
                        "c": outcome.created,
                        "u": outcome.updated,
                        "e": len(outcome.errors),
                    },
                )
    summary = (
        access.visible_external_scores(request.user)
        .values("zone__code", "year", "source")
        .annotate(firms=Count("id"))
        .order_by("zone__code", "-year", "source")
    )
    return render(
        request,
        "scoring/external.html",
        {
            "form": form,
            "can_manage": managed.exists(),
            "outcome": outcome,
            "errors": outcome.errors[:500] if outcome else [],
            "summary": summary,
        },
    )
