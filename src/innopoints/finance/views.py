"""Finance pages. Reads through `finance.access`, writes through `finance.actions`.

/finance/ sends a firm to its finance page (consents, who read its data, shortlistings,
products with its suggested line, loans, IP), a bank to its desk (products, shortlists,
applications, pledges), admins and supervisors to the zone statistics.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innopoints.accounts.access import bank_id_of, role_of
from innopoints.accounts.models import Role
from innopoints.engine.credit import explain
from innopoints.enterprises.access import get_visible_enterprise, note_read
from innopoints.finance import access, actions, credit, stats
from innopoints.finance.forms import (
    ApplyForm,
    ConsentForm,
    IPItemForm,
    LoanActionForm,
    PledgeForm,
    ProductForm,
    RiskPoolForm,
    ValuationForm,
)
from innopoints.finance.models import IPItem, Loan
from innopoints.zones.models import Bank

PAGE_SIZE = 50


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role's finance entry page."""
    role = role_of(request.user)
    if role == Role.ENTERPRISE:
        return redirect("finance-firm")
    if role == Role.BANK:
        return redirect("finance-bank")
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return redirect("finance-stats")
    raise PermissionDenied


# ---------------------------------------------------------------------------- firm


@login_required
def firm_page(request: HttpRequest) -> HttpResponse:
    """The firm's finance page: consents (grant, revoke), the log of bank reads, where it
    was shortlisted, products with its suggested line, its loans and IP."""
    firm = access.own_enterprise(request.user)
    if firm is None:
        raise PermissionDenied
    form = ConsentForm(request.POST or None, banks=access.banks_for_consent(firm))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.do_grant_consent(
                request.user, firm, d["bank"], d["valid_from"], d["valid_until"]
            )
        except actions.FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Consent granted."))
            return redirect("finance-firm")
    today = access.today()
    consents = list(access.visible_consents(request.user))
    reads = Paginator(access.reads_of(firm).select_related("actor"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    banks = {b.pk: b.name for b in Bank.objects.all()}
    products = []
    for product in access.visible_products(request.user).filter(active=True):
        row = credit.firm_line(product, firm)
        products.append({"product": product, "row": row})
    return render(
        request,
        "finance/firm.html",
        {
            "firm": firm,
            "form": form,
            "consents": [(c, c.is_valid(today)) for c in consents],
            "reads": reads,
            "read_rows": [(e, banks.get(e.detail.get("bank_id"), "")) for e in reads],
            "shortlistings": access.shortlistings_of(firm)[:50],
            "products": products,
            "loans": access.visible_loans(request.user)[:50],
            "ip_items": access.visible_ip_items(request.user).prefetch_related("valuations"),
            "pledges": access.visible_pledges(request.user)[:50],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def consent_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    """The firm revokes a consent."""
    consent = access.get_visible_consent(request.user, consent_id)
    if not access.can_manage_consents(request.user, consent.enterprise):
        raise PermissionDenied
    try:
        actions.do_revoke_consent(request.user, consent)
        messages.success(request, _("Consent revoked."))
    except actions.FinanceError as exc:
        messages.error(request, str(exc))
    return redirect("finance-firm")


# ---------------------------------------------------------------------------- bank


@login_required
def bank_page(request: HttpRequest) -> HttpResponse:
    """The bank's desk: its products, the consents it holds, applications and loans."""
    from innopoints.finance.forms import BranchForm, OfficerForm

    if bank_id_of(request.user) is None:
        raise PermissionDenied
    bank = Bank.objects.get(pk=bank_id_of(request.user))
    which = request.POST.get("form") if request.method == "POST" else None
    branch_form = BranchForm(
        request.POST if which == "branch" else None, prefix="br", zones=bank.zones.all()
    )
    officer_form = OfficerForm(
        request.POST if which == "officer" else None,
        prefix="of",
        users=access.bank_people(request.user),
        branches=access.visible_branches(request.user),
    )
    history_errors: list[str] = []
    if which == "history":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise actions.FinanceError(_("Choose a file."), "file")
            outcome = actions.do_import_loan_history(
                request.user, bank, upload.read(), upload.name or "upload"
            )
        except actions.FinanceError as exc:
            history_errors = [str(exc)]
        else:
            if outcome.errors:
                history_errors = outcome.errors
            else:
                messages.success(
                    request,
                    _("Loan history: %(created)s loans imported, %(skipped)s already there.")
                    % {"created": outcome.created, "skipped": outcome.skipped},
                )
                return redirect("finance-bank")
    if which in ("branch", "officer"):
        form = branch_form if which == "branch" else officer_form
        if form.is_valid():
            d = form.cleaned_data
            try:
                if which == "branch":
                    actions.do_save_branch(
                        request.user, bank, d["code"], d["name"], d["region_code"], d["zone"]
                    )
                else:
                    actions.do_assign_officer(
                        request.user, d["user"], bank, d["branch"], d["title"]
                    )
            except actions.FinanceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect("finance-bank")
    loans = access.visible_loans(request.user)
    status = request.GET.get("status", "")
    if status in Loan.Status.values:
        loans = loans.filter(status=status)
    return render(
        request,
        "finance/bank.html",
        {
            "bank": bank,
            "branches": access.visible_branches(request.user),
            "people": access.bank_people(request.user),
            "branch_form": branch_form,
            "history_errors": history_errors[:200],
            "history_more": max(0, len(history_errors) - 200),
            "officer_form": officer_form,
            "products": access.visible_products(request.user),
            "consents": access.consenting_enterprises(request.user).count(),
            "loans": Paginator(loans, PAGE_SIZE).get_page(request.GET.get("page")),
            "status": status,
            "statuses": Loan.Status.choices,
        },
        status=400 if which else 200,
    )


def _product_data(product) -> dict:
    return {f: getattr(product, f) for f in ProductForm.base_fields if hasattr(product, f)}


@login_required
def product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    """A bank creates or edits one of its products (rule and table validated)."""
    product = access.get_visible_product(request.user, product_id) if product_id else None
    if not access.can_manage_product(request.user, product):
        raise PermissionDenied
    initial = _product_data(product) if product else None
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        bank = Bank.objects.get(pk=bank_id_of(request.user))
        try:
            product = actions.do_save_product(request.user, bank, form.cleaned_data, product)
        except actions.FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Product saved."))
            return redirect("finance-product", product.pk)
    return render(
        request,
        "finance/product_edit.html",
        {"form": form, "product": product},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    """A product: terms, eligibility rule, credit table, LTV maxima."""
    product = access.get_visible_product(request.user, product_id)
    return render(
        request,
        "finance/product.html",
        {
            "product": product,
            "table": credit.table_of(product),
            "can_manage": access.can_manage_product(request.user, product),
            "can_apply": access.can_apply(request.user, product),
        },
    )


@login_required
def monitor_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """The bank's monitoring of a product: default rate by grade, a calibration proposal
    at a target default rate (applied on POST), and score drift (PSI) between years."""
    from innopoints.finance import calibration

    product = access.get_visible_product(request.user, product_id)
    if not access.can_manage_product(request.user, product):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    try:
        target = float(source.get("target") or 0.02)
        if not 0 < target < 1:
            raise ValueError
    except ValueError:
        messages.error(request, _("The target default rate must be between 0 and 1."))
        target = 0.02
    if request.method == "POST":
        try:
            actions.do_calibrate_product(request.user, product, target)
        except actions.FinanceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Credit-line table calibrated."))
            return redirect(f"{request.path}?target={target}")
    _doc, proposal = calibration.calibrate(product, target)
    drift = calibration.drift(product, access.product_zones(product))
    return render(
        request,
        "finance/monitor.html",
        {
            "product": product,
            "target": target,
            "outcomes": calibration.outcomes(product).to_dicts(),
            "proposal": proposal,
            "drift": drift,
            "psi_points_label": calibration.psi_label(drift.get("psi_points")),
            "psi_lines_label": calibration.psi_label(drift.get("psi_lines")),
        },
    )


@login_required
def shortlist_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """银行找企业: consenting firms that fit the product, ranked, with the suggested line;
    `?export=xlsx` downloads it. Each listed firm is recorded (the firm sees it) and audited."""
    product = access.get_visible_product(request.user, product_id)
    if not access.can_shortlist(request.user, product):
        raise PermissionDenied
    lines = credit.product_lines(product, access.product_zones(product))
    ids = access.consenting_enterprises(request.user).values_list("id", flat=True)
    rows = credit.shortlist(product, lines, ids)
    exported = request.GET.get("export") == "xlsx"
    if rows.height:
        actions.do_note_shortlist(
            request.user, product, int(rows["year"][0]), rows, exported=exported
        )
    if exported:
        return _xlsx(product, rows)
    return render(
        request,
        "finance/shortlist.html",
        {
            "product": product,
            "rows": rows.to_dicts(),
            "year": rows["year"][0] if rows.height else None,
        },
    )


def xlsx_response(name: str, headers: list[str], rows: list[list]) -> HttpResponse:
    """An .xlsx download with one header row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = name[:31]
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def _xlsx(product, rows) -> HttpResponse:
    headers = [
        ("rank", _("Rank")),
        ("uscc", _("USCC")),
        ("name", _("Enterprise")),
        ("year", _("Year")),
        ("total", _("Points")),
        ("band", _("Band")),
        ("pct", _("Percentile")),
        ("line", _("Suggested line (10k CNY)")),
        ("status", _("Status")),
    ]
    return xlsx_response(
        f"shortlist-{product.code}",
        [label for _k, label in headers],
        [[row[k] for k, _label in headers] for row in rows.iter_rows(named=True)],
    )


def _loans_xlsx(loans) -> HttpResponse:
    headers = [
        _("Loan"),
        _("USCC"),
        _("Enterprise"),
        _("Bank"),
        _("Product"),
        _("Status"),
        _("Requested"),
        _("Suggested line (10k CNY)"),
        _("Approved"),
        _("Rate (%)"),
        _("Disbursed"),
        _("Outstanding"),
        _("Applied"),
    ]
    rows = [
        [
            loan.pk,
            loan.enterprise.uscc,
            loan.enterprise.name,
            loan.bank.name,
            loan.product.name,
            str(loan.get_status_display()),
            float(loan.amount_requested),
            None if loan.suggested_line is None else float(loan.suggested_line),
            None if loan.amount_approved is None else float(loan.amount_approved),
            None if loan.rate is None else float(loan.rate),
            None if loan.amount_disbursed is None else float(loan.amount_disbursed),
            float(loan.outstanding),
            loan.applied_at.date(),
        ]
        for loan in loans[:100_000]
    ]
    return xlsx_response("loans", [str(h) for h in headers], rows)


@login_required
def credit_line_page(request: HttpRequest, product_id: int, uscc: str) -> HttpResponse:
    """One firm's suggested line under a product, step by step (bank reads audited)."""
    product = access.get_visible_product(request.user, product_id)
    enterprise = get_visible_enterprise(request.user, uscc)
    row = credit.firm_line(product, enterprise)
    return render(
        request,
        "finance/credit_line.html",
        {
            "product": product,
            "enterprise": enterprise,
            "row": row,
            "steps": explain(row, _lang(request)) if row else [],
        },
    )


# ---------------------------------------------------------------------------- loans


@login_required
def apply_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """The firm's short application form, pre-filled with its suggested line."""
    product = access.get_visible_product(request.user, product_id)
    firm = access.own_enterprise(request.user)
    if firm is None or not access.can_apply(request.user, product):
        raise PermissionDenied
    row = credit.firm_line(product, firm)
    suggested = row.get("line") if row else None
    initial = {
        "amount": Decimal(str(min(suggested, float(product.amount_max)))).quantize(Decimal("0.01"))
        if suggested
        else product.amount_min or None,
        "term_months": product.term_max_months,
        "credit_share": 1,
    }
    form = ApplyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            loan = actions.do_apply_loan(
                request.user,
                firm,
                product,
                d["amount"],
                d["term_months"],
                d["purpose"],
                d["contact"],
                d["credit_share"],
            )
        except actions.FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Application sent to the bank."))
            return redirect("finance-loan", loan.pk)
    return render(
        request,
        "finance/apply.html",
        {
            "form": form,
            "product": product,
            "row": row,
            "steps": explain(row, _lang(request)) if row else [],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def loans_page(request: HttpRequest) -> HttpResponse:
    """Loans in the user's scope, filtered by status."""
    if role_of(request.user) not in Role.values:
        raise PermissionDenied
    loans = access.visible_loans(request.user)
    status = request.GET.get("status", "")
    if status in Loan.Status.values:
        loans = loans.filter(status=status)
    if request.GET.get("export") == "xlsx":
        return _loans_xlsx(loans)
    return render(
        request,
        "finance/loans.html",
        {
            "loans": Paginator(loans, PAGE_SIZE).get_page(request.GET.get("page")),
            "status": status,
            "statuses": Loan.Status.choices,
        },
    )


@login_required
def loan_page(request: HttpRequest, loan_id: int) -> HttpResponse:
    """One loan: application, decision, schedule, repayments, cover and claim; the bank's
    and the firm's actions."""
    loan = access.get_visible_loan(request.user, loan_id)
    note_read(request.user, loan.enterprise)
    can_handle = access.can_handle_loan(request.user, loan)
    can_withdraw = access.can_withdraw_loan(request.user, loan)
    form = LoanActionForm(request.POST or None)
    if request.method == "POST":
        if not (can_handle or can_withdraw):
            raise PermissionDenied
        if form.is_valid():
            try:
                _loan_action(request, loan, form.cleaned_data, can_handle, can_withdraw)
            except actions.FinanceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect("finance-loan", loan.pk)
    cover = getattr(loan, "cover", None) if hasattr(loan, "cover") else None
    claim = getattr(loan, "claim", None) if hasattr(loan, "claim") else None
    return render(
        request,
        "finance/loan.html",
        {
            "loan": loan,
            "form": form,
            "can_handle": can_handle,
            "can_withdraw": can_withdraw,
            "installments": loan.installments.all(),
            "repayments": loan.repayments.all(),
            "cover": cover,
            "claim": claim,
            "pools": access.visible_risk_pools(request.user).filter(zone=loan.zone, active=True)
            if can_handle
            else [],
        },
        status=400 if request.method == "POST" else 200,
    )


def _loan_action(request, loan, d, can_handle: bool, can_withdraw: bool) -> None:
    action, user = d["action"], request.user
    on = d.get("on") or access.today()
    if action == "withdraw":
        if not can_withdraw:
            raise PermissionDenied
        actions.do_withdraw_loan(user, loan)
        return
    if not can_handle:
        raise PermissionDenied
    if action == "review":
        actions.do_start_review(user, loan)
    elif action in ("approve", "reject"):
        actions.do_decide_loan(
            user,
            loan,
            action == "approve",
            amount=d.get("amount"),
            rate=d.get("rate"),
            term_months=d.get("term_months"),
            reason=d.get("reason") or "",
        )
    elif action == "disburse":
        actions.do_disburse_loan(user, loan, d.get("amount"), on)
    elif action == "repay":
        actions.do_record_repayment(user, loan, on, d.get("amount") or 0, d.get("interest") or 0)
    elif action == "overdue":
        actions.do_mark_overdue(user, loan, on)
    elif action == "default":
        actions.do_mark_default(user, loan, on)
    elif action == "cover":
        pool = access.get_visible_risk_pool(user, d.get("pool") or 0)
        actions.do_cover_loan(user, pool, loan)


# ---------------------------------------------------------------------------- statistics


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    """Zone statistics: financed firms and amounts by bank, product and band; default rate
    by band and year; pledges by year, bank and IP type."""
    zones = access.stats_zones(request.user)
    if not zones.exists():
        raise PermissionDenied
    frame = stats.loan_frame(access.visible_loans(request.user))
    defaults = stats.default_rates(frame)
    by_bank = stats.financed_by(frame, "bank")
    bands = sorted(set(defaults.get_column("band").to_list()))
    years = sorted({y for y in defaults.get_column("year").to_list() if y is not None})
    rate = {(r["band"], r["year"]): r["rate"] for r in defaults.to_dicts()}
    charts = {
        "bands": bands,
        "years": [
            {
                "year": y,
                "rates": [
                    None if (b, y) not in rate else round(rate[(b, y)] * 100, 2) for b in bands
                ],
            }
            for y in years
        ],
        "banks": by_bank.get_column("bank").to_list(),
        "amounts": by_bank.get_column("amount").to_list(),
    }
    return render(
        request,
        "finance/stats.html",
        {
            "charts": charts,
            "consents": access.consent_counts(request.user),
            "totals": stats.totals(frame),
            "by_bank": by_bank.to_dicts(),
            "by_product": stats.financed_by(frame, "product").to_dicts(),
            "by_band": stats.financed_by(frame, "band").to_dicts(),
            "defaults": defaults.to_dicts(),
            "pledges": stats.pledge_stats(access.visible_pledges(request.user)).to_dicts(),
            "pools": [
                (p, actions.pool_position(p)) for p in access.visible_risk_pools(request.user)
            ],
        },
    )


# ---------------------------------------------------------------------------- risk pools


@login_required
def risk_pools_page(request: HttpRequest) -> HttpResponse:
    """Risk-compensation pools with balance and commitments; admins create pools."""
    if role_of(request.user) not in (Role.ZONE_ADMIN, Role.SUPERVISOR, Role.BANK):
        raise PermissionDenied
    zones = access.admin_zones(request.user)
    form = RiskPoolForm(request.POST or None, zones=zones) if zones.exists() else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            d = dict(form.cleaned_data)
            zone = d.pop("zone")
            try:
                actions.do_create_risk_pool(request.user, zone, d)
            except actions.FinanceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Risk pool created."))
                return redirect("finance-riskpools")
    pools = access.visible_risk_pools(request.user).select_related("zone")
    return render(
        request,
        "finance/riskpools.html",
        {
            "form": form,
            "pools": [
                (
                    p,
                    actions.pool_position(p),
                    p.covers.select_related("loan__enterprise"),
                    p.claims.all(),
                )
                for p in pools
            ],
        },
        status=400 if request.method == "POST" else 200,
    )


# ---------------------------------------------------------------------------- IP


@login_required
def ip_page(request: HttpRequest) -> HttpResponse:
    """IP items in the user's scope; a firm registers its items and valuations."""
    role = role_of(request.user)
    if role not in Role.values:
        raise PermissionDenied
    firm = access.own_enterprise(request.user)
    form = IPItemForm(request.POST or None, prefix="ip") if firm else None
    vform = ValuationForm(request.POST or None, prefix="val") if role != Role.SUPERVISOR else None
    if request.method == "POST":
        try:
            if "ip-number" in request.POST and form is not None and form.is_valid():
                actions.do_register_ip(request.user, firm, **form.cleaned_data)
                messages.success(request, _("IP item registered."))
                return redirect("finance-ip")
            if "val-value" in request.POST and vform is not None and vform.is_valid():
                d = vform.cleaned_data
                item = access.get_visible_ip_item(request.user, d["item"])
                if not access.can_value_ip(request.user, item):
                    raise PermissionDenied
                actions.do_add_valuation(
                    request.user, item, d["source"], d["value"], d["valued_on"], d["appraiser"]
                )
                messages.success(request, _("Valuation recorded."))
                return redirect("finance-ip")
        except actions.FinanceError as exc:
            messages.error(request, str(exc))
    items = Paginator(
        access.visible_ip_items(request.user).prefetch_related("valuations"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    if role == Role.BANK:
        for enterprise in {item.enterprise for item in items}:
            note_read(request.user, enterprise)
    return render(
        request,
        "finance/ip.html",
        {"form": form, "vform": vform, "items": items, "kinds": IPItem.Kind.choices},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def pledges_page(request: HttpRequest) -> HttpResponse:
    """Pledges in the user's scope; a bank registers and releases pledges."""
    role = role_of(request.user)
    if role not in Role.values:
        raise PermissionDenied
    products = access.visible_products(request.user).filter(kind="ip_pledge")
    form = PledgeForm(request.POST or None, products=products) if role == Role.BANK else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        release = request.POST.get("release")
        try:
            if release:
                pledge = access.get_visible_pledge(request.user, int(release))
                actions.do_release_pledge(request.user, pledge, access.today())
                messages.success(request, _("Pledge released."))
                return redirect("finance-pledges")
            if form.is_valid():
                d = form.cleaned_data
                enterprise = get_visible_enterprise(request.user, d["uscc"])
                numbers = [n.strip().upper() for n in d["items"].split(",") if n.strip()]
                items = list(
                    access.visible_ip_items(request.user).filter(
                        enterprise=enterprise, number__in=numbers
                    )
                )
                missing = set(numbers) - {i.number for i in items}
                if missing:
                    raise actions.FinanceError(
                        f"items：未找到 / not found: {', '.join(sorted(missing))}", "items"
                    )
                actions.do_register_pledge(
                    request.user,
                    d["product"],
                    enterprise,
                    items,
                    d["registration_no"],
                    d["registered_on"],
                    d["loan_amount"],
                )
                messages.success(request, _("Pledge registered."))
                return redirect("finance-pledges")
        except (actions.FinanceError, ValueError) as exc:
            form.add_error(None, str(exc))
        except Http404:
            form.add_error("uscc", _("Enterprise not found or no consent."))
    all_pledges = access.visible_pledges(request.user).prefetch_related("items__item")
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            "pledges",
            [
                str(h)
                for h in (
                    _("Registration number"),
                    _("Registration date"),
                    _("Pledgor"),
                    _("USCC"),
                    _("Pledgee"),
                    _("IP items"),
                    _("Pledged value (10k CNY)"),
                    _("Loan amount (10k CNY)"),
                    _("Released"),
                )
            ],
            [
                [
                    p.registration_no,
                    p.registered_on,
                    p.enterprise.name,
                    p.enterprise.uscc,
                    p.bank.name,
                    ", ".join(i.item.number for i in p.items.all()),
                    float(p.pledged_value),
                    float(p.loan_amount),
                    p.released_on,
                ]
                for p in all_pledges[:100_000]
            ],
        )
    pledges = Paginator(all_pledges, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "finance/pledges.html",
        {"form": form, "pledges": pledges, "can_release": role == Role.BANK},
        status=400 if request.method == "POST" else 200,
    )


# ---------------------------------------------------------------------------- licence-back


@login_required
def licences_page(request: HttpRequest) -> HttpResponse:
    """Licence-back contracts in the user's scope; banks and zone admins record new ones."""
    from innopoints.finance.forms import LicenceForm

    if role_of(request.user) not in Role.values:
        raise PermissionDenied
    form = LicenceForm(request.POST or None) if access.can_record_licence(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                enterprise = get_visible_enterprise(request.user, d["uscc"])
                if not access.can_record_licence(request.user, enterprise):
                    raise Http404
                numbers = [n.strip().upper() for n in d["items"].split(",") if n.strip()]
                items = list(IPItem.objects.filter(enterprise=enterprise, number__in=numbers))
                missing = set(numbers) - {i.number for i in items}
                if missing:
                    raise actions.FinanceError(
                        f"items：未找到 / not found: {', '.join(sorted(missing))}", "items"
                    )
                bank = Bank.objects.filter(pk=bank_id_of(request.user)).first()
                licence = actions.do_create_licence_back(
                    request.user,
                    enterprise,
                    items,
                    financier=d["financier"] or (bank.name if bank else ""),
                    bank=bank,
                    contract_no=d["contract_no"],
                    licence_fee=d["licence_fee"],
                    paid_on=d["paid_on"],
                    fee_rate=d["fee_rate"],
                    term_months=d["term_months"],
                    every_months=d["every_months"],
                )
            except actions.FinanceError as exc:
                form.add_error(None, str(exc))
            except Http404:
                form.add_error("uscc", _("Enterprise not found or no consent."))
            else:
                messages.success(request, _("Licence-back contract recorded."))
                return redirect("finance-licence", licence.pk)
    if request.GET.get("export") == "xlsx":
        rows = []
        for lic in access.visible_licences(request.user)[:100_000]:
            pos = actions.licence_position(lic)
            rows.append(
                [
                    lic.contract_no,
                    lic.enterprise.name,
                    lic.enterprise.uscc,
                    lic.financier,
                    float(lic.licence_fee),
                    lic.paid_on,
                    float(pos["total"]),
                    float(pos["paid"]),
                    float(pos["arrears"]),
                ]
            )
        headers = (
            _("Contract number"),
            _("Enterprise"),
            _("USCC"),
            _("Financier"),
            _("Licence fee (10k CNY)"),
            _("Fee paid on"),
            _("Usage fees"),
            _("Paid"),
            _("Arrears"),
        )
        return xlsx_response("licences", [str(h) for h in headers], rows)
    licences = Paginator(access.visible_licences(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "finance/licences.html",
        {
            "form": form,
            "licences": licences,
            "rows": [(lic, actions.licence_position(lic)) for lic in licences],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def licence_page(request: HttpRequest, licence_id: int) -> HttpResponse:
    """One contract: items, schedule, payments, arrears; the financier records payments."""
    from innopoints.finance.forms import LicencePaymentForm

    licence = access.get_visible_licence(request.user, licence_id)
    note_read(request.user, licence.enterprise)
    can_handle = access.can_handle_licence(request.user, licence)
    form = LicencePaymentForm(request.POST or None) if can_handle else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                actions.do_record_licence_payment(
                    request.user, licence, form.cleaned_data["paid_on"], form.cleaned_data["amount"]
                )
            except actions.FinanceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Payment recorded."))
                return redirect("finance-licence", licence.pk)
    return render(
        request,
        "finance/licence.html",
        {
            "licence": licence,
            "position": actions.licence_position(licence),
            "form": form,
            "today": access.today(),
        },
        status=400 if request.method == "POST" else 200,
    )
