"""Pool pages: overview (counts per pool and year, compute as a job), one pool (members
with filters and export, near-misses), movements between years, overrides, settings,
a new custom pool. Every read goes through `pools.access`, every write through
`pools.actions`.
"""

from __future__ import annotations

import json

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innopoints.engine.rules import load_criterion, sentence
from innopoints.enterprises.exporting import export_table_response
from innopoints.enterprises.models import Enterprise
from innopoints.pools import access
from innopoints.pools.actions import (
    PoolConfigError,
    PoolError,
    criterion_of,
    describe_points_rule,
    do_add_override,
    do_create_pool,
    do_delete_override,
    do_start_pool_computation,
    do_update_pool,
    ensure_default_pools,
    points_criterion_of,
    points_rule_for,
)
from innopoints.pools.forms import ComputeForm, NewPoolForm, OverrideForm, PoolSettingsForm
from innopoints.pools.models import Pool, PoolMembership
from innopoints.pools.results import counts_by_pool_year, filter_memberships, movements
from innopoints.standard.catalogue import STAGE_NAMES_EN, STAGE_NAMES_ZH
from innopoints.standard.codes import industry_sections

PAGE_SIZE = 50


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _require_view(request: HttpRequest) -> None:
    if not access.can_view_pools(request.user):
        raise PermissionDenied


def _stage_names(lang: str) -> dict[str, str]:
    return STAGE_NAMES_EN if lang == "en" else STAGE_NAMES_ZH


def _status_names() -> dict[str, str]:
    return {code: str(label) for code, label in PoolMembership.Status.choices}


def _years(memberships: QuerySet[PoolMembership], pool: Pool) -> list[int]:
    return list(
        memberships.filter(pool=pool).order_by("-year").values_list("year", flat=True).distinct()
    )


def _year(request: HttpRequest, years: list[int]) -> int | None:
    try:
        return int(request.GET.get("year") or (years[0] if years else 0)) or None
    except ValueError:
        return years[0] if years else None


def _rule_sentence(pool: Pool, lang: str) -> str:
    try:
        crit = criterion_of(pool)
    except Exception:  # a shipped criterion that no longer loads: show the code
        return pool.criterion or ""
    return sentence(crit.rules, lang, crit.fields) if not pool.criterion else crit.title(lang)


def _points_sentence(pool: Pool, lang: str) -> str:
    crit = points_criterion_of(pool)
    return sentence(crit.rules, lang, crit.fields) if crit is not None else ""


# ---------------------------------------------------------------------------- overview


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Pools of the user's zones with member counts per year; admins compute a year."""
    _require_view(request)
    managed = access.managed_zones(request.user)
    ensure_default_pools(managed)
    form = ComputeForm(request.POST or None, zones=managed)
    if request.method == "POST":
        if not managed.exists():
            raise PermissionDenied
        if form.is_valid():
            try:
                computation = do_start_pool_computation(
                    request.user, form.cleaned_data["zone"], form.cleaned_data["year"]
                )
            except PoolError as exc:
                form.add_error(None, str(exc))
            else:
                url = reverse("pools-home")
                if computation.job_id is None:
                    return redirect(url)
                return redirect(f"{url}?job={computation.job_id}")
    lang = _lang(request)
    pools = list(access.visible_pools(request.user).select_related("zone"))
    counts = counts_by_pool_year(access.visible_memberships(request.user))
    years = sorted({y for c in counts.values() for y in c}, reverse=True)[:5]
    rows = [
        {
            "pool": p,
            "name": p.name(lang),
            "by_year": [counts.get(p.pk, {}).get(y) for y in years],
            "can_manage": access.can_manage_pool(request.user, p),
        }
        for p in pools
    ]
    computations = access.visible_computations(request.user).select_related(
        "zone", "run", "created_by"
    )[:20]
    return render(
        request,
        "pools/overview.html",
        {
            "rows": rows,
            "years": years,
            "form": form,
            "can_manage": managed.exists(),
            "computations": computations,
            "job": request.GET.get("job", ""),
        },
    )


# ---------------------------------------------------------------------------- one pool


@login_required
def pool_detail(request: HttpRequest, pool_id: int) -> HttpResponse:
    """A pool's members (or near-misses with `?tab=near`) for a year: filters, export."""
    _require_view(request)
    pool = access.get_visible_pool(request.user, pool_id)
    lang = _lang(request)
    visible = access.visible_memberships(request.user)
    years = _years(visible, pool)
    year = _year(request, years)
    tab = "near" if request.GET.get("tab") == "near" else "members"
    memberships = visible.filter(pool=pool, year=year).select_related("enterprise")
    rows, chosen = filter_memberships(memberships, request.GET, near=tab == "near")
    stage_names = _stage_names(lang)
    status_names = _status_names()
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        return _export(rows, pool, year, export, lang, stage_names, status_names, tab)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    summary = counts_by_pool_year(visible.filter(pool=pool, year=year)).get(pool.pk, {}).get(year)
    return render(
        request,
        "pools/detail.html",
        {
            "pool": pool,
            "name": pool.name(lang),
            "rule_text": _rule_sentence(pool, lang),
            "points_text": _points_sentence(pool, lang),
            "years": years,
            "year": year,
            "tab": tab,
            "page": page,
            "rows": [
                (
                    m,
                    stage_names.get(m.stage, m.stage),
                    status_names.get(m.status, m.status),
                    m.reasons_in(lang),
                    m.near_miss_in(lang),
                )
                for m in page.object_list
            ],
            "summary": summary,
            "stages": list(stage_names.items()),
            "sections": sorted(industry_sections().items()),
            "statuses": list(status_names.items()),
            "query": query.urlencode(),
            "can_manage": access.can_manage_pool(request.user, pool),
            **chosen,
        },
    )


def _export(
    rows: QuerySet[PoolMembership],
    pool: Pool,
    year: int | None,
    fmt: str,
    lang: str,
    stage_names: dict[str, str],
    status_names: dict[str, str],
    tab: str,
) -> HttpResponse:
    reasons = "reasons_en" if lang == "en" else "reasons"
    near = "near_miss_en" if lang == "en" else "near_miss"
    columns = [
        ("enterprise__uscc", _("USCC"), pl.String),
        ("enterprise__name", _("Enterprise"), pl.String),
        ("stage", _("Stage"), pl.String),
        ("industry_section", _("Industry section"), pl.String),
        ("member", _("Member"), pl.Boolean),
        ("status", _("Status"), pl.String),
        ("score", _("Score"), pl.Float64),
        ("score_min", _("Lowest possible score"), pl.Float64),
        ("score_max", _("Highest possible score"), pl.Float64),
        (reasons, _("Reasons"), pl.String),
        ("missing", _("Missing data"), pl.String),
        (near, _("What is lacking"), pl.String),
        ("source", _("Source"), pl.String),
        ("override_reason", _("Override reason"), pl.String),
    ]
    frame = pl.DataFrame(
        list(rows.values_list(*[c for c, _label, _t in columns])),
        schema={c: t for c, _label, t in columns},
        orient="row",
    ).with_columns(
        pl.col("stage").replace(stage_names),
        pl.col("status").replace(status_names),
    )
    frame = frame.rename({c: label for c, label, _t in columns})
    name = f"pool-{pool.code}-{year}" + ("-near-misses" if tab == "near" else "")
    return export_table_response(frame, name, fmt, lang)


@login_required
def pool_movements(request: HttpRequest, pool_id: int) -> HttpResponse:
    """Firms that entered or left the pool between a year and the year before, and why."""
    _require_view(request)
    pool = access.get_visible_pool(request.user, pool_id)
    lang = _lang(request)
    visible = access.visible_memberships(request.user)
    years = _years(visible, pool)
    year = _year(request, years)
    moves = movements(visible, pool, year or 0, lang)
    return render(
        request,
        "pools/movements.html",
        {
            "pool": pool,
            "name": pool.name(lang),
            "years": years,
            "year": year,
            "moves": moves,
        },
    )


# ---------------------------------------------------------------------------- overrides


@login_required
def pool_overrides(request: HttpRequest, pool_id: int) -> HttpResponse:
    """The pool's overrides; admins add or remove a firm for a year with a reason."""
    _require_view(request)
    pool = access.get_visible_pool(request.user, pool_id)
    can_manage = access.can_manage_pool(request.user, pool)
    form = OverrideForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            enterprise = Enterprise.objects.filter(zone_id=pool.zone_id, uscc=data["uscc"]).first()
            if enterprise is None:
                form.add_error("uscc", _("No enterprise with this USCC in the zone."))
            else:
                try:
                    do_add_override(
                        request.user, pool, enterprise, data["year"], data["action"], data["reason"]
                    )
                except PoolError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, _("The override is saved."))
                    return redirect("pools-overrides", pool.pk)
    overrides = (
        access.visible_overrides(request.user)
        .filter(pool=pool)
        .select_related("enterprise", "created_by")
    )
    return render(
        request,
        "pools/overrides.html",
        {
            "pool": pool,
            "name": pool.name(_lang(request)),
            "form": form,
            "can_manage": can_manage,
            "overrides": overrides,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def override_delete(request: HttpRequest, pool_id: int, override_id: int) -> HttpResponse:
    """Withdraw an override (admins of the pool's zone)."""
    _require_view(request)
    pool = access.get_visible_pool(request.user, pool_id)
    if not access.can_manage_pool(request.user, pool):
        raise PermissionDenied
    override = access.visible_overrides(request.user).filter(pool=pool, pk=override_id).first()
    if override is None:
        raise Http404("override not found")
    do_delete_override(request.user, override)
    messages.success(request, _("The override is withdrawn."))
    return redirect("pools-overrides", pool.pk)


# ---------------------------------------------------------------------------- settings


def _settings_initial(pool: Pool) -> dict:
    kind, value = describe_points_rule(pool.points_rule)
    return {
        "name_zh": pool.name_zh,
        "name_en": pool.name_en,
        "criterion": pool.criterion,
        "params": json.dumps(pool.params, ensure_ascii=False) if pool.params else "",
        "rule": json.dumps(pool.rule, ensure_ascii=False, indent=2) if pool.rule else "",
        "points_kind": kind if kind != "custom" else "",
        "points_value": value,
        "order": pool.order,
        "active": pool.active,
    }


def _config(form: PoolSettingsForm, pool: Pool | None) -> dict:
    data = form.cleaned_data
    kind = data.get("points_kind") or ""
    if not kind and pool is not None and describe_points_rule(pool.points_rule)[0] == "custom":
        points = pool.points_rule  # a tree set through the API stays unless replaced
    else:
        points = points_rule_for(kind, data.get("points_value"))
    return {
        "name_zh": data["name_zh"],
        "name_en": data["name_en"],
        "criterion": data.get("criterion") or "",
        "params": data.get("params") or {},
        "rule": None if data.get("criterion") else data.get("rule"),
        "points_rule": points,
        "order": data["order"],
        "active": bool(data.get("active")),
    }


@login_required
def pool_settings(request: HttpRequest, pool_id: int) -> HttpResponse:
    """A pool's configuration (admins of its zone); problems listed with node paths."""
    _require_view(request)
    pool = access.get_visible_pool(request.user, pool_id)
    if not access.can_manage_pool(request.user, pool):
        raise PermissionDenied
    form = PoolSettingsForm(request.POST or None, initial=_settings_initial(pool))
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            changed = do_update_pool(request.user, pool, **_config(form, pool))
        except PoolConfigError as exc:
            problems = exc.problems
        else:
            if changed:
                messages.success(request, _("The pool settings are saved."))
            return redirect("pools-pool", pool.pk)
    lang = _lang(request)
    params = []
    if pool.criterion:
        try:
            crit = load_criterion(pool.criterion)
            params = [(n, v, crit.param_meta.get(n, {})) for n, v in sorted(crit.params.items())]
        except Exception:  # noqa: BLE001 - the page still shows the form
            params = []
    return render(
        request,
        "pools/settings.html",
        {
            "pool": pool,
            "name": pool.name(lang),
            "form": form,
            "problems": problems,
            "criterion_params": params,
            "points_text": _points_sentence(pool, lang),
        },
        status=400 if problems or (request.method == "POST" and not form.is_valid()) else 200,
    )


@login_required
def pool_new(request: HttpRequest) -> HttpResponse:
    """A new pool with a shipped criterion or a custom rule (zone admins)."""
    _require_view(request)
    managed = access.managed_zones(request.user)
    if not managed.exists():
        raise PermissionDenied
    form = NewPoolForm(request.POST or None, zones=managed, initial={"order": 100, "active": True})
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            pool = do_create_pool(
                request.user,
                form.cleaned_data["zone"],
                code=form.cleaned_data["code"],
                **_config(form, None),
            )
        except PoolConfigError as exc:
            problems = exc.problems
        except PoolError as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(request, _("The pool is created."))
            return redirect("pools-pool", pool.pk)
    return render(
        request,
        "pools/settings.html",
        {"pool": None, "form": form, "problems": problems, "new": True},
        status=400 if request.method == "POST" else 200,
    )
