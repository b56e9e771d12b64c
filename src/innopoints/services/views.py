"""Services pages for zone staff and firms: the hub with the zone's statistics,
technology contracts, supply and demand lists with ranked candidates, results conversion,
key projects and assisted handling. Reads go through `services.access`, writes through
`services.actions`; every list exports to Excel and zone admins import each registry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from innopoints.enterprises.exporting import export_table_response
from innopoints.enterprises.models import Enterprise
from innopoints.services import access, actions, stats
from innopoints.services import tabular as svc_tabular
from innopoints.services.matchindex import rank_for_demand
from innopoints.services.matching import highlight, split_keywords
from innopoints.services.models import (
    STAGE_ORDER,
    TECH_FIELDS,
    ContractType,
    Conversion,
    ConversionMode,
    HandlingRequest,
    IncomeBasis,
    IncomeEntry,
    Match,
    Maturity,
    ProjectInvestment,
    ProjectMilestone,
    ProjectStage,
    ResultStatus,
    ServiceDocument,
)

PAGE_SIZE = 50
MAX_UPLOAD = 20 * 1024 * 1024


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _require_view(request: HttpRequest) -> None:
    if not access.can_view_services(request.user):
        raise PermissionDenied


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def _zone_for_write(request: HttpRequest):
    zones = access.managed_zones(request.user)
    code = request.POST.get("zone") or request.GET.get("zone")
    zone = zones.filter(code=code).first() if code else zones.first()
    if zone is None:
        raise PermissionDenied
    return zone


def _fail(request: HttpRequest, exc: actions.ServiceError) -> None:
    messages.error(request, exc.message(_lang(request)))


def _report_import(request: HttpRequest, outcome: actions.ImportOutcome) -> None:
    lang = _lang(request)
    if outcome.file_error:
        messages.error(request, outcome.file_error["en" if lang == "en" else "zh"])
    elif outcome.issues:
        messages.error(
            request,
            _("Nothing was imported: %(n)d problems. The first ones:") % {"n": len(outcome.issues)},
        )
        for issue in outcome.issues[:20]:
            messages.error(request, issue["en" if lang == "en" else "zh"])
    else:
        messages.success(
            request,
            _("Imported: %(c)d new, %(u)d changed, %(s)d unchanged.")
            % {"c": outcome.created, "u": outcome.changed, "s": outcome.unchanged},
        )


def _handle_import(request: HttpRequest, importer: Callable) -> None:
    upload = request.FILES.get("file")
    if upload is None or upload.size > MAX_UPLOAD:
        messages.error(request, _("Choose an .xlsx or .csv file of at most 20 MB."))
        return
    zone = _zone_for_write(request)
    _report_import(request, importer(request.user, zone, upload.read(), upload.name))


def _export(request: HttpRequest, frame: pl.DataFrame, columns, name: str) -> HttpResponse:
    """A registry as .xlsx (Chinese headers, the shape the import reads) or .csv."""
    fmt = "csv" if request.GET.get("export") == "csv" else "xlsx"
    out = svc_tabular.export_frame(frame, columns, _lang(request))
    return export_table_response(out, name, fmt, _lang(request))


def _int(value) -> int:
    """A posted id, or 0 (finds nothing) when it is not a number."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 18 else 0


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    return params.urlencode()


def _field_name(code: str, lang: str) -> str:
    zh, en = TECH_FIELDS.get(code, (code, code))
    return en if lang == "en" else zh


# ---------------------------------------------------------------------------- hub


@login_required
def hub(request: HttpRequest) -> HttpResponse:
    """The services of the zone: what there is and the statistics (staff), or the firm's
    own records (enterprise users)."""
    _require_view(request)
    user, today = request.user, timezone.localdate()
    results = access.visible_results(user)
    projects = access.visible_projects(user)
    _table, project_totals, _monthly = stats.project_table(
        projects,
        ProjectInvestment.objects.filter(project__in=projects),
        ProjectMilestone.objects.filter(project__in=projects),
        today,
    )
    context = {
        "is_staff": access.is_staff(user),
        "contracts": stats.contract_stats(access.visible_contracts(user)),
        "conversion": stats.conversion_stats(
            results,
            Conversion.objects.filter(result__in=results),
            IncomeEntry.objects.filter(result__in=results),
        ),
        "projects": project_totals,
        "handling": stats.handling_stats(access.visible_requests(user), today),
        "types": dict(ContractType.choices),
    }
    return render(request, "services/hub.html", context)


# ---------------------------------------------------------------------------- contracts


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    """Contracts with filters (year, type, text), export and — for admins — import and entry."""
    _require_view(request)
    can_manage = access.managed_zones(request.user).exists()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if "file" in request.FILES:
            _handle_import(request, actions.do_import_contracts)
        else:
            data = {k: request.POST.get(k, "") for k in actions.CONTRACT_FIELDS}
            data["registered_on"] = _date(data["registered_on"])
            try:
                actions.do_create_contract(request.user, _zone_for_write(request), **data)
                messages.success(request, _("Contract registered."))
            except actions.ServiceError as exc:
                _fail(request, exc)
        return redirect("services-contracts")
    qs = access.visible_contracts(request.user).select_related("zone")
    year, kind, q = (
        request.GET.get("year", ""),
        request.GET.get("type", ""),
        request.GET.get("q", ""),
    )
    if year.isdigit() and 1900 <= int(year) <= 2200:
        qs = qs.filter(registered_on__year=int(year))
    if kind:
        qs = qs.filter(type=kind)
    if q:
        qs = qs.filter(
            Q(title__icontains=q) | Q(seller_name__icontains=q) | Q(buyer_name__icontains=q)
        )
    if request.GET.get("export"):
        frame = stats.frame(
            qs,
            {c: pl.String for c in actions.CONTRACT_FIELDS if c not in ("registered_on", "amount")}
            | {"registered_on": pl.Date, "amount": pl.Float64},
        )
        return _export(request, frame, actions.CONTRACT_COLUMNS, "tech-contracts")
    summary = stats.contract_stats(qs)
    return render(
        request,
        "services/contracts.html",
        {
            "page": _page(request, qs),
            "query": _query(request),
            "summary": summary,
            "types": ContractType.choices,
            "type_names": dict(ContractType.choices),
            "filters": {"year": year, "type": kind, "q": q},
            "can_manage": can_manage,
            "zones": access.managed_zones(request.user),
        },
    )


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    _require_view(request)
    contract = access.get_contract(request.user, contract_id)
    return render(
        request,
        "services/contract.html",
        {"c": contract, "type_name": ContractType(contract.type).label},
    )


# ---------------------------------------------------------------------------- matching


@login_required
def supply_list(request: HttpRequest) -> HttpResponse:
    """The research supply list; admins add, import and withdraw items."""
    _require_view(request)
    can_manage = access.managed_zones(request.user).exists()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if "file" in request.FILES:
            _handle_import(request, actions.do_import_supply)
        elif request.POST.get("toggle"):
            item = access.get_supply(request.user, _int(request.POST["toggle"]))
            if not access.can_manage_zone(request.user, item.zone_id):
                raise PermissionDenied
            actions.do_set_supply_active(request.user, item, not item.active)
        else:
            data = {
                k: request.POST.get(k, "")
                for k in (
                    "code",
                    "title",
                    "field",
                    "keywords",
                    "description",
                    "maturity",
                    "owner",
                    "industries",
                )
            }
            try:
                actions.do_create_supply(request.user, _zone_for_write(request), **data)
                messages.success(request, _("Supply item added."))
            except actions.ServiceError as exc:
                _fail(request, exc)
        return redirect("services-supply")
    qs = access.visible_supply(request.user)
    field, q = request.GET.get("field", ""), request.GET.get("q", "")
    if field:
        qs = qs.filter(field=field)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(keywords__icontains=q) | Q(owner__icontains=q))
    if request.GET.get("export"):
        cols = {c.code: pl.String for c in actions.SUPPLY_COLUMNS}
        return _export(request, stats.frame(qs, cols), actions.SUPPLY_COLUMNS, "supply-list")
    lang = _lang(request)
    return render(
        request,
        "services/supply.html",
        {
            "page": (page := _page(request, qs)),
            "rows": [(s, _field_name(s.field, lang)) for s in page],
            "query": _query(request),
            "fields": [(k, _field_name(k, lang)) for k in TECH_FIELDS],
            "field_names": {k: _field_name(k, lang) for k in TECH_FIELDS},
            "maturities": Maturity.choices,
            "filters": {"field": field, "q": q},
            "can_manage": can_manage,
            "zones": access.managed_zones(request.user),
        },
    )


@login_required
def demand_list(request: HttpRequest) -> HttpResponse:
    """The demand list: a firm posts its own; admins import and see the zone's."""
    _require_view(request)
    firm = access.own_firm(request.user)
    can_manage = access.managed_zones(request.user).exists()
    if request.method == "POST":
        if "file" in request.FILES:
            if not can_manage:
                raise PermissionDenied
            _handle_import(request, actions.do_import_demands)
            return redirect("services-demands")
        target = firm
        if target is None and can_manage:
            target = Enterprise.objects.filter(
                zone__in=access.managed_zones(request.user),
                uscc=request.POST.get("uscc", "").upper(),
            ).first()
            if target is None:
                messages.error(request, _("No firm of your zones has this USCC."))
                return redirect("services-demands")
        if target is None:
            raise PermissionDenied
        data = {k: request.POST.get(k, "") for k in ("problem", "description", "field", "budget")}
        data["deadline"] = _date(request.POST.get("deadline"))
        try:
            demand = actions.do_create_demand(request.user, target, **data)
        except actions.ServiceError as exc:
            _fail(request, exc)
            return redirect("services-demands")
        return redirect("services-demand", demand.pk)
    qs = access.visible_demands(request.user).select_related("enterprise")
    if request.GET.get("export"):
        frame = stats.frame(
            qs,
            {
                "enterprise__uscc": pl.String,
                "problem": pl.String,
                "description": pl.String,
                "field": pl.String,
                "budget": pl.Float64,
                "deadline": pl.Date,
            },
        ).rename({"enterprise_uscc": "uscc"})
        return _export(request, frame, actions.DEMAND_COLUMNS, "demand-list")
    lang = _lang(request)
    return render(
        request,
        "services/demands.html",
        {
            "page": (page := _page(request, qs)),
            "rows": [(d, _field_name(d.field, lang) if d.field else "") for d in page],
            "query": _query(request),
            "fields": [(k, _field_name(k, lang)) for k in TECH_FIELDS],
            "field_names": {k: _field_name(k, lang) for k in TECH_FIELDS},
            "firm": firm,
            "can_manage": can_manage,
            "zones": access.managed_zones(request.user),
        },
    )


@login_required
def demand_detail(request: HttpRequest, demand_id: int) -> HttpResponse:
    """Ranked candidates for a demand with the matching terms highlighted; interest from
    both sides; a contract from a match."""
    _require_view(request)
    demand = access.get_demand(request.user, demand_id)
    own = demand.enterprise_id == getattr(access.own_firm(request.user), "pk", None)
    admin = access.can_manage_zone(request.user, demand.zone_id)
    if request.method == "POST":
        try:
            if request.POST.get("contract_match"):
                match = access.get_match(request.user, _int(request.POST["contract_match"]))
                if not admin or match.demand_id != demand.pk:
                    raise PermissionDenied
                data = {
                    k: request.POST.get(k, "")
                    for k in ("registration_no", "type", "amount", "title")
                }
                data["registered_on"] = _date(request.POST.get("registered_on"))
                actions.do_contract_match(request.user, match, **data)
                messages.success(request, _("Contract registered."))
            elif request.POST.get("supply"):
                if not (own or admin):
                    raise PermissionDenied
                supply = access.get_supply(request.user, _int(request.POST["supply"]))
                actions.do_express_interest(
                    request.user, demand, supply, "firm" if own else "owner"
                )
                messages.success(request, _("Interest recorded."))
            elif request.POST.get("close") and (own or admin):
                actions.do_set_demand_active(request.user, demand, not demand.active)
        except (ValueError, KeyError):
            raise Http404("bad request") from None
        except actions.ServiceError as exc:
            _fail(request, exc)
        return redirect(f"{reverse('services-demand', args=[demand.pk])}?{_query(request)}")
    same_field = request.GET.get("same_field") == "1"
    same_industry = request.GET.get("same_industry") == "1"
    found = rank_for_demand(demand, same_field=same_field, same_industry=same_industry)
    items = {
        s.pk: s for s in access.visible_supply(request.user).filter(pk__in=[c.id for c in found])
    }
    matches = {m.supply_id: m for m in demand.matches.all()}
    lang = _lang(request)
    candidates = [
        {
            "rank": i + 1,
            "item": items[c.id],
            "score": c.score,
            "terms": c.terms,
            "title": mark_safe(highlight(items[c.id].title, c.terms)),  # noqa: S308 - escaped by highlight
            "keywords": mark_safe(
                highlight("、".join(split_keywords(items[c.id].keywords)), c.terms)
            ),  # noqa: S308
            "description": mark_safe(highlight(items[c.id].description, c.terms)),  # noqa: S308
            "field": _field_name(items[c.id].field, lang),
            "match": matches.get(c.id),
        }
        for i, c in enumerate(found)
        if c.id in items
    ]
    return render(
        request,
        "services/demand.html",
        {
            "demand": demand,
            "candidates": candidates,
            "own": own,
            "admin": admin,
            "same_field": same_field,
            "same_industry": same_industry,
            "field_name": _field_name(demand.field, lang) if demand.field else "",
            "types": ContractType.choices,
            "query": _query(request),
            "statuses": dict(Match.Status.choices),
        },
    )


# ---------------------------------------------------------------------------- results


RESULT_EXPORT = (
    svc_tabular.Column("title", "成果名称", "Title"),
    svc_tabular.Column("university", "高校或院所", "University"),
    svc_tabular.Column("team", "团队成员", "Team"),
    svc_tabular.Column("ip_numbers", "知识产权编号", "IP numbers"),
    svc_tabular.Column(
        "status", "状态", "Status", "enum", choices={s.value: str(s.label) for s in ResultStatus}
    ),
    svc_tabular.Column("team_share", "团队份额（%）", "Team share (%)", "number"),
    svc_tabular.Column("university_share", "学校份额（%）", "University share (%)", "number"),
    svc_tabular.Column("transfer_price", "转让价格（万元）", "Transfer price", "number"),
    svc_tabular.Column("income_ratio", "约定收益比例（%）", "Income ratio (%)", "number"),
    svc_tabular.Column("income_basis", "收益基数", "Income basis"),
    svc_tabular.Column("income_term_years", "收益期限（年）", "Term (years)", "int"),
)


@login_required
def result_list(request: HttpRequest) -> HttpResponse:
    """Research results under 赋权+转让+约定收益, with the conversion statistics."""
    _require_view(request)
    can_manage = access.managed_zones(request.user).exists()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if "file" in request.FILES:
            _handle_import(request, actions.do_import_results)
            return redirect("services-results")
        data = {
            k: request.POST.get(k, "")
            for k in ("title", "university", "team", "ip_numbers", "field")
        }
        try:
            result = actions.do_create_result(request.user, _zone_for_write(request), **data)
        except actions.ServiceError as exc:
            _fail(request, exc)
            return redirect("services-results")
        return redirect("services-result", result.pk)
    qs = access.visible_results(request.user)
    status = request.GET.get("status", "")
    if status:
        qs = qs.filter(status=status)
    if request.GET.get("export"):
        schema = {
            c.code: (
                pl.Float64 if c.kind == "number" else pl.Int64 if c.kind == "int" else pl.String
            )
            for c in RESULT_EXPORT
        }
        return _export(request, stats.frame(qs, schema), RESULT_EXPORT, "results")
    everything = access.visible_results(request.user)
    lang = _lang(request)
    return render(
        request,
        "services/results.html",
        {
            "page": _page(request, qs),
            "query": _query(request),
            "statuses": ResultStatus.choices,
            "status_names": dict(ResultStatus.choices),
            "status": status,
            "summary": stats.conversion_stats(
                everything,
                Conversion.objects.filter(result__in=everything),
                IncomeEntry.objects.filter(result__in=everything),
            ),
            "fields": [(k, _field_name(k, lang)) for k in TECH_FIELDS],
            "can_manage": can_manage,
            "zones": access.managed_zones(request.user),
        },
    )


@login_required
def result_detail(request: HttpRequest, result_id: int) -> HttpResponse:
    """One result: the three steps, conversions, income per period and the ledger."""
    _require_view(request)
    result = access.get_result(request.user, result_id)
    admin = access.can_manage_zone(request.user, result.zone_id)
    if request.method == "POST":
        if not admin:
            raise PermissionDenied
        p = request.POST
        step = p.get("step")
        try:
            if "document" in request.FILES:
                actions.do_attach_document(
                    request.user,
                    request.FILES["document"],
                    step=p.get("doc_step", ""),
                    result=result,
                )
            elif step == "grant":
                actions.do_grant_shares(
                    request.user,
                    result,
                    team_share=p.get("team_share"),
                    university_share=p.get("university_share"),
                    agreement=p.get("agreement"),
                    granted_on=_date(p.get("on")),
                )
            elif step == "transfer":
                actions.do_transfer_share(
                    request.user,
                    result,
                    agreement=p.get("agreement"),
                    transferred_on=_date(p.get("on")),
                    price=p.get("price"),
                )
            elif step == "income":
                actions.do_agree_income(
                    request.user,
                    result,
                    ratio=p.get("ratio"),
                    basis=p.get("basis"),
                    term_years=p.get("term_years"),
                    income_from=_date(p.get("on")),
                )
            elif step == "convert":
                firm = Enterprise.objects.filter(
                    zone_id=result.zone_id, uscc=p.get("uscc", "").upper()
                ).first()
                actions.do_convert_result(
                    request.user,
                    result,
                    enterprise=firm,
                    firm_name=p.get("firm_name", ""),
                    mode=p.get("mode"),
                    converted_on=_date(p.get("on")),
                    amount=p.get("amount") or 0,
                )
            elif step == "income_entry":
                conversion = result.conversions.filter(pk=_int(p.get("conversion"))).first()
                if conversion is None:
                    raise actions.ServiceError("请选择转化记录", "Choose a conversion")
                actions.do_record_income(
                    request.user,
                    conversion,
                    year=p.get("year"),
                    quarter=p.get("quarter"),
                    basis_amount=p.get("basis_amount"),
                )
            messages.success(request, _("Saved."))
        except actions.ServiceError as exc:
            _fail(request, exc)
        except ValueError:
            messages.error(request, _("Please correct the form."))
        return redirect("services-result", result.pk)
    return render(
        request,
        "services/result.html",
        {
            "r": result,
            "admin": admin,
            "status_name": ResultStatus(result.status).label,
            "conversions": result.conversions.select_related("enterprise"),
            "ledger": stats.ledger(result),
            "modes": ConversionMode.choices,
            "mode_names": dict(ConversionMode.choices),
            "bases": IncomeBasis.choices,
            "basis_name": IncomeBasis(result.income_basis).label if result.income_basis else "",
            "S": ResultStatus,
            "documents": result.documents.all(),
            "doc_steps": [c for c in ServiceDocument.Step.choices if c[0] != "request"],
            "ip_items": registered_ip_items(request.user, result),
        },
    )


def registered_ip_items(user, result) -> list:
    """The result's IP numbers that are in the zone's IP registry (finance), as far as the
    user may read them (`finance.access.visible_ip_items`), in the order written."""
    from innopoints.finance.access import visible_ip_items

    numbers = [n for n in re.split(r"[\s,;，；、]+", result.ip_numbers or "") if n]
    if not numbers:
        return []
    items = {
        item.number: item
        for item in visible_ip_items(user).filter(
            enterprise__zone_id=result.zone_id, number__in=numbers
        )
    }
    return [items[n] for n in numbers if n in items]


# ---------------------------------------------------------------------------- projects


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    """Key projects: totals, progress against plan, overdue milestones, a chart."""
    _require_view(request)
    can_manage = access.managed_zones(request.user).exists()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if "file" in request.FILES:
            kind = request.POST.get("kind")
            importer = (
                actions.do_import_investments
                if kind == "investments"
                else actions.do_import_projects
            )
            _handle_import(request, importer)
        else:
            p = request.POST
            zone = _zone_for_write(request)
            firm = Enterprise.objects.filter(zone=zone, uscc=p.get("uscc", "").upper()).first()
            if firm is None:
                messages.error(request, _("No firm of your zones has this USCC."))
                return redirect("services-projects")
            milestones = {s: _date(p.get(f"due_{s}")) for s in STAGE_ORDER}
            try:
                actions.do_create_project(
                    request.user,
                    zone,
                    firm,
                    milestones=milestones,
                    name=p.get("name"),
                    total_investment=p.get("total_investment"),
                    planned_this_year=p.get("planned_this_year"),
                    plan_year=p.get("plan_year"),
                    stage=p.get("stage"),
                    signed_on=_date(p.get("signed_on")),
                )
                messages.success(request, _("Project registered."))
            except actions.ServiceError as exc:
                _fail(request, exc)
        return redirect("services-projects")
    qs = access.visible_projects(request.user)
    stage = request.GET.get("stage", "")
    if stage:
        qs = qs.filter(stage=stage)
    today = timezone.localdate()
    table, totals, monthly = stats.project_table(
        qs,
        ProjectInvestment.objects.filter(project__in=qs),
        ProjectMilestone.objects.filter(project__in=qs),
        today,
    )
    if request.GET.get("export") == "investments":
        frame = stats.frame(
            ProjectInvestment.objects.filter(project__in=qs).order_by("project_id", "month"),
            {
                "project__enterprise__uscc": pl.String,
                "project__name": pl.String,
                "month": pl.Date,
                "amount": pl.Float64,
            },
        ).rename({"project_enterprise_uscc": "uscc", "project_name": "name"})
        frame = frame.with_columns(pl.col("month").dt.strftime("%Y-%m"))
        return _export(request, frame, actions.INVESTMENT_COLUMNS, "project-investments")
    if request.GET.get("export"):
        frame = stats.frame(
            qs,
            {
                "enterprise__uscc": pl.String,
                "name": pl.String,
                "total_investment": pl.Float64,
                "plan_year": pl.Int64,
                "planned_this_year": pl.Float64,
                "stage": pl.String,
                "signed_on": pl.Date,
            },
        ).rename({"enterprise_uscc": "uscc"})
        return _export(request, frame, actions.PROJECT_COLUMNS, "key-projects")
    stage_names = dict(ProjectStage.choices)
    charts = {
        "stages": {
            "type": "bar",
            "name": _("Projects"),
            "categories": [str(stage_names[s]) for s in STAGE_ORDER],
            "values": [totals["by_stage"].get(s, 0) for s in STAGE_ORDER],
        },
        "monthly": {
            "type": "bar",
            "name": _("Actual investment (10k CNY)"),
            "categories": [f"{today.year}-{m:02d}" for m in monthly["m"].to_list()],
            "values": monthly["amount"].to_list(),
        },
    }
    rows = table.to_dicts()
    paginator = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "services/projects.html",
        {
            "page": paginator,
            "query": _query(request),
            "totals": totals,
            "charts": charts,
            "stages": ProjectStage.choices,
            "stage_names": stage_names,
            "stage": stage,
            "can_manage": can_manage,
            "zones": access.managed_zones(request.user),
            "year": today.year,
        },
    )


@login_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    """A project: milestones, monthly investment; admins move the stage and enter months."""
    _require_view(request)
    project = access.get_project(request.user, project_id)
    admin = access.can_manage_zone(request.user, project.zone_id)
    if request.method == "POST":
        if not admin:
            raise PermissionDenied
        try:
            if request.POST.get("stage"):
                actions.do_set_project_stage(
                    request.user, project, request.POST["stage"], _date(request.POST.get("on"))
                )
            else:
                month = _date((request.POST.get("month") or "") + "-01")
                actions.do_record_investment(
                    request.user, project, month, request.POST.get("amount")
                )
            messages.success(request, _("Saved."))
        except actions.ServiceError as exc:
            _fail(request, exc)
        return redirect("services-project", project.pk)
    today = timezone.localdate()
    table, _totals, _m = stats.project_table(
        access.visible_projects(request.user).filter(pk=project.pk),
        ProjectInvestment.objects.filter(project=project),
        ProjectMilestone.objects.filter(project=project),
        today,
    )
    stage_names = dict(ProjectStage.choices)
    return render(
        request,
        "services/project.html",
        {
            "p": project,
            "row": table.row(0, named=True),
            "admin": admin,
            "stage_name": stage_names[project.stage],
            "stage_names": stage_names,
            "next_stages": [
                (s, stage_names[s]) for s in STAGE_ORDER[STAGE_ORDER.index(project.stage) + 1 :]
            ],
            "milestones": project.milestones.all(),
            "investments": project.investments.all(),
            "today": today,
        },
    )


# ---------------------------------------------------------------------------- 帮代办


@login_required
def handling_list(request: HttpRequest) -> HttpResponse:
    """Requests with deadlines and the statistics; a firm files a new request."""
    _require_view(request)
    firm = access.own_firm(request.user)
    can_manage = access.managed_zones(request.user).exists()
    if request.method == "POST" and can_manage:
        if "file" in request.FILES:
            _handle_import(request, actions.do_import_procedures)
        else:
            data = {
                k: request.POST.get(k, "")
                for k in ("code", "name_zh", "name_en", "statutory_days", "promised_days")
            }
            try:
                actions.do_create_procedure(request.user, _zone_for_write(request), **data)
                messages.success(request, _("Saved."))
            except actions.ServiceError as exc:
                _fail(request, exc)
        return redirect("services-handling")
    if request.GET.get("export") == "procedures":
        frame = stats.frame(
            access.visible_procedures(request.user),
            {
                "code": pl.String,
                "name_zh": pl.String,
                "name_en": pl.String,
                "statutory_days": pl.Int64,
                "promised_days": pl.Int64,
            },
        )
        out = svc_tabular.export_frame(frame, actions.PROCEDURE_COLUMNS, _lang(request))
        return export_table_response(out, "procedures", "xlsx", _lang(request))
    if request.method == "POST":
        if firm is None:
            raise PermissionDenied
        procedure = (
            access.visible_procedures(request.user)
            .filter(pk=_int(request.POST.get("procedure")))
            .first()
        )
        if procedure is None:
            messages.error(request, _("Choose a procedure."))
            return redirect("services-handling")
        try:
            req = actions.do_submit_request(
                request.user,
                firm,
                procedure,
                description=request.POST.get("description", ""),
                documents=request.POST.get("documents", ""),
            )
        except actions.ServiceError as exc:
            _fail(request, exc)
            return redirect("services-handling")
        return redirect("services-request", req.pk)
    qs = access.visible_requests(request.user).select_related("enterprise", "procedure")
    state = request.GET.get("state", "")
    if state:
        qs = qs.filter(state=state)
    lang = _lang(request)
    if request.GET.get("export"):
        frame = stats.frame(
            qs,
            {
                "enterprise__uscc": pl.String,
                "enterprise__name": pl.String,
                "procedure__name_zh": pl.String,
                "state": pl.String,
                "submitted_on": pl.Date,
                "accepted_on": pl.Date,
                "promised_deadline": pl.Date,
                "statutory_deadline": pl.Date,
                "completed_on": pl.Date,
                "working_days": pl.Int64,
            },
        )
        cols = [
            svc_tabular.Column(c, z, e)
            for c, z, e in (
                ("enterprise_uscc", "统一社会信用代码", "USCC"),
                ("enterprise_name", "企业名称", "Firm"),
                ("procedure_name_zh", "事项", "Procedure"),
                ("state", "状态", "State"),
                ("submitted_on", "提交日期", "Submitted"),
                ("accepted_on", "受理日期", "Accepted"),
                ("promised_deadline", "承诺期限", "Promised deadline"),
                ("statutory_deadline", "法定期限", "Statutory deadline"),
                ("completed_on", "办结日期", "Completed"),
                ("working_days", "用时（工作日）", "Working days"),
            )
        ]
        return _export(request, frame, cols, "assisted-handling")
    today = timezone.localdate()
    return render(
        request,
        "services/handling.html",
        {
            "page": _page(request, qs),
            "query": _query(request),
            "summary": stats.handling_stats(access.visible_requests(request.user), today),
            "states": HandlingRequest.State.choices,
            "state_names": dict(HandlingRequest.State.choices),
            "state": state,
            "firm": firm,
            "can_manage": can_manage,
            "zones": access.managed_zones(request.user),
            "procedures": [(p, p.name(lang)) for p in access.visible_procedures(request.user)],
            "today": today,
            "lang": lang,
        },
    )


@login_required
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    """One request: officials take, complete or return it; the firm may withdraw it."""
    _require_view(request)
    req = access.get_request(request.user, request_id)
    admin = access.can_manage_zone(request.user, req.zone_id)
    own = req.enterprise_id == getattr(access.own_firm(request.user), "pk", None)
    if request.method == "POST":
        verb = request.POST.get("verb")
        try:
            if "document" in request.FILES and (own or admin):
                actions.do_attach_document(
                    request.user, request.FILES["document"], step="request", request=req
                )
            elif verb == "accept" and admin:
                actions.do_accept_request(request.user, req, _date(request.POST.get("on")))
            elif verb == "complete" and admin:
                actions.do_complete_request(
                    request.user, req, _date(request.POST.get("on")), request.POST.get("note", "")
                )
            elif verb == "return" and admin:
                actions.do_return_request(request.user, req, request.POST.get("note", ""))
            elif verb == "withdraw" and own:
                actions.do_withdraw_request(request.user, req)
            else:
                raise PermissionDenied
            messages.success(request, _("Saved."))
        except actions.ServiceError as exc:
            _fail(request, exc)
        return redirect("services-request", req.pk)
    return render(
        request,
        "services/request.html",
        {
            "r": req,
            "admin": admin,
            "own": own,
            "state_name": HandlingRequest.State(req.state).label,
            "procedure_name": req.procedure.name(_lang(request)),
            "today": timezone.localdate(),
            "S": HandlingRequest.State,
            "documents": req.files.all(),
        },
    )


@login_required
def document_download(request: HttpRequest, document_id: int) -> FileResponse:
    """A document of a result or request the user may read (404 for everyone else)."""
    from pathlib import Path

    from innopoints.portal.actions import private_root

    _require_view(request)
    doc = access.get_document(request.user, document_id)
    root = private_root().resolve()
    path = (root / doc.stored_path).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404("file not found")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=Path(doc.original_name).name,
        content_type=doc.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
