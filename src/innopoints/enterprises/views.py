"""Enterprise pages: registry list and detail, import (upload, progress, report), export."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from innopoints.enterprises import access
from innopoints.enterprises.actions import do_import_file
from innopoints.enterprises.exporting import export_registry, export_table_response
from innopoints.enterprises.forms import ExportForm, ImportForm
from innopoints.enterprises.models import YearlyData
from innopoints.enterprises.panel import derived_frame
from innopoints.jobs.tasks import start_job
from innopoints.pools.access import firm_memberships
from innopoints.standard.catalogue import (
    DERIVED_FIELDS,
    ENTERPRISE_FIELDS,
    QUALIFICATION_TYPES,
    STAGE_NAMES_EN,
    STAGE_NAMES_ZH,
    YEARLY_FIELDS,
)
from innopoints.standard.codes import industry_sections, section_label
from innopoints.web.templatetags.innopoints import fieldvalue

SORTS = {
    "name": "name",
    "-name": "-name",
    "uscc": "uscc",
    "registered_on": "registered_on",
    "-registered_on": "-registered_on",
    "industry": "industry_code",
    "revenue": "revenue_of_year",
    "-revenue": "-revenue_of_year",
}
PAGE_SIZE = 50


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _stage_names(request: HttpRequest) -> dict[str, str]:
    return STAGE_NAMES_EN if _lang(request) == "en" else STAGE_NAMES_ZH


@login_required
def enterprise_list(request: HttpRequest) -> HttpResponse:
    """The registry: search, filter by section/stage/qualification/year, sort, paginate, export."""
    if not access.can_list_enterprises(request.user):
        raise PermissionDenied
    enterprises = access.visible_enterprises(request.user).select_related("zone")
    years = list(
        YearlyData.objects.filter(enterprise__in=enterprises)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )
    params = request.GET
    try:
        year = int(params.get("year") or (years[0] if years else 0))
    except ValueError:
        year = years[0] if years else 0
    q = params.get("q", "").strip()
    if q:
        enterprises = enterprises.filter(Q(name__icontains=q) | Q(uscc__icontains=q.upper()))
    section = params.get("section", "")
    if section:
        enterprises = enterprises.filter(industry_code__startswith=section[:1])
    qualification = params.get("qualification", "")
    if qualification and year:
        year_end = f"{year}-12-31"
        enterprises = (
            enterprises.filter(
                qualifications__type=qualification,
                qualifications__valid_from__lte=year_end,
            )
            .filter(
                Q(qualifications__valid_until__isnull=True)
                | Q(qualifications__valid_until__gte=year_end)
            )
            .distinct()
        )
    derived = derived_frame(access.zones_for_export(request.user), year) if year else None
    stage = params.get("stage", "")
    if stage and derived is not None:
        usccs = derived.filter(pl.col("stage") == stage)["uscc"].to_list()
        enterprises = enterprises.filter(uscc__in=usccs)
    if year and params.get("has_year") == "1":
        enterprises = enterprises.filter(years__year=year)
    revenue = YearlyData.objects.filter(enterprise=OuterRef("pk"), year=year).values("revenue")
    enterprises = enterprises.annotate(revenue_of_year=Subquery(revenue[:1]))
    sort = params.get("sort", "name")
    enterprises = enterprises.order_by(SORTS.get(sort, "name"), "uscc")

    if params.get("export") in ("xlsx", "csv"):
        rows = enterprises.values_list(
            "uscc", "name", "zone__code", "industry_code", "registered_on", "revenue_of_year"
        )
        frame = pl.DataFrame(
            list(rows),
            schema={
                "uscc": pl.String,
                "name": pl.String,
                "zone": pl.String,
                "industry_code": pl.String,
                "registered_on": pl.Date,
                "revenue": pl.Float64,
            },
            orient="row",
        )
        if derived is not None:
            frame = frame.join(
                derived.select("uscc", "stage"), on="uscc", how="left", maintain_order="left"
            )
        return export_table_response(frame, f"enterprises-{year}", params["export"], _lang(request))

    page = Paginator(enterprises, PAGE_SIZE).get_page(params.get("page"))
    lookup = {}
    if derived is not None and page.object_list:
        usccs = [e.uscc for e in page.object_list]
        lookup = {
            r["uscc"]: r for r in derived.filter(pl.col("uscc").is_in(usccs)).iter_rows(named=True)
        }
    stage_names = _stage_names(request)
    rows = []
    for e in page.object_list:
        d = lookup.get(e.uscc, {})
        rows.append(
            {
                "enterprise": e,
                "stage": stage_names.get(d.get("stage"), ""),
                "rd_intensity": d.get("rd_intensity"),
                "qualifications": [
                    QUALIFICATION_TYPES[t][0 if _lang(request) == "zh" else 1]
                    for t in QUALIFICATION_TYPES
                    if d.get(f"has_{t}")
                ],
            }
        )
    query = params.copy()
    query.pop("page", None)
    sections = {code: section_label(code, _lang(request)) for code in industry_sections()}
    return render(
        request,
        "enterprises/list.html",
        {
            "page": page,
            "rows": rows,
            "years": years,
            "year": year,
            "q": q,
            "section": section,
            "sections": sorted(sections.items()),
            "stage": stage,
            "stages": list(stage_names.items()),
            "qualification": qualification,
            "qualification_types": [
                (k, v[0] if _lang(request) == "zh" else v[1])
                for k, v in QUALIFICATION_TYPES.items()
            ],
            "sort": sort,
            "query": query.urlencode(),
            "can_import": access.zones_for_import(request.user).exists(),
        },
    )


@login_required
def enterprise_detail(request: HttpRequest, uscc: str) -> HttpResponse:
    """One enterprise with all its years, qualifications and negative records."""
    enterprise = access.get_visible_enterprise(request.user, uscc)
    lang = _lang(request)
    derived = derived_frame([enterprise.zone], None, usccs=[enterprise.uscc])
    years = list(enterprise.years.order_by("year"))
    year_codes = [y.year for y in years]
    derived_rows = (
        {r["year"]: r for r in derived.iter_rows(named=True)} if derived is not None else {}
    )
    stage_names = _stage_names(request)

    def label(field):
        return field.label(lang) + (
            f"（{field.unit_zh}）"
            if lang == "zh" and field.unit_zh
            else (f" ({field.unit_en})" if field.unit_en else "")
        )

    table = []
    for f in YEARLY_FIELDS[1:]:
        table.append(
            {
                "label": label(f),
                "code": f.code,
                "kind": f.kind.value,
                "values": [getattr(y, f.code) for y in years],
            }
        )
    for cf in enterprise.zone.custom_fields():
        table.append(
            {
                "label": label(cf),
                "code": cf.code,
                "kind": cf.kind.value,
                "values": [(y.custom or {}).get(cf.code) for y in years],
            }
        )
    derived_table = []
    for f in DERIVED_FIELDS:
        values = [derived_rows.get(y, {}).get(f.code) for y in year_codes]
        if f.code == "stage":
            values = [stage_names.get(v, v) for v in values]
        derived_table.append(
            {"label": f.label(lang), "code": f.code, "kind": f.kind.value, "values": values}
        )
    shown = {
        "zone": enterprise.zone,
        "listing_status": enterprise.get_listing_status_display(),
        "registered_capital": (
            f"{fieldvalue(enterprise.registered_capital, 'money')} {_('10k CNY')}"
            if enterprise.registered_capital is not None
            else None
        ),
    }
    identity = [
        (f.label(lang), shown[f.code] if f.code in shown else getattr(enterprise, f.code))
        for f in ENTERPRISE_FIELDS
    ]
    return render(
        request,
        "enterprises/detail.html",
        {
            "enterprise": enterprise,
            "identity": identity,
            "section_name": section_label(enterprise.industry_section, lang),
            "years": year_codes,
            "table": table,
            "derived_table": derived_table,
            "qualifications": enterprise.qualifications.order_by("-valid_from"),
            "negatives": enterprise.negatives.order_by("-occurred_on"),
            "pools": _firm_pools(request, enterprise, lang),
        },
    )


def _firm_pools(request: HttpRequest, enterprise, lang: str) -> dict:
    """The firm's pool results of its latest computed year (read through `pools.access`)."""
    rows = firm_memberships(request.user, enterprise).select_related("pool")
    year = rows.order_by("-year").values_list("year", flat=True).first()
    found = list(rows.filter(year=year).order_by("pool__order", "pool__code")) if year else []
    return {
        "year": year,
        "rows": [(m, m.pool.name(lang), m.reasons_in(lang), m.near_miss_in(lang)) for m in found],
    }


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload a file; the import runs as a background job whose progress the page polls."""
    zones = access.zones_for_import(request.user)
    if not zones.exists():
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None, zones=zones)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        zone = form.cleaned_data["zone"]
        suffix = Path(upload.name).suffix.lower()
        incoming = Path(settings.PRIVATE_FILES_DIR) / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=incoming, suffix=suffix, delete=False) as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
            stored = Path(handle.name)
        user, mode, dry_run, name = (
            request.user,
            form.cleaned_data["mode"],
            form.cleaned_data["dry_run"],
            upload.name,
        )

        def work(progress):
            try:
                outcome = do_import_file(
                    user,
                    zone,
                    stored,
                    file_name=name,
                    mode=mode,
                    dry_run=dry_run,
                    progress=progress,
                )
            finally:
                stored.unlink(missing_ok=True)
            return {
                "batch": outcome.batch.pk,
                "url": reverse("import-detail", args=[outcome.batch.pk]),
            }

        job = start_job("import", work, user=request.user, zone=zone)
        return redirect(f"{reverse('import-list')}?job={job.pk}")
    batches = access.visible_batches(request.user).select_related("zone", "created_by")[:50]
    return render(
        request,
        "enterprises/import.html",
        {"form": form, "batches": batches, "job": request.GET.get("job", "")},
    )


@login_required
def import_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """What one import did: counts per table, the issues, the report download."""
    batch = access.visible_batches(request.user).filter(pk=batch_id).first()
    if batch is None:
        raise Http404
    return render(
        request, "enterprises/import_detail.html", {"batch": batch, "issues": batch.issue_sample}
    )


@login_required
def import_report(request: HttpRequest, batch_id: int) -> FileResponse:
    """The error report of an import as .xlsx with the bad cells marked."""
    batch = access.visible_batches(request.user).filter(pk=batch_id).first()
    if batch is None or not batch.report_path or not Path(batch.report_path).exists():
        raise Http404
    return FileResponse(
        open(batch.report_path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"import-{batch.pk}-report.xlsx",
    )


@login_required
def export_page(request: HttpRequest) -> HttpResponse:
    """Export the registry and yearly data (.xlsx or .csv, Chinese or code headers)."""
    zones = access.zones_for_export(request.user)
    if not zones.exists():
        raise PermissionDenied
    form = ExportForm(request.GET or None, zones=zones)
    if request.GET and form.is_valid():
        zone = form.cleaned_data["zone"]
        return export_registry(
            request.user,
            zone,
            fmt=form.cleaned_data["format"],
            headers=form.cleaned_data["headers"],
            years=form.cleaned_data["years"],
        )
    if request.GET and not form.is_valid():
        messages.error(request, _("Please correct the export options."))
    return render(request, "enterprises/export.html", {"form": form})
