"""Finance API for bank systems and firms: products, shortlists, credit lines, consents,
loans (apply, decide, disburse, repay, status), risk pools and pledges. Same access rules
as the pages (`finance.access`); rate-limited per token (`finance.ratelimit`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.accounts.api import ApiError
from innopoints.engine.credit import explain
from innopoints.enterprises.access import get_visible_enterprise, note_read
from innopoints.finance import access, actions, credit
from innopoints.finance.models import Loan
from innopoints.finance.ratelimit import TokenRateLimit

router = Router(tags=["finance"], throttle=[TokenRateLimit()])


def _lang(request: HttpRequest) -> str:
    return "en" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en") else "zh"


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run an action; its errors become 400 (`invalid`) or 409 (`conflict`)."""
    try:
        return fn(*args, **kwargs)
    except actions.FinanceConflict as exc:
        raise ApiError(409, str(exc), "conflict") from exc
    except actions.FinanceError as exc:
        raise ApiError(400, str(exc), "invalid") from exc


class ConsentIn(Schema):
    bank: str | None = None  # a partner bank's code; empty = every partner bank
    valid_from: dt.date
    valid_until: dt.date


class ConsentOut(Schema):
    id: int
    enterprise: str
    bank: str | None
    valid_from: dt.date
    valid_until: dt.date
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    valid: bool

    @staticmethod
    def resolve_enterprise(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_bank(obj) -> str | None:
        return obj.bank.code if obj.bank_id else None

    @staticmethod
    def resolve_valid(obj) -> bool:
        return obj.is_valid(access.today())


class ProductOut(Schema):
    id: int
    bank: str
    code: str
    name: str
    kind: str
    amount_min: float
    amount_max: float
    term_min_months: int
    term_max_months: int
    rate_min: float
    rate_max: float
    eligibility: Any = None
    credit_table: dict[str, Any]
    ltv_max: dict[str, float]
    active: bool

    @staticmethod
    def resolve_bank(obj) -> str:
        return obj.bank.code


class ShortlistRow(Schema):
    rank: int
    uscc: str
    name: str
    year: int
    total: float | None
    band: str | None
    pct: float | None
    line: float | None
    status: str


class CreditLineOut(Schema):
    product: int
    uscc: str
    year: int | None
    status: str
    line: float | None
    grade: str | None
    block: str | None
    eligibility: str | None
    steps: list[str]


class LoanIn(Schema):
    product: int
    amount: float
    term_months: int
    purpose: str
    contact: str = ""
    credit_share: float = 1.0


class LoanOut(Schema):
    id: int
    enterprise: str
    bank: str
    product: int
    status: str
    amount_requested: float
    term_months: int
    purpose: str
    credit_share: float
    points: float | None
    band: str
    suggested_line: float | None
    applied_at: dt.datetime
    amount_approved: float | None
    rate: float | None
    term_approved_months: int | None
    reject_reason: str
    amount_disbursed: float | None
    disbursed_on: dt.date | None
    maturity_on: dt.date | None
    principal_repaid: float
    settled_on: dt.date | None
    defaulted_on: dt.date | None

    @staticmethod
    def resolve_enterprise(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_bank(obj) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_product(obj) -> int:
        return obj.product_id


class DecisionIn(Schema):
    approve: bool
    amount: float | None = None
    rate: float | None = None
    term_months: int | None = None
    reason: str = ""


class DisbursementIn(Schema):
    amount: float
    on: dt.date


class RepaymentIn(Schema):
    paid_on: dt.date
    principal: float
    interest: float = 0.0


class StatusIn(Schema):
    status: Literal["review", "withdrawn", "overdue", "defaulted"]
    on: dt.date | None = None


class RiskPoolOut(Schema):
    id: int
    zone: str
    name: str
    size: float
    per_loan_cap: float
    max_years: int
    cover_part_credit: float
    cover_mostly_credit: float
    cover_first_loan: float
    guarantor_share: float
    balance: float
    committed: float
    available: float

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code


class PledgeOut(Schema):
    id: int
    enterprise: str
    bank: str
    product: int
    registration_no: str
    registered_on: dt.date
    loan_amount: float
    pledged_value: float
    released_on: dt.date | None
    items: list[str]

    @staticmethod
    def resolve_enterprise(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_bank(obj) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_product(obj) -> int:
        return obj.product_id

    @staticmethod
    def resolve_items(obj) -> list[str]:
        return [p.item.number for p in obj.items.select_related("item")]


# ---------------------------------------------------------------------------- consents


@router.get("/consents", response=list[ConsentOut])
@paginate(LimitOffsetPagination)
def list_consents(request: HttpRequest):
    """Consents in the caller's scope (a firm's own; those covering a bank; a zone's)."""
    return access.visible_consents(request.user).order_by("-granted_at", "-id")


@router.post("/consents", response={201: ConsentOut})
def grant_consent(request: HttpRequest, payload: ConsentIn):
    """The firm grants one partner bank (`bank` code) or all partner banks access."""
    firm = access.own_enterprise(request.user)
    if not access.can_manage_consents(request.user, firm):
        raise PermissionDenied("only the firm grants consent")
    bank = None
    if payload.bank:
        bank = access.banks_for_consent(firm).filter(code=actions.text(payload.bank, 32)).first()
        if bank is None:
            raise ApiError(
                400, f"bank：未知合作银行 / unknown partner bank ({payload.bank})", "invalid"
            )
    consent = _call(
        actions.do_grant_consent, request.user, firm, bank, payload.valid_from, payload.valid_until
    )
    return Status(201, consent)


@router.post("/consents/{consent_id}/revoke", response=ConsentOut)
def revoke_consent(request: HttpRequest, consent_id: int):
    """The firm revokes one of its consents now."""
    consent = access.get_visible_consent(request.user, consent_id)
    if not access.can_manage_consents(request.user, consent.enterprise):
        raise PermissionDenied("only the firm revokes its consent")
    return _call(actions.do_revoke_consent, request.user, consent)


# ---------------------------------------------------------------------------- products


@router.get("/products", response=list[ProductOut])
@paginate(LimitOffsetPagination)
def list_products(request: HttpRequest):
    """Loan products: a bank's own; its zones' partner banks' for firms and admins."""
    return access.visible_products(request.user).order_by("bank__code", "code")


@router.get("/products/{product_id}", response=ProductOut)
def get_product(request: HttpRequest, product_id: int):
    """One product with its eligibility rule, credit-line table and LTV maxima."""
    return access.get_visible_product(request.user, product_id)


@router.get("/products/{product_id}/shortlist", response=list[ShortlistRow])
@paginate(LimitOffsetPagination)
def product_shortlist(request: HttpRequest, product_id: int):
    """The bank's shortlist (银行找企业): consenting firms that fit the product, ranked by
    suggested line; every listed firm is recorded as shortlisted and as read."""
    product = access.get_visible_product(request.user, product_id)
    if not access.can_shortlist(request.user, product):
        raise PermissionDenied("only the product's bank browses its shortlist")
    lines = credit.product_lines(product, access.product_zones(product))
    ids = access.consenting_enterprises(request.user).values_list("id", flat=True)
    rows = credit.shortlist(product, lines, ids)
    if rows.height:
        actions.do_note_shortlist(request.user, product, int(rows["year"][0]), rows)
    return rows.select(
        "rank", "uscc", "name", "year", "total", "band", "pct", "line", "status"
    ).to_dicts()


@router.get("/products/{product_id}/lines/{uscc}", response=CreditLineOut)
def credit_line(request: HttpRequest, product_id: int, uscc: str):
    """One firm's suggested line under the product, explained step by step (a bank only
    under consent or an application; the read is audited)."""
    product = access.get_visible_product(request.user, product_id)
    enterprise = get_visible_enterprise(request.user, uscc)
    row = credit.firm_line(product, enterprise)
    if row is None:
        return {
            "product": product.pk,
            "uscc": enterprise.uscc,
            "year": None,
            "status": "no_score",
            "line": None,
            "grade": None,
            "block": None,
            "eligibility": None,
            "steps": [],
        }
    return {
        "product": product.pk,
        "uscc": enterprise.uscc,
        "year": row["year"],
        "status": row["status"],
        "line": row["line"],
        "grade": row["grade"],
        "block": row["block"],
        "eligibility": row.get("eligibility"),
        "steps": explain(row, _lang(request)),
    }


class CalibrationIn(Schema):
    target_rate: float


class MonitorOut(Schema):
    outcomes: list[dict[str, Any]]
    proposal: list[dict[str, Any]]
    drift: dict[str, Any]


@router.get("/products/{product_id}/monitor", response=MonitorOut)
def product_monitor(request: HttpRequest, product_id: int, target_rate: float = 0.02):
    """The product's bank: default rate by grade, the calibration proposal at
    `target_rate` (0–1), and the PSI of points and lines between the last two years."""
    from innopoints.finance import calibration

    product = access.get_visible_product(request.user, product_id)
    if not access.can_manage_product(request.user, product):
        raise PermissionDenied("only the product's bank monitors it")
    if not 0 < target_rate < 1:
        raise ApiError(400, "target_rate：须在 0–1 之间 / must be within 0–1", "invalid")
    _doc, proposal = calibration.calibrate(product, target_rate)
    return {
        "outcomes": calibration.outcomes(product).to_dicts(),
        "proposal": proposal,
        "drift": calibration.drift(product, access.product_zones(product)),
    }


@router.post("/products/{product_id}/calibration", response=ProductOut)
def calibrate_product(request: HttpRequest, product_id: int, payload: CalibrationIn):
    """Apply the calibration proposal at `target_rate` to the product's table (audited)."""
    product = access.get_visible_product(request.user, product_id)
    if not access.can_manage_product(request.user, product):
        raise PermissionDenied("only the product's bank calibrates it")
    product, _rows = _call(actions.do_calibrate_product, request.user, product, payload.target_rate)
    return product


# ---------------------------------------------------------------------------- loans


@router.get("/loans", response=list[LoanOut])
@paginate(LimitOffsetPagination)
def list_loans(request: HttpRequest, status: str = ""):
    """Loans in the caller's scope, newest first; `status` filters."""
    qs = access.visible_loans(request.user)
    if status in Loan.Status.values:
        qs = qs.filter(status=status)
    elif status:
        qs = qs.none()
    return qs.order_by("-applied_at", "-id")


@router.get("/loans/{loan_id}", response=LoanOut)
def get_loan(request: HttpRequest, loan_id: int):
    """One loan (a bank's read of the applicant is audited)."""
    loan = access.get_visible_loan(request.user, loan_id)
    note_read(request.user, loan.enterprise)
    return loan


@router.post("/loans", response={201: LoanOut})
def apply_loan(request: HttpRequest, payload: LoanIn):
    """The firm applies for a product (the suggested line is kept with the application)."""
    firm = access.own_enterprise(request.user)
    if firm is None:
        raise PermissionDenied("only a firm applies")
    product = access.get_visible_product(request.user, payload.product)
    if not access.can_apply(request.user, product):
        raise PermissionDenied("only a firm applies")
    loan = _call(
        actions.do_apply_loan,
        request.user,
        firm,
        product,
        payload.amount,
        payload.term_months,
        payload.purpose,
        payload.contact,
        payload.credit_share,
    )
    return Status(201, loan)


def _bank_loan(request: HttpRequest, loan_id: int):
    loan = access.get_visible_loan(request.user, loan_id)
    if not access.can_handle_loan(request.user, loan):
        raise PermissionDenied("only the lending bank handles the loan")
    return loan


@router.post("/loans/{loan_id}/decision", response=LoanOut)
def decide_loan(request: HttpRequest, loan_id: int, payload: DecisionIn):
    """The bank approves (amount, rate, term) or rejects (reason)."""
    loan = _bank_loan(request, loan_id)
    return _call(
        actions.do_decide_loan,
        request.user,
        loan,
        payload.approve,
        amount=payload.amount,
        rate=payload.rate,
        term_months=payload.term_months,
        reason=payload.reason,
    )


@router.post("/loans/{loan_id}/disbursement", response=LoanOut)
def disburse_loan(request: HttpRequest, loan_id: int, payload: DisbursementIn):
    """The bank pays out at most the approved amount; the schedule is created."""
    loan = _bank_loan(request, loan_id)
    return _call(actions.do_disburse_loan, request.user, loan, payload.amount, payload.on)


@router.post("/loans/{loan_id}/repayments", response=LoanOut)
def repay_loan(request: HttpRequest, loan_id: int, payload: RepaymentIn):
    """The bank records a repayment (refused after settlement or above the outstanding)."""
    loan = _bank_loan(request, loan_id)
    _call(
        actions.do_record_repayment,
        request.user,
        loan,
        payload.paid_on,
        payload.principal,
        payload.interest,
    )
    return access.get_visible_loan(request.user, loan_id)


@router.post("/loans/{loan_id}/status", response=LoanOut)
def change_loan_status(request: HttpRequest, loan_id: int, payload: StatusIn):
    """review / overdue / defaulted (the bank) or withdrawn (the firm)."""
    loan = access.get_visible_loan(request.user, loan_id)
    on = payload.on or access.today()
    if payload.status == "withdrawn":
        if not access.can_withdraw_loan(request.user, loan):
            raise PermissionDenied("only the firm withdraws its application")
        return _call(actions.do_withdraw_loan, request.user, loan)
    if not access.can_handle_loan(request.user, loan):
        raise PermissionDenied("only the lending bank handles the loan")
    if payload.status == "review":
        return _call(actions.do_start_review, request.user, loan)
    if payload.status == "overdue":
        return _call(actions.do_mark_overdue, request.user, loan, on)
    return _call(actions.do_mark_default, request.user, loan, on)


class CoverIn(Schema):
    pool: int


class CoverOut(Schema):
    loan: int
    pool: int
    case: str
    ratio: float
    committed: float
    covered_until: dt.date


@router.post("/loans/{loan_id}/cover", response=CoverOut)
def cover_loan(request: HttpRequest, loan_id: int, payload: CoverIn):
    """The lending bank puts a running loan under a risk pool of its zone (409 when the
    pool cannot hold the commitment)."""
    loan = _bank_loan(request, loan_id)
    pool = access.get_visible_risk_pool(request.user, payload.pool)
    cover = _call(actions.do_cover_loan, request.user, pool, loan)
    return {
        "loan": cover.loan_id,
        "pool": cover.pool_id,
        "case": cover.case,
        "ratio": cover.ratio,
        "committed": cover.committed,
        "covered_until": cover.covered_until,
    }


class HistoryOut(Schema):
    read: int
    created: int
    skipped: int
    errors: list[str]


@router.post("/loan-history", response={200: HistoryOut, 400: HistoryOut})
def import_loan_history(request: HttpRequest, file: File[UploadedFile]):
    """The bank loads its book of past loans (.xlsx or .csv; see docs/finance.md): strict
    (any problem imports nothing and answers 400 with every problem), idempotent."""
    from innopoints.accounts.access import bank_id_of
    from innopoints.zones.models import Bank

    bank = Bank.objects.filter(pk=bank_id_of(request.user)).first()
    if bank is None:
        raise PermissionDenied("only a bank imports its loan history")
    outcome = _call(
        actions.do_import_loan_history, request.user, bank, file.read(), file.name or "upload"
    )
    body = {
        "read": outcome.read,
        "created": outcome.created,
        "skipped": outcome.skipped,
        "errors": outcome.errors,
    }
    return Status(400 if outcome.errors else 200, body)


# ---------------------------------------------------------------------------- pools, pledges


def _pool_out(pool) -> dict[str, Any]:
    position = actions.pool_position(pool)
    out = {f: getattr(pool, f) for f in RiskPoolOut.model_fields if hasattr(pool, f)}
    out.update({k: position[k] for k in ("balance", "committed", "available")})
    out["zone"] = pool.zone.code
    return out


@router.get("/riskpools", response=list[RiskPoolOut])
def list_risk_pools(request: HttpRequest):
    """Risk-compensation pools with balance, commitments and what is available."""
    return [_pool_out(p) for p in access.visible_risk_pools(request.user).select_related("zone")]


@router.get("/pledges", response=list[PledgeOut])
@paginate(LimitOffsetPagination)
def list_pledges(request: HttpRequest):
    """IP pledges in the caller's scope."""
    return access.visible_pledges(request.user).order_by("-registered_on", "-id")


class LicenceOut(Schema):
    id: int
    enterprise: str
    financier: str
    contract_no: str
    licence_fee: float
    paid_on: dt.date
    fee_rate: float
    term_months: int
    every_months: int
    items: list[str]
    total: float
    paid: float
    remaining: float
    arrears: float


def _licence_out(licence) -> dict[str, Any]:
    out = {f: getattr(licence, f) for f in LicenceOut.model_fields if hasattr(licence, f)}
    out.update(actions.licence_position(licence))
    out["enterprise"] = licence.enterprise.uscc
    out["items"] = [i.number for i in licence.items.all()]
    return out


@router.get("/licences", response=list[LicenceOut])
def list_licences(request: HttpRequest):
    """Licence-back contracts with usage fees paid, remaining and in arrears."""
    qs = access.visible_licences(request.user).prefetch_related("items", "instalments")
    return [_licence_out(lic) for lic in qs[:500]]
