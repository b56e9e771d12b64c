"""Every finance write: validation, one transaction, an audit record.

Errors are `FinanceError` (400, bad input, bilingual message naming the field and value)
or `FinanceConflict` (409, the object's state does not allow it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from innopoints.audit.actions import build_event, diff_fields, record, record_many
from innopoints.engine.credit import CreditTableError, parse_table
from innopoints.engine.rules import validate_rule
from innopoints.enterprises.models import Enterprise
from innopoints.finance import access
from innopoints.finance.models import (
    Branch,
    Claim,
    Consent,
    Cover,
    Installment,
    IPItem,
    LicenceBack,
    LicenceInstalment,
    LicencePayment,
    Loan,
    LoanProduct,
    Officer,
    Pledge,
    PledgedItem,
    Repayment,
    RiskPool,
    Shortlisting,
    Valuation,
)
from innopoints.zones.models import Bank, Zone

CENT = Decimal("0.01")
MAX_CONSENT_DAYS = 3 * 366
IP_KINDS = set(IPItem.Kind.values)


class FinanceError(ValueError):
    """Bad input (HTTP 400)."""

    code = "invalid"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class FinanceConflict(FinanceError):
    """The object's state does not allow the change (HTTP 409)."""

    code = "conflict"


def money(value: Any, field: str, *, positive: bool = True) -> Decimal:
    """A 万元 amount with two decimals, or a bilingual error naming the field."""
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except Exception as exc:  # noqa: BLE001 - any unparsable value
        raise FinanceError(f"{field}：金额无效 / invalid amount ({value!r})", field) from exc
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        raise FinanceError(f"{field}：金额须大于 0 / amount must be above 0 ({value})", field)
    if amount >= Decimal("1e12"):
        raise FinanceError(f"{field}：金额过大 / amount too large ({value})", field)
    return amount


def _ratio(value: Any, field: str) -> Decimal:
    try:
        ratio = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001
        raise FinanceError(f"{field}：比例无效 / invalid ratio ({value!r})", field) from exc
    if not ratio.is_finite() or not Decimal(0) <= ratio <= Decimal(1):
        raise FinanceError(
            f"{field}：比例须在 0–1 之间 / ratio must be within 0–1 ({value})", field
        )
    return ratio.quantize(Decimal("0.001"))


def text(value: Any, limit: int = 200) -> str:
    """User text as stored: NUL characters dropped (PostgreSQL refuses them), trimmed, cut."""
    return str(value or "").replace("\x00", "").strip()[:limit]


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months (the last day of a shorter month)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ---------------------------------------------------------------------------- consent


def do_grant_consent(
    actor, enterprise: Enterprise, bank: Bank | None, valid_from: dt.date, valid_until: dt.date
) -> Consent:
    """The firm grants one partner bank (or all, `bank=None`) access for a period."""
    if valid_until < valid_from:
        raise FinanceError(
            f"valid_until：截止日早于起始日 / ends before it starts ({valid_until} < {valid_from})",
            "valid_until",
        )
    if valid_until < access.today():
        raise FinanceError(
            f"valid_until：截止日已过 / the period has already ended ({valid_until})", "valid_until"
        )
    if (valid_until - valid_from).days > MAX_CONSENT_DAYS:
        raise FinanceError(
            "valid_until：授权期限不得超过 3 年 / a consent lasts at most 3 years", "valid_until"
        )
    if bank is not None and not access.banks_for_consent(enterprise).filter(pk=bank.pk).exists():
        raise FinanceError(
            f"bank：{bank.name} 不是本园区合作银行 / not a partner bank of the zone", "bank"
        )
    with transaction.atomic():
        consent = Consent.objects.create(
            enterprise=enterprise,
            bank=bank,
            valid_from=valid_from,
            valid_until=valid_until,
            granted_by=actor,
        )
        record(
            actor,
            "finance.consent.grant",
            consent,
            zone=enterprise.zone,
            detail={
                "enterprise": enterprise.uscc,
                "bank": bank.code if bank else "*",
                "valid_from": valid_from,
                "valid_until": valid_until,
            },
        )
    return consent


def do_revoke_consent(actor, consent: Consent) -> Consent:
    """Revoke a consent now (bank access under it ends immediately)."""
    with transaction.atomic():
        consent = Consent.objects.select_for_update().get(pk=consent.pk)
        if consent.revoked_at is not None:
            raise FinanceConflict("该授权已撤销 / this consent is already revoked")
        consent.revoked_at = timezone.now()
        consent.revoked_by = actor
        consent.save(update_fields=["revoked_at", "revoked_by"])
        record(
            actor,
            "finance.consent.revoke",
            consent,
            zone=consent.enterprise.zone,
            detail={"enterprise": consent.enterprise.uscc},
        )
    return consent


# ---------------------------------------------------------------------------- branches


def do_save_branch(
    actor, bank: Bank, code: str, name: str, region_code: str = "", zone=None
) -> Branch:
    """Create or rename one of the bank's branches."""
    code, name = text(code, 32).lower(), text(name, 100)
    if not code or not name:
        raise FinanceError("code/name：必填 / required", "code")
    if region_code and not (len(region_code) == 6 and region_code.isdigit()):
        raise FinanceError(
            f"region_code：须为 6 位数字 / six digits ({region_code})", "region_code"
        )
    if zone is not None and not bank.zones.filter(pk=zone.pk).exists():
        raise FinanceError("zone：不是本行合作园区 / not a partner zone of the bank", "zone")
    with transaction.atomic():
        branch, created = Branch.objects.update_or_create(
            bank=bank,
            code=code,
            defaults={"name": name, "region_code": text(region_code, 6), "zone": zone},
        )
        record(
            actor,
            "finance.branch.create" if created else "finance.branch.update",
            branch,
            zone=zone,
            detail={"bank": bank.code, "name": branch.name},
        )
    return branch


def do_assign_officer(actor, user, bank: Bank, branch: Branch | None, title: str = "") -> Officer:
    """Place a bank user of `bank` in a branch with a title."""
    from innopoints.accounts.access import bank_id_of

    if bank_id_of(user) != bank.pk:
        raise FinanceError("user：不是本行用户 / not a user of the bank", "user")
    if branch is not None and branch.bank_id != bank.pk:
        raise FinanceError("branch：不是本行分支 / not a branch of the bank", "branch")
    with transaction.atomic():
        officer, _created = Officer.objects.update_or_create(
            user=user, defaults={"bank": bank, "branch": branch, "title": text(title, 60)}
        )
        record(
            actor,
            "finance.officer.assign",
            officer,
            detail={"user": user.username, "branch": branch.code if branch else "", "title": title},
        )
    return officer


# ---------------------------------------------------------------------------- products

PRODUCT_FIELDS = (
    "code",
    "name",
    "kind",
    "amount_min",
    "amount_max",
    "term_min_months",
    "term_max_months",
    "rate_min",
    "rate_max",
    "eligibility",
    "credit_table",
    "ltv_max",
    "active",
)


def validate_product(data: dict[str, Any]) -> dict[str, Any]:
    """Checked product fields (raises `FinanceError` naming the field)."""
    out = dict(data)
    if out.get("kind") not in LoanProduct.Kind.values:
        raise FinanceError(f"kind：未知产品类型 / unknown kind ({out.get('kind')!r})", "kind")
    out["amount_min"] = money(out.get("amount_min", 0), "amount_min", positive=False)
    out["amount_max"] = money(out.get("amount_max"), "amount_max")
    if out["amount_max"] < out["amount_min"]:
        raise FinanceError("amount_max：上限低于下限 / maximum below minimum", "amount_max")
    for lo, hi in (("term_min_months", "term_max_months"), ("rate_min", "rate_max")):
        if out.get(lo) is None or out.get(hi) is None or out[lo] < 0 or out[hi] < out[lo]:
            raise FinanceError(f"{hi}：区间无效 / invalid range ({out.get(lo)}–{out.get(hi)})", hi)
    if out["rate_max"] > 36:
        raise FinanceError("rate_max：利率过高 / rate above 36 %", "rate_max")
    try:
        parse_table(out.get("credit_table") or {})
    except CreditTableError as exc:
        raise FinanceError("credit_table：" + "；".join(exc.problems), "credit_table") from exc
    if out.get("eligibility"):
        problems = validate_rule(out["eligibility"])
        if problems:
            raise FinanceError(
                "eligibility：" + "；".join(str(p) for p in problems[:5]), "eligibility"
            )
    ltv = out.get("ltv_max") or {}
    if not isinstance(ltv, dict):
        raise FinanceError("ltv_max：须为对象 / must be an object", "ltv_max")
    for kind, value in ltv.items():
        if kind not in IP_KINDS:
            raise FinanceError(f"ltv_max：未知知识产权类型 / unknown IP type ({kind!r})", "ltv_max")
        ltv[kind] = float(_ratio(value, f"ltv_max.{kind}"))
    out["ltv_max"] = ltv
    return out


def do_save_product(actor, bank: Bank, data: dict[str, Any], product: LoanProduct | None = None):
    """Create or update one of the bank's products."""
    data = validate_product({k: v for k, v in data.items() if k in PRODUCT_FIELDS})
    with transaction.atomic():
        if product is None:
            if LoanProduct.objects.filter(bank=bank, code=data["code"]).exists():
                raise FinanceConflict(f"code：产品代码已存在 / code exists ({data['code']})")
            product = LoanProduct.objects.create(bank=bank, **data)
            record(actor, "finance.product.create", product, detail={"bank": bank.code})
            return product
        if LoanProduct.objects.filter(bank=bank, code=data["code"]).exclude(pk=product.pk).exists():
            raise FinanceConflict(f"code：产品代码已存在 / code exists ({data['code']})")
        before = {f: getattr(product, f) for f in PRODUCT_FIELDS}
        for key, value in data.items():
            setattr(product, key, value)
        product.save()
        changes = diff_fields(before, {f: getattr(product, f) for f in PRODUCT_FIELDS})
        record(actor, "finance.product.update", product, changes=changes)
    return product


def do_calibrate_product(actor, product: LoanProduct, target_rate: float):
    """Scale the grades whose observed default rate exceeds `target_rate` (see
    `finance.calibration`); returns the product and the per-grade changes."""
    from innopoints.finance.calibration import calibrate

    try:
        doc, rows = calibrate(product, float(target_rate))
    except (TypeError, ValueError) as exc:
        raise FinanceError(str(exc), "target_rate") from exc
    data = {f: getattr(product, f) for f in PRODUCT_FIELDS}
    data["credit_table"] = doc
    with transaction.atomic():
        product = do_save_product(actor, product.bank, data, product)
        record(
            actor,
            "finance.product.calibrate",
            product,
            detail={"target_rate": float(target_rate), "grades": rows},
        )
    return product, rows


# ---------------------------------------------------------------------------- shortlist


def do_note_shortlist(
    actor, product: LoanProduct, year: int, rows: pl.DataFrame, *, exported: bool = False
) -> int:
    """Record that the bank saw (or exported) these shortlisted firms: one shortlisting per
    firm (the firm sees it) and one audited read per firm. `rows`: enterprise_id, rank,
    line, zone_id. Returns the number of firms."""
    if rows.is_empty():
        return 0
    data = rows.select("enterprise_id", "rank", "line", "zone_id", "uscc").to_dicts()
    ids = [r["enterprise_id"] for r in data]
    with transaction.atomic():
        existing = {
            s.enterprise_id: s
            for s in Shortlisting.objects.filter(product=product, year=year, enterprise_id__in=ids)
        }
        new, changed = [], []
        now = timezone.now()
        for r in data:
            line = None if r["line"] is None else Decimal(str(r["line"])).quantize(CENT)
            s = existing.get(r["enterprise_id"])
            if s is None:
                new.append(
                    Shortlisting(
                        product=product,
                        enterprise_id=r["enterprise_id"],
                        year=year,
                        rank=r["rank"],
                        suggested_line=line,
                        exported=exported,
                    )
                )
            else:
                s.rank, s.suggested_line, s.last_at = r["rank"], line, now
                s.exported = s.exported or exported
                changed.append(s)
        Shortlisting.objects.bulk_create(new)
        Shortlisting.objects.bulk_update(changed, ["rank", "suggested_line", "last_at", "exported"])
        record_many(
            [
                build_event(
                    actor,
                    "enterprise.read",
                    object_type="enterprises.enterprise",
                    object_id=str(r["enterprise_id"]),
                    object_repr=r["uscc"],
                    zone=Zone(pk=r["zone_id"]),
                    detail={
                        "bank_id": product.bank_id,
                        "via": "shortlist_export" if exported else "shortlist",
                        "product": product.code,
                    },
                )
                for r in data
            ]
        )
    return len(data)


# ---------------------------------------------------------------------------- loans

TRANSITIONS: dict[str, set[str]] = {
    Loan.Status.APPLIED: {Loan.Status.REVIEW, Loan.Status.WITHDRAWN},
    Loan.Status.REVIEW: {Loan.Status.APPROVED, Loan.Status.REJECTED, Loan.Status.WITHDRAWN},
    Loan.Status.APPROVED: {Loan.Status.DISBURSED, Loan.Status.WITHDRAWN},
    Loan.Status.DISBURSED: {Loan.Status.OVERDUE, Loan.Status.REPAID, Loan.Status.DEFAULTED},
    Loan.Status.OVERDUE: {Loan.Status.DISBURSED, Loan.Status.REPAID, Loan.Status.DEFAULTED},
    Loan.Status.REJECTED: set(),
    Loan.Status.WITHDRAWN: set(),
    Loan.Status.REPAID: set(),
    Loan.Status.DEFAULTED: set(),
}


def _lock(loan: Loan) -> Loan:
    return (
        Loan.objects.select_for_update()
        .select_related("enterprise__zone", "product")
        .get(pk=loan.pk)
    )


def _move(actor, loan: Loan, target: str, detail: dict[str, Any], fields: list[str]) -> Loan:
    """Check the transition, save, audit."""
    if target not in TRANSITIONS[loan.status]:
        raise FinanceConflict(
            f"贷款状态为 {loan.status}，不能变为 {target} / a {loan.status} loan cannot become {target}"
        )
    before = loan.status
    loan.status = target
    loan.save(update_fields=["status", *fields])
    record(
        actor,
        f"finance.loan.{target}",
        loan,
        zone=loan.zone,
        changes={"status": [before, target]},
        detail={k: v for k, v in detail.items()},
    )
    return loan


def do_apply_loan(
    actor,
    enterprise: Enterprise,
    product: LoanProduct,
    amount: Any,
    term_months: int,
    purpose: str,
    contact: str = "",
    credit_share: Any = 1,
) -> Loan:
    """The firm applies (short form); the suggested line and its points are kept with it."""
    from innopoints.finance.credit import firm_line

    amount = money(amount, "amount")
    if not product.active:
        raise FinanceConflict("该产品已停办 / the product is no longer offered")
    if not product.amount_min <= amount <= product.amount_max:
        raise FinanceError(
            f"amount：须在 {product.amount_min}–{product.amount_max} 万元之间 / must be within "
            f"{product.amount_min}–{product.amount_max} (got {amount})",
            "amount",
        )
    if not product.term_min_months <= term_months <= product.term_max_months:
        raise FinanceError(
            f"term_months：须在 {product.term_min_months}–{product.term_max_months} 月之间 / "
            f"must be within {product.term_min_months}–{product.term_max_months} "
            f"(got {term_months})",
            "term_months",
        )
    purpose, contact = text(purpose, 200), text(contact, 60)
    if not purpose:
        raise FinanceError("purpose：请填写用途 / the purpose is required", "purpose")
    share = _ratio(credit_share, "credit_share")
    row = firm_line(product, enterprise)
    try:
        return _create_application(
            actor, enterprise, product, amount, term_months, purpose, contact, share, row
        )
    except IntegrityError as exc:  # a concurrent application for the same product
        raise FinanceConflict(
            "该产品已有在办申请 / an application for this product is open"
        ) from exc


def _create_application(
    actor, enterprise, product, amount, term_months, purpose, contact, share, row
) -> Loan:
    open_states = [Loan.Status.APPLIED, Loan.Status.REVIEW, Loan.Status.APPROVED]
    with transaction.atomic():
        if Loan.objects.filter(
            enterprise=enterprise, product=product, status__in=open_states
        ).exists():
            raise FinanceConflict("该产品已有在办申请 / an application for this product is open")
        line = row.get("line") if row else None
        loan = Loan.objects.create(
            enterprise=enterprise,
            zone=enterprise.zone,
            bank=product.bank,
            product=product,
            amount_requested=amount,
            term_months=term_months,
            purpose=purpose,
            contact=contact,
            credit_share=share,
            score_year=row.get("year") if row else None,
            points=row.get("total") if row else None,
            band=(row.get("band") or "") if row else "",
            grade=(row.get("grade") or "") if row else "",
            suggested_line=None if line is None else Decimal(str(line)).quantize(CENT),
        )
        record(
            actor,
            "finance.loan.applied",
            loan,
            zone=enterprise.zone,
            detail={"product": product.code, "amount": amount, "suggested_line": line},
        )
    return loan


def do_withdraw_loan(actor, loan: Loan) -> Loan:
    """The firm withdraws an application before disbursement."""
    with transaction.atomic():
        return _move(actor, _lock(loan), Loan.Status.WITHDRAWN, {}, [])


def _take(actor, loan: Loan) -> list[str]:
    """The reviewing officer (and their branch) become the loan's handlers."""
    if not getattr(actor, "is_authenticated", False):
        return []
    loan.officer = actor
    officer = Officer.objects.filter(user=actor, bank_id=loan.bank_id).first()
    loan.branch_id = officer.branch_id if officer else None
    return ["officer", "branch"]


def do_start_review(actor, loan: Loan) -> Loan:
    """The bank takes the application into review (the officer and branch are kept)."""
    with transaction.atomic():
        loan = _lock(loan)
        return _move(actor, loan, Loan.Status.REVIEW, {}, _take(actor, loan))


def do_decide_loan(
    actor,
    loan: Loan,
    approve: bool,
    *,
    amount: Any = None,
    rate: Any = None,
    term_months: int | None = None,
    reason: str = "",
) -> Loan:
    """Approve with amount, rate and term, or reject with a reason (from applied or review)."""
    with transaction.atomic():
        loan = _lock(loan)
        if loan.status not in (Loan.Status.APPLIED, Loan.Status.REVIEW):
            raise FinanceConflict(
                f"贷款状态为 {loan.status}，不能审批 / a {loan.status} loan cannot be decided"
            )
        if loan.status == Loan.Status.APPLIED:
            _move(actor, loan, Loan.Status.REVIEW, {}, _take(actor, loan))
        product = loan.product
        loan.decided_at, loan.decided_by = timezone.now(), actor
        if not approve:
            reason = text(reason, 300)
            if not reason:
                raise FinanceError("reason：拒绝须说明理由 / a rejection needs a reason", "reason")
            loan.reject_reason = reason
            return _move(
                actor,
                loan,
                Loan.Status.REJECTED,
                {"reason": loan.reject_reason},
                ["reject_reason", "decided_at", "decided_by"],
            )
        amount = money(amount, "amount")
        if amount > product.amount_max:
            raise FinanceError(
                f"amount：超过产品上限 {product.amount_max} 万元 / above the product maximum "
                f"({amount})",
                "amount",
            )
        try:
            rate_d = Decimal(str(rate)).quantize(Decimal("0.001"))
        except Exception as exc:  # noqa: BLE001
            raise FinanceError(f"rate：利率无效 / invalid rate ({rate!r})", "rate") from exc
        if not rate_d.is_finite() or not product.rate_min <= rate_d <= product.rate_max:
            raise FinanceError(
                f"rate：须在 {product.rate_min}–{product.rate_max}% 之间 / must be within "
                f"{product.rate_min}–{product.rate_max} (got {rate})",
                "rate",
            )
        term = term_months or loan.term_months
        if not product.term_min_months <= term <= product.term_max_months:
            raise FinanceError(
                f"term_months：超出产品期限 / outside the product's terms ({term})", "term_months"
            )
        loan.amount_approved, loan.rate, loan.term_approved_months = amount, rate_d, term
        return _move(
            actor,
            loan,
            Loan.Status.APPROVED,
            {"amount": amount, "rate": rate_d, "term_months": term},
            ["amount_approved", "rate", "term_approved_months", "decided_at", "decided_by"],
        )


def schedule(
    amount: Decimal, rate: Decimal, months: int, start: dt.date
) -> list[tuple[int, dt.date, Decimal, Decimal]]:
    """Equal-principal monthly schedule: (number, due date, principal, interest)."""
    base = (amount / months).quantize(CENT, rounding=ROUND_HALF_UP)
    out, left = [], amount
    for n in range(1, months + 1):
        principal = left if n == months else min(base, left)
        interest = (left * rate / Decimal(1200)).quantize(CENT, rounding=ROUND_HALF_UP)
        out.append((n, add_months(start, n), principal, interest))
        left -= principal
    return out


def do_disburse_loan(actor, loan: Loan, amount: Any, on: dt.date) -> Loan:
    """Pay out at most the approved amount; the repayment schedule is created."""
    amount = money(amount, "amount")
    with transaction.atomic():
        loan = _lock(loan)
        if loan.status != Loan.Status.APPROVED:
            raise FinanceConflict(
                f"只有已批准的贷款可放款 / only an approved loan is disbursed ({loan.status})"
            )
        if amount > loan.amount_approved:
            raise FinanceError(
                f"amount：放款额超过批准额 {loan.amount_approved} 万元 / above the approved "
                f"amount ({amount})",
                "amount",
            )
        if on < loan.applied_at.date() or on > access.today() + dt.timedelta(days=1):
            raise FinanceError(f"on：放款日期无效 / invalid disbursement date ({on})", "on")
        loan.amount_disbursed, loan.disbursed_on = amount, on
        loan.maturity_on = add_months(on, loan.term_approved_months)
        Installment.objects.bulk_create(
            Installment(loan=loan, number=n, due_on=d, principal=p, interest=i)
            for n, d, p, i in schedule(amount, loan.rate, loan.term_approved_months, on)
        )
        return _move(
            actor,
            loan,
            Loan.Status.DISBURSED,
            {"amount": amount, "on": on},
            ["amount_disbursed", "disbursed_on", "maturity_on"],
        )


def do_record_repayment(
    actor, loan: Loan, paid_on: dt.date, principal: Any, interest: Any = 0
) -> Repayment:
    """A payment on a running loan; the loan is repaid when nothing is outstanding."""
    principal = money(principal, "principal", positive=False)
    interest = money(interest or 0, "interest", positive=False)
    if principal == 0 and interest == 0:
        raise FinanceError("principal：还款额须大于 0 / the payment must be above 0", "principal")
    with transaction.atomic():
        loan = _lock(loan)
        if loan.status not in (Loan.Status.DISBURSED, Loan.Status.OVERDUE):
            raise FinanceConflict(
                f"贷款状态为 {loan.status}，不能还款 / no repayment on a {loan.status} loan"
            )
        if paid_on < loan.disbursed_on:
            raise FinanceError(
                f"paid_on：早于放款日 / before the disbursement ({paid_on})", "paid_on"
            )
        if paid_on > access.today() + dt.timedelta(days=1):
            raise FinanceError(f"paid_on：在未来 / in the future ({paid_on})", "paid_on")
        if principal > loan.outstanding:
            raise FinanceError(
                f"principal：超过未还本金 {loan.outstanding} 万元 / above the outstanding "
                f"principal ({principal})",
                "principal",
            )
        payment = Repayment.objects.create(
            loan=loan, paid_on=paid_on, principal=principal, interest=interest, recorded_by=actor
        )
        left = principal
        for inst in loan.installments.filter(paid__lt=F("principal")).order_by("number"):
            take = min(left, inst.principal - inst.paid)
            if take <= 0:
                break
            inst.paid += take
            inst.save(update_fields=["paid"])
            left -= take
        loan.principal_repaid += principal
        fields = ["principal_repaid"]
        record(
            actor,
            "finance.loan.repayment",
            loan,
            zone=loan.zone,
            detail={"paid_on": paid_on, "principal": principal, "interest": interest},
        )
        if loan.outstanding == 0:
            loan.settled_on = paid_on
            _move(actor, loan, Loan.Status.REPAID, {"on": paid_on}, [*fields, "settled_on"])
            _release_cover(loan)
        elif loan.status == Loan.Status.OVERDUE and not _late(loan, paid_on):
            _move(actor, loan, Loan.Status.DISBURSED, {"on": paid_on}, fields)
        else:
            loan.save(update_fields=fields)
    return payment


def _late(loan: Loan, on: dt.date) -> bool:
    return loan.installments.filter(due_on__lt=on, paid__lt=F("principal")).exists()


def do_mark_overdue(actor, loan: Loan, on: dt.date) -> Loan:
    """The bank marks a loan overdue: an installment due before `on` is unpaid."""
    if on > access.today() + dt.timedelta(days=1):
        raise FinanceError(f"on：在未来 / in the future ({on})", "on")
    with transaction.atomic():
        loan = _lock(loan)
        if loan.status == Loan.Status.DISBURSED and not _late(loan, on):
            raise FinanceError(
                f"on：{on} 前无到期未还分期 / no installment was due and unpaid before {on}", "on"
            )
        return _move(actor, loan, Loan.Status.OVERDUE, {"on": on}, [])


def do_mark_default(actor, loan: Loan, on: dt.date) -> Loan:
    """The bank declares a default; the loss is the outstanding principal and a covered
    loan's claim on its risk pool is computed."""
    with transaction.atomic():
        loan = _lock(loan)
        if on < (loan.disbursed_on or on) or on > access.today() + dt.timedelta(days=1):
            raise FinanceError(f"on：日期无效 / invalid date ({on})", "on")
        loan.defaulted_on, loan.loss = on, loan.outstanding
        _move(
            actor,
            loan,
            Loan.Status.DEFAULTED,
            {"on": on, "loss": loan.loss},
            ["defaulted_on", "loss"],
        )
        cover = Cover.objects.select_related("pool").filter(loan=loan, released_at=None).first()
        if cover is not None:
            _file_claim(actor, cover, loan)
    return loan


# ---------------------------------------------------------------------------- risk pools

POOL_FIELDS = (
    "name",
    "size",
    "cover_part_credit",
    "cover_mostly_credit",
    "cover_first_loan",
    "part_credit_share",
    "mostly_credit_share",
    "per_loan_cap",
    "max_years",
    "guarantor_share",
    "active",
)


def do_create_risk_pool(actor, zone, data: dict[str, Any]) -> RiskPool:
    """A zone admin sets up a risk-compensation pool."""
    data = {k: v for k, v in data.items() if k in POOL_FIELDS}
    data["size"] = money(data.get("size"), "size")
    data["per_loan_cap"] = money(data.get("per_loan_cap"), "per_loan_cap")
    for key in (
        "cover_part_credit",
        "cover_mostly_credit",
        "cover_first_loan",
        "part_credit_share",
        "mostly_credit_share",
        "guarantor_share",
    ):
        if key in data:
            data[key] = _ratio(data[key], key)
    guarantor = data.get("guarantor_share", Decimal(0))
    for key in ("cover_part_credit", "cover_mostly_credit", "cover_first_loan"):
        if data.get(key, Decimal("0.9")) + guarantor > 1:
            raise FinanceError(
                f"{key}：赔付比例与担保比例之和超过 100% / cover ratio plus guarantor share "
                "exceeds 100 %",
                key,
            )
    if not 1 <= int(data.get("max_years", 2)) <= 10:
        raise FinanceError("max_years：须在 1–10 年之间 / must be within 1–10", "max_years")
    data["name"] = text(data.get("name"), 100)
    if not data["name"]:
        raise FinanceError("name：请填写名称 / the name is required", "name")
    with transaction.atomic():
        pool = RiskPool.objects.create(zone=zone, **data)
        record(actor, "finance.riskpool.create", pool, zone=zone, detail={"size": data["size"]})
    return pool


def pool_position(pool: RiskPool) -> dict[str, Decimal]:
    """Size, claims paid, balance, active commitments and what is still available."""
    claims = pool.claims.aggregate(s=Sum("pool_amount"))["s"] or Decimal(0)
    committed = pool.covers.filter(released_at=None).aggregate(s=Sum("committed"))["s"] or Decimal(
        0
    )
    balance = pool.size - claims
    return {
        "size": pool.size,
        "claims": claims,
        "balance": balance,
        "committed": committed,
        "available": balance - committed,
    }


def cover_case(pool: RiskPool, loan: Loan) -> tuple[str, Decimal] | None:
    """The case of a loan and the pool's ratio for it (None when not coverable)."""
    earlier = (
        Loan.objects.filter(enterprise_id=loan.enterprise_id, disbursed_on__isnull=False)
        .exclude(pk=loan.pk)
        .filter(disbursed_on__lte=loan.disbursed_on)
        .exists()
    )
    if not earlier:
        return "first_loan", pool.cover_first_loan
    if loan.credit_share >= pool.mostly_credit_share:
        return "mostly_credit", pool.cover_mostly_credit
    if loan.credit_share >= pool.part_credit_share:
        return "part_credit", pool.cover_part_credit
    return None


def do_cover_loan(actor, pool: RiskPool, loan: Loan) -> Cover:
    """Put a disbursed loan of the pool's zone under the pool; refused when the pool's
    available balance cannot hold the commitment."""
    with transaction.atomic():
        pool = RiskPool.objects.select_for_update().get(pk=pool.pk)
        loan = _lock(loan)
        if not pool.active:
            raise FinanceConflict("资金池已停用 / the pool is inactive")
        if loan.zone_id != pool.zone_id:
            raise FinanceError("loan：不属于该资金池的园区 / not a loan of the pool's zone", "loan")
        if loan.status not in (Loan.Status.DISBURSED, Loan.Status.OVERDUE):
            raise FinanceConflict(f"只有在贷贷款可纳入 / only a running loan ({loan.status})")
        if Cover.objects.filter(loan=loan).exists():
            raise FinanceConflict("该贷款已纳入资金池 / the loan is already covered")
        case = cover_case(pool, loan)
        if case is None:
            raise FinanceError(
                f"credit_share：信用占比 {loan.credit_share} 低于 {pool.part_credit_share} / "
                "credit share below the pool's minimum",
                "credit_share",
            )
        committed = min(case[1] * loan.amount_disbursed, pool.per_loan_cap).quantize(CENT)
        position = pool_position(pool)
        if committed > position["available"]:
            raise FinanceConflict(
                f"资金池余额不足：可用 {position['available']} 万元，需 {committed} 万元 / "
                f"over-commitment refused: {position['available']} available, {committed} needed"
            )
        cover = Cover.objects.create(
            pool=pool,
            loan=loan,
            case=case[0],
            ratio=case[1],
            committed=committed,
            covered_until=add_months(loan.disbursed_on, 12 * pool.max_years),
        )
        record(
            actor,
            "finance.riskpool.cover",
            cover,
            zone=pool.zone,
            detail={"loan": loan.pk, "case": case[0], "committed": committed},
        )
    return cover


def _release_cover(loan: Loan) -> None:
    Cover.objects.filter(loan=loan, released_at=None).update(released_at=timezone.now())


def claim_amounts(cover: Cover, loss: Decimal, on: dt.date) -> dict[str, Any]:
    """The split of a loss under a cover: pool (ratio × loss, capped), guarantor, bank."""
    pool = cover.pool
    steps = []
    if on > cover.covered_until:
        pool_amount = Decimal(0)
        steps.append(
            f"违约日 {on} 晚于保障期 {cover.covered_until} / default after the cover ended"
        )
    else:
        raw = (cover.ratio * loss).quantize(CENT)
        pool_amount = min(raw, pool.per_loan_cap)
        steps.append(f"{cover.case}: {cover.ratio} × {loss} = {raw}")
        if pool_amount < raw:
            steps.append(f"单笔上限 / per-loan cap {pool.per_loan_cap}")
    guarantor = (pool.guarantor_share * loss).quantize(CENT)
    bank = loss - pool_amount - guarantor
    steps.append(f"pool {pool_amount} / guarantor {guarantor} / bank {bank}")
    return {"pool": pool_amount, "guarantor": guarantor, "bank": bank, "steps": steps}


def _file_claim(actor, cover: Cover, loan: Loan) -> Claim:
    split = claim_amounts(cover, loan.loss, loan.defaulted_on)
    claim = Claim.objects.create(
        pool=cover.pool,
        loan=loan,
        loss=loan.loss,
        pool_amount=split["pool"],
        bank_amount=split["bank"],
        guarantor_amount=split["guarantor"],
        explanation=split["steps"],
    )
    cover.released_at = timezone.now()
    cover.save(update_fields=["released_at"])
    record(
        actor,
        "finance.riskpool.claim",
        claim,
        zone=cover.pool.zone,
        detail={"loan": loan.pk, "loss": loan.loss, "pool_amount": split["pool"]},
    )
    return claim


# ---------------------------------------------------------------------------- IP


def do_register_ip(
    actor,
    enterprise: Enterprise,
    kind: str,
    number: str,
    title: str,
    granted_on: dt.date | None = None,
    ipc_class: str = "",
    legal_status: str = IPItem.LegalStatus.VALID,
) -> IPItem:
    """Record one of the firm's patents, trademarks or software copyrights."""
    number, title = text(number, 40).upper(), text(title, 200)
    if kind not in IP_KINDS:
        raise FinanceError(f"kind：未知知识产权类型 / unknown IP type ({kind!r})", "kind")
    if not number or not title:
        raise FinanceError("number/title：编号和名称必填 / number and title are required", "number")
    if legal_status not in IPItem.LegalStatus.values:
        raise FinanceError(f"legal_status：无效 / invalid ({legal_status!r})", "legal_status")
    if granted_on and granted_on > access.today():
        raise FinanceError(f"granted_on：授权日在未来 / in the future ({granted_on})", "granted_on")
    try:
        with transaction.atomic():
            item = IPItem.objects.create(
                enterprise=enterprise,
                kind=kind,
                number=number,
                title=title,
                granted_on=granted_on,
                ipc_class=text(ipc_class, 20),
                legal_status=legal_status,
            )
            record(actor, "finance.ip.register", item, zone=enterprise.zone, detail={"kind": kind})
    except IntegrityError as exc:
        raise FinanceConflict(f"number：{number} 已登记 / already registered") from exc
    return item


def do_add_valuation(
    actor, item: IPItem, source: str, value: Any, valued_on: dt.date, appraiser: str = ""
) -> Valuation:
    """A valuation of an IP item (an appraiser's report or a bank model)."""
    if source not in Valuation.Source.values:
        raise FinanceError(f"source：无效 / invalid ({source!r})", "source")
    value = money(value, "value")
    if valued_on > access.today():
        raise FinanceError(f"valued_on：在未来 / in the future ({valued_on})", "valued_on")
    with transaction.atomic():
        valuation = Valuation.objects.create(
            item=item,
            source=source,
            value=value,
            valued_on=valued_on,
            appraiser=text(appraiser, 100),
        )
        record(
            actor,
            "finance.ip.valuation",
            valuation,
            zone=item.enterprise.zone,
            detail={"item": item.number, "value": value},
        )
    return valuation


def pledge_check(product: LoanProduct, items: Sequence[IPItem], amount: Decimal) -> dict:
    """Per item: value, the product's maximum LTV for its type, the loan it supports; and
    whether `amount` fits (raises `FinanceError` naming the item when an item cannot
    be pledged)."""
    rows, allowed = [], Decimal(0)
    for item in items:
        valuation = item.latest_valuation()
        if valuation is None:
            raise FinanceError(f"items：{item.number} 无评估价值 / has no valuation", "items")
        if item.legal_status != IPItem.LegalStatus.VALID:
            raise FinanceError(f"items：{item.number} 非有效状态 / is not valid", "items")
        ltv = Decimal(str((product.ltv_max or {}).get(item.kind, 0)))
        if ltv <= 0:
            raise FinanceError(
                f"items：该产品不接受 {item.kind} 质押 / the product takes no {item.kind}", "items"
            )
        supports = (valuation.value * ltv).quantize(CENT)
        allowed += supports
        rows.append({"item": item, "value": valuation.value, "ltv": ltv, "supports": supports})
    return {"rows": rows, "allowed": allowed, "fits": amount <= allowed}


def do_register_pledge(
    actor,
    product: LoanProduct,
    enterprise: Enterprise,
    items: Iterable[IPItem],
    registration_no: str,
    registered_on: dt.date,
    loan_amount: Any,
    loan: Loan | None = None,
) -> Pledge:
    """The pledgee bank registers a pledge; every item must be free (no active pledge)
    and the loan at most Σ value × the product's LTV for each item's type."""
    items = list(items)
    amount = money(loan_amount, "loan_amount")
    if not items:
        raise FinanceError("items：至少一项知识产权 / at least one IP item", "items")
    if any(i.enterprise_id != enterprise.pk for i in items):
        raise FinanceError("items：须为出质企业所有 / items must belong to the pledgor", "items")
    if amount > product.amount_max:
        raise FinanceError(
            f"loan_amount：超过产品上限 {product.amount_max} / above the product maximum",
            "loan_amount",
        )
    registration_no = text(registration_no, 40)
    if not registration_no:
        raise FinanceError("registration_no：必填 / required", "registration_no")
    check = pledge_check(product, items, amount)
    if not check["fits"]:
        raise FinanceError(
            f"loan_amount：{amount} 超过质押率上限 {check['allowed']} 万元 / above the maximum "
            f"loan-to-value ({check['allowed']})",
            "loan_amount",
        )
    try:
        with transaction.atomic():
            busy = PledgedItem.objects.filter(item__in=items, active=True).select_related("item")
            if busy:
                numbers = ", ".join(p.item.number for p in busy)
                raise FinanceConflict(f"items：{numbers} 已质押未解除 / already pledged")
            pledge = Pledge.objects.create(
                enterprise=enterprise,
                zone=enterprise.zone,
                bank=product.bank,
                product=product,
                loan=loan,
                registration_no=registration_no,
                registered_on=registered_on,
                loan_amount=amount,
                pledged_value=sum((r["value"] for r in check["rows"]), Decimal(0)),
            )
            PledgedItem.objects.bulk_create(
                PledgedItem(pledge=pledge, item=r["item"], value=r["value"], ltv_max=r["ltv"])
                for r in check["rows"]
            )
            record(
                actor,
                "finance.pledge.register",
                pledge,
                zone=enterprise.zone,
                detail={"items": [i.number for i in items], "loan_amount": amount},
            )
    except IntegrityError as exc:
        raise FinanceConflict("已质押或登记号重复 / already pledged or duplicate number") from exc
    return pledge


def do_release_pledge(actor, pledge: Pledge, on: dt.date) -> Pledge:
    """Release a pledge; its items may be pledged again."""
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if pledge.released_on is not None:
            raise FinanceConflict("质押已解除 / the pledge is already released")
        if on < pledge.registered_on:
            raise FinanceError(f"on：早于登记日 / before the registration ({on})", "on")
        pledge.released_on = on
        pledge.save(update_fields=["released_on"])
        pledge.items.update(active=False)
        record(actor, "finance.pledge.release", pledge, zone=pledge.zone, detail={"on": on})
    return pledge


# ---------------------------------------------------------------------------- licence-back


def licence_schedule(
    fee: Decimal, rate: Decimal, term_months: int, every_months: int, start: dt.date
) -> list[tuple[int, dt.date, Decimal]]:
    """Equal usage-fee instalments: total = fee × (1 + rate × term ÷ 12), every
    `every_months` from `start`; the last absorbs rounding."""
    count = max(1, math.ceil(term_months / every_months))
    total = (fee * (1 + rate / 100 * Decimal(term_months) / 12)).quantize(CENT)
    each = (total / count).quantize(CENT, rounding=ROUND_HALF_UP)
    out = []
    for n in range(1, count + 1):
        amount = total - each * (count - 1) if n == count else each
        out.append((n, add_months(start, min(n * every_months, term_months)), amount))
    return out


def do_create_licence_back(
    actor,
    enterprise: Enterprise,
    items: Sequence[IPItem],
    *,
    financier: str,
    bank: Bank | None,
    contract_no: str,
    licence_fee: Any,
    paid_on: dt.date,
    fee_rate: Any,
    term_months: int,
    every_months: int = 3,
) -> LicenceBack:
    """Record a licence-back contract and its usage-fee schedule."""
    fee = money(licence_fee, "licence_fee")
    try:
        rate = Decimal(str(fee_rate)).quantize(Decimal("0.001"))
    except Exception as exc:  # noqa: BLE001
        raise FinanceError(f"fee_rate：无效 / invalid ({fee_rate!r})", "fee_rate") from exc
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(36):
        raise FinanceError(
            f"fee_rate：须在 0–36% 之间 / must be within 0–36 ({fee_rate})", "fee_rate"
        )
    if not 1 <= term_months <= 120:
        raise FinanceError(
            f"term_months：须在 1–120 之间 / within 1–120 ({term_months})", "term_months"
        )
    if not 1 <= every_months <= 12:
        raise FinanceError(
            f"every_months：须在 1–12 之间 / within 1–12 ({every_months})", "every_months"
        )
    items = list(items)
    if not items or any(i.enterprise_id != enterprise.pk for i in items):
        raise FinanceError(
            "items：须为该企业的知识产权 / the firm's own IP items are needed", "items"
        )
    financier, contract_no = text(financier, 100), text(contract_no, 40)
    if not financier or not contract_no:
        raise FinanceError("financier/contract_no：必填 / required", "contract_no")
    try:
        with transaction.atomic():
            licence = LicenceBack.objects.create(
                enterprise=enterprise,
                zone=enterprise.zone,
                bank=bank,
                financier=financier,
                contract_no=contract_no,
                licence_fee=fee,
                paid_on=paid_on,
                fee_rate=rate,
                term_months=term_months,
                every_months=every_months,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            licence.items.set(items)
            LicenceInstalment.objects.bulk_create(
                LicenceInstalment(licence=licence, number=n, due_on=d, amount=a)
                for n, d, a in licence_schedule(fee, rate, term_months, every_months, paid_on)
            )
            record(
                actor,
                "finance.licence.create",
                licence,
                zone=enterprise.zone,
                detail={"fee": fee, "items": [i.number for i in items]},
            )
    except IntegrityError as exc:
        raise FinanceConflict(f"contract_no：{contract_no} 已存在 / exists") from exc
    return licence


def licence_position(licence: LicenceBack, on: dt.date | None = None) -> dict[str, Decimal]:
    """Total usage fees, paid, remaining and arrears (due before `on` and unpaid)."""
    on = on or access.today()
    rows = list(licence.instalments.all())
    total = sum((r.amount for r in rows), Decimal(0))
    paid = sum((r.paid for r in rows), Decimal(0))
    arrears = sum((r.amount - r.paid for r in rows if r.due_on < on), Decimal(0))
    return {"total": total, "paid": paid, "remaining": total - paid, "arrears": arrears}


def do_record_licence_payment(actor, licence: LicenceBack, paid_on: dt.date, amount: Any):
    """A usage-fee payment, allocated to the oldest open instalments; never above what
    remains."""
    amount = money(amount, "amount")
    with transaction.atomic():
        licence = LicenceBack.objects.select_for_update().get(pk=licence.pk)
        if paid_on < licence.paid_on:
            raise FinanceError(
                f"paid_on：早于合同付款日 / before the licence fee ({paid_on})", "paid_on"
            )
        remaining = licence_position(licence, paid_on)["remaining"]
        if amount > remaining:
            raise FinanceError(
                f"amount：超过未付使用费 {remaining} 万元 / above the remaining fees ({amount})",
                "amount",
            )
        payment = LicencePayment.objects.create(
            licence=licence,
            paid_on=paid_on,
            amount=amount,
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        left = amount
        for inst in licence.instalments.filter(paid__lt=F("amount")).order_by("number"):
            take = min(left, inst.amount - inst.paid)
            if take <= 0:
                break
            inst.paid += take
            inst.save(update_fields=["paid"])
            left -= take
        record(
            actor,
            "finance.licence.payment",
            licence,
            zone=licence.zone,
            detail={"paid_on": paid_on, "amount": amount},
        )
    return payment


def do_flag_overdue_loans(actor, on: dt.date) -> list[int]:
    """Mark overdue every running loan with an instalment due before `on` and unpaid (the
    daily batch); returns the ids of the loans flagged."""
    late = (
        Installment.objects.filter(
            loan__status=Loan.Status.DISBURSED, due_on__lt=on, paid__lt=F("principal")
        )
        .values_list("loan_id", flat=True)
        .distinct()
    )
    flagged = []
    for loan in Loan.objects.filter(pk__in=list(late)).order_by("pk"):
        with transaction.atomic():
            loan = _lock(loan)
            if loan.status == Loan.Status.DISBURSED:
                _move(actor, loan, Loan.Status.OVERDUE, {"on": on, "batch": True}, [])
                flagged.append(loan.pk)
    return flagged


# ---------------------------------------------------------------------------- loan history


@dataclass
class HistoryOutcome:
    """What an import of loan history did (nothing written when `errors`)."""

    read: int
    created: int
    skipped: int
    errors: list[str]


def do_import_loan_history(actor, bank: Bank, data: bytes, file_name: str) -> HistoryOutcome:
    """Load the bank's book of past loans (see `finance.history`): strict (any problem
    writes nothing), idempotent (rows already imported are skipped), audited."""
    from innopoints.finance.history import HistoryFileError, check, read_table

    try:
        raw = read_table(data, file_name)
        firms = dict(Enterprise.objects.filter(zone__in=bank.zones.all()).values_list("uscc", "id"))
        products = dict(LoanProduct.objects.filter(bank=bank).values_list("code", "id"))
        checked = check(raw, firms, products, access.today())
    except HistoryFileError as exc:
        raise FinanceError(str(exc), "file") from exc
    if checked.errors:
        return HistoryOutcome(checked.read, 0, 0, checked.errors)
    rows = checked.rows
    seen = set(
        Loan.objects.filter(bank=bank, imported=True).values_list(
            "enterprise_id", "product_id", "disbursed_on"
        )
    )
    zones = dict(
        Enterprise.objects.filter(pk__in=rows["enterprise_id"].to_list()).values_list(
            "id", "zone_id"
        )
    )
    tz = timezone.get_current_timezone()
    loans, schedules = [], []
    for r in rows.iter_rows(named=True):
        if (r["enterprise_id"], r["product_id"], r["disbursed_on"]) in seen:
            continue
        amount = money(r["amount"], "amount")
        repaid = (
            amount
            if r["status"] == "repaid"
            else money(r["principal_repaid"], "principal_repaid", positive=False)
        )
        start = dt.datetime.combine(r["disbursed_on"], dt.time(9), tzinfo=tz)
        loan = Loan(
            enterprise_id=r["enterprise_id"],
            zone_id=zones[r["enterprise_id"]],
            bank=bank,
            product_id=r["product_id"],
            status=r["status"],
            amount_requested=amount,
            term_months=r["term_months"],
            purpose="历史贷款导入 / imported history",
            credit_share=Decimal(str(r["credit_share"])).quantize(Decimal("0.001")),
            points=r["points"],
            band=text(r["band"], 32),
            grade=text(r["grade"], 32),
            applied_at=start,
            imported=True,
            amount_approved=amount,
            rate=Decimal(str(r["rate"])).quantize(Decimal("0.001")),
            term_approved_months=r["term_months"],
            decided_at=start,
            amount_disbursed=amount,
            disbursed_on=r["disbursed_on"],
            maturity_on=add_months(r["disbursed_on"], r["term_months"]),
            principal_repaid=repaid,
            settled_on=r["settled_on"] if r["status"] == "repaid" else None,
            defaulted_on=r["defaulted_on"] if r["status"] == "defaulted" else None,
            loss=amount - repaid if r["status"] == "defaulted" else None,
        )
        loans.append(loan)
        if r["status"] in ("disbursed", "overdue"):
            schedules.append((loan, repaid))
    with transaction.atomic():
        Loan.objects.bulk_create(loans)
        installments = []
        for loan, repaid in schedules:
            left = repaid
            for n, due, principal, interest in schedule(
                loan.amount_disbursed, loan.rate, loan.term_approved_months, loan.disbursed_on
            ):
                paid = min(left, principal)
                left -= paid
                installments.append(
                    Installment(
                        loan=loan,
                        number=n,
                        due_on=due,
                        principal=principal,
                        interest=interest,
                        paid=paid,
                    )
                )
        Installment.objects.bulk_create(installments, batch_size=2000)
        record_many(
            [
                build_event(
                    actor,
                    "finance.loan.imported",
                    loan,
                    zone=Zone(pk=loan.zone_id),
                    detail={"status": loan.status, "amount": loan.amount_disbursed},
                )
                for loan in loans
            ]
        )
        record(
            actor,
            "finance.loan.import",
            None,
            object_type="finance.loanimport",
            object_repr=file_name[:200],
            detail={
                "bank": bank.code,
                "read": checked.read,
                "created": len(loans),
                "skipped": rows.height - len(loans),
            },
        )
    return HistoryOutcome(checked.read, len(loans), rows.height - len(loans), [])
