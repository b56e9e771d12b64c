"""Every write of the zone services: validate, one transaction, an audit record.

Technology contracts are the one source of `tech_contract_amount` for the years the
registry covers: each contract write recomputes the zone's per-firm yearly totals in
Polars and writes them through the enterprise import path
(`enterprises.actions.apply_registry`), so only changed cells are written, each change is
audited with its old and new value, and the zone's `data_version` is bumped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone

from innopoints.audit.actions import diff_fields, record
from innopoints.enterprises.models import Enterprise, ImportBatch, YearlyData
from innopoints.services import tabular
from innopoints.services.models import (
    CONTRACT_TYPE_ZH,
    STAGE_ORDER,
    TECH_FIELDS,
    ContractType,
    Conversion,
    ConversionMode,
    DemandItem,
    HandlingRequest,
    IncomeBasis,
    IncomeEntry,
    KeyProject,
    Match,
    Maturity,
    ProcedureType,
    ProjectInvestment,
    ProjectMilestone,
    ProjectStage,
    ResearchResult,
    ResultStatus,
    ServiceDocument,
    SupplyItem,
    TechContract,
)
from innopoints.standard.codes import uscc_problem
from innopoints.zones.models import Zone


class ServiceError(ValueError):
    """A request that cannot be carried out, with the reason in Chinese and English."""

    def __init__(self, zh: str, en: str, code: str = "invalid") -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.code = zh, en, code

    def message(self, lang: str = "zh") -> str:
        """The reason in `lang`."""
        return self.en if lang.startswith("en") else self.zh


def _today() -> dt.date:
    return timezone.localdate()


def _require(ok: bool, zh: str, en: str, code: str = "invalid") -> None:
    if not ok:
        raise ServiceError(zh, en, code)


def _money(value: Any, zh: str, en: str, *, required: bool = True) -> float | None:
    if value is None or value == "":
        _require(not required, f"{zh}必填", f"{en} is required")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ServiceError(f"{zh}「{value}」不是数字", f"{en} '{value}' is not a number") from None
    _require(
        math.isfinite(number) and 0 <= number <= 1e9,
        f"{zh}「{value}」超出范围（0–10 亿万元）",
        f"{en} '{value}' is out of range (0–1e9 万元)",
    )
    return round(number, 2)


def _text(value: Any, zh: str, en: str, max_len: int, *, required: bool = True) -> str:
    text = ("" if value is None else str(value)).strip()
    _require(bool(text) or not required, f"{zh}必填", f"{en} is required")
    _require(
        len(text) <= max_len,
        f"{zh}超过 {max_len} 个字符",
        f"{en} is longer than {max_len} characters",
    )
    return text


def _snapshot(obj, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


# ============================================================================ contracts

CONTRACT_FIELDS = (
    "registration_no",
    "registered_on",
    "title",
    "type",
    "seller_name",
    "seller_uscc",
    "buyer_name",
    "buyer_uscc",
    "amount",
)
CONTRACT_COLUMNS = (
    tabular.Column("registration_no", "登记编号", "Registration number", required=True, max_len=40),
    tabular.Column("registered_on", "登记日期", "Registration date", "date", required=True),
    tabular.Column("title", "合同名称", "Title", required=True),
    tabular.Column("type", "合同类型", "Type", "enum", required=True, choices=CONTRACT_TYPE_ZH),
    tabular.Column("seller_name", "卖方名称", "Seller", required=True, max_len=100),
    tabular.Column("seller_uscc", "卖方统一社会信用代码", "Seller USCC", "uscc"),
    tabular.Column("buyer_name", "买方名称", "Buyer", required=True, max_len=100),
    tabular.Column("buyer_uscc", "买方统一社会信用代码", "Buyer USCC", "uscc"),
    tabular.Column("amount", "成交金额（万元）", "Amount (10k CNY)", "number", required=True),
)


def _clean_contract(data: dict[str, Any]) -> dict[str, Any]:
    out = {
        "registration_no": _text(
            data.get("registration_no"), "登记编号", "Registration number", 40
        ),
        "title": _text(data.get("title"), "合同名称", "Title", 200),
        "seller_name": _text(data.get("seller_name"), "卖方名称", "Seller", 100),
        "buyer_name": _text(data.get("buyer_name"), "买方名称", "Buyer", 100),
        "amount": _money(data.get("amount"), "成交金额", "Amount"),
    }
    kind = data.get("type")
    _require(
        kind in ContractType.values,
        f"合同类型「{kind}」无效（应为 {'、'.join(CONTRACT_TYPE_ZH.values())}）",
        f"Contract type '{kind}' is not one of {', '.join(ContractType.values)}",
    )
    out["type"] = kind
    day = data.get("registered_on")
    _require(isinstance(day, dt.date), "登记日期必填", "Registration date is required")
    out["registered_on"] = day
    for side, zh in (("seller", "卖方"), ("buyer", "买方")):
        code = (data.get(f"{side}_uscc") or "").strip().upper()
        _require(
            not code or uscc_problem(code) is None,
            f"{zh}统一社会信用代码「{code}」无效",
            f"{side.capitalize()} USCC '{code}' is not valid",
        )
        out[f"{side}_uscc"] = code
    return out


def _parties(zone: Zone, data: dict[str, Any]) -> dict[str, Any]:
    """Link the parties that are firms of the zone (by USCC)."""
    codes = [c for c in (data["seller_uscc"], data["buyer_uscc"]) if c]
    firms = dict(Enterprise.objects.filter(zone=zone, uscc__in=codes).values_list("uscc", "id"))
    return {
        "seller_id": firms.get(data["seller_uscc"]),
        "buyer_id": firms.get(data["buyer_uscc"]),
    }


def do_create_contract(actor, zone: Zone, *, source: str = "manual", match=None, **data):
    """Register a technology contract and refresh its year's `tech_contract_amount`."""
    clean = _clean_contract(data)
    _require(
        not TechContract.objects.filter(
            zone=zone, registration_no=clean["registration_no"]
        ).exists(),
        f"登记编号「{clean['registration_no']}」已存在",
        f"Registration number '{clean['registration_no']}' already exists",
        "conflict",
    )
    with transaction.atomic():
        contract = TechContract.objects.create(
            zone=zone, source=source, match=match, **clean, **_parties(zone, clean)
        )
        record(
            actor,
            "contract.create",
            contract,
            zone=zone,
            changes={k: [None, v] for k, v in diff_fields({}, clean).items()},
        )
        do_sync_contract_amounts(actor, zone, {contract.registered_on.year})
    return contract


def do_update_contract(actor, contract: TechContract, **data) -> TechContract:
    """Change a contract; the totals of its old and new year are refreshed."""
    current = _snapshot(contract, CONTRACT_FIELDS)
    clean = _clean_contract({**current, **data})
    if clean["registration_no"] != contract.registration_no:
        _require(
            not TechContract.objects.filter(
                zone_id=contract.zone_id, registration_no=clean["registration_no"]
            ).exists(),
            f"登记编号「{clean['registration_no']}」已存在",
            f"Registration number '{clean['registration_no']}' already exists",
            "conflict",
        )
    changes = diff_fields(current, clean)
    if not changes:
        return contract
    years = {contract.registered_on.year, clean["registered_on"].year}
    with transaction.atomic():
        for k, v in {**clean, **_parties(contract.zone, clean)}.items():
            setattr(contract, k, v)
        contract.save()
        record(actor, "contract.change", contract, zone=contract.zone, changes=changes)
        do_sync_contract_amounts(actor, contract.zone, years)
    return contract


def do_delete_contract(actor, contract: TechContract) -> None:
    """Remove a contract registered by mistake; its year's totals are refreshed."""
    zone, year = contract.zone, contract.registered_on.year
    with transaction.atomic():
        record(
            actor,
            "contract.delete",
            contract,
            zone=zone,
            changes={
                k: [v, None]
                for k, v in diff_fields({}, _snapshot(contract, CONTRACT_FIELDS)).items()
            },
        )
        contract.delete()
        do_sync_contract_amounts(actor, zone, {year})


def contract_totals(zone: Zone, years: Iterable[int]) -> pl.DataFrame:
    """Per zone firm and year: the total amount of the contracts it is a party of
    (seller or buyer; a contract between two zone firms counts for both)."""
    rows = TechContract.objects.filter(zone=zone, registered_on__year__in=list(years)).values_list(
        "id", "seller__uscc", "buyer__uscc", "registered_on", "amount"
    )
    frame = pl.DataFrame(
        list(rows),
        schema={
            "id": pl.Int64,
            "seller": pl.String,
            "buyer": pl.String,
            "registered_on": pl.Date,
            "amount": pl.Float64,
        },
        orient="row",
    )
    parties = (
        frame.unpivot(index=["id", "registered_on", "amount"], on=["seller", "buyer"])
        .filter(pl.col("value").is_not_null())
        .unique(["id", "value"])
    )
    return (
        parties.group_by(
            pl.col("value").alias("uscc"),
            pl.col("registered_on").dt.year().cast(pl.Int64).alias("year"),
        )
        .agg(pl.col("amount").sum().round(2).alias("tech_contract_amount"))
        .sort("uscc", "year")
    )


@dataclass
class SyncOutcome:
    """What a refresh of `tech_contract_amount` did."""

    years: list[int]
    changed: int = 0
    unchanged: int = 0
    pending: int = 0  # firm-years with contracts but no yearly row yet (picked up later)
    batch_id: int | None = None


def do_sync_contract_amounts(actor, zone: Zone, years: Iterable[int]) -> SyncOutcome:
    """Write the registry's per-firm totals to `tech_contract_amount` for `years`.

    For those years every firm with a yearly row gets its total (0 without contracts);
    firm-years without a yearly row are left for the next refresh (counted as pending).
    Writes go through `apply_registry`: only changed cells, each audited, version bumped.
    """
    from innopoints.enterprises.actions import apply_registry

    years = sorted({int(y) for y in years})
    outcome = SyncOutcome(years=years)
    if not years:
        return outcome
    totals = contract_totals(zone, years)
    existing = pl.DataFrame(
        list(
            YearlyData.objects.filter(enterprise__zone=zone, year__in=years).values_list(
                "enterprise__uscc", "year"
            )
        ),
        schema={"uscc": pl.String, "year": pl.Int64},
        orient="row",
    )
    outcome.pending = totals.join(existing, on=["uscc", "year"], how="anti").height
    incoming = existing.join(totals, on=["uscc", "year"], how="left").with_columns(
        pl.col("tech_contract_amount").fill_null(0.0)
    )
    if incoming.is_empty():
        return outcome
    digest = hashlib.sha256(incoming.sort("uscc", "year").write_csv().encode()).hexdigest()
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            zone=zone,
            file_name=f"技术合同登记汇总 / technology contract registry {years[0]}–{years[-1]}",
            sha256=digest,
            mode=ImportBatch.Mode.STRICT,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        counts = apply_registry(actor, zone, {"yearly": incoming}, batch)["yearly"]
        outcome.changed, outcome.unchanged = counts["changed"], counts["unchanged"]
        if outcome.changed:
            batch.counts = {"yearly": counts}
            batch.written = True
            batch.save(update_fields=["counts", "written"])
            outcome.batch_id = batch.pk
            record(
                actor,
                "contract.sync",
                batch,
                zone=zone,
                object_repr=batch.file_name,
                detail={"years": years, "changed": outcome.changed, "pending": outcome.pending},
            )
        else:
            batch.delete()  # nothing changed: no batch to keep
    return outcome


@dataclass
class ImportOutcome:
    """What a registry import did (nothing is written when a strict import has errors)."""

    rows: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    issues: list[dict] = field(default_factory=list)
    written: bool = False
    file_error: dict[str, str] | None = None


def _read(data: bytes, filename: str, columns) -> tuple[tabular.Parsed | None, ImportOutcome]:
    outcome = ImportOutcome()
    try:
        body = tabular.read_grid(data, filename)
    except tabular.FileProblem as exc:
        outcome.file_error = {"zh": exc.zh, "en": exc.en}
        return None, outcome
    parsed = tabular.parse(body, columns)
    outcome.rows = body.height
    outcome.issues = list(parsed.issues)
    return parsed, outcome


def _finish_import(actor, zone: Zone, action: str, filename: str, outcome: ImportOutcome) -> None:
    record(
        actor,
        action,
        zone,
        zone=zone,
        object_repr=filename[:200],
        detail={
            "rows": outcome.rows,
            "created": outcome.created,
            "changed": outcome.changed,
            "errors": len(outcome.issues),
            "written": outcome.written,
            "file_error": outcome.file_error,
        },
    )


def _update_if_changed(
    actor, zone: Zone, obj: Any, values: dict[str, Any], action: str, outcome: ImportOutcome
) -> None:
    """An import row for an existing object: write `values` if any differs (one audit
    record with old and new), and count the row as changed or unchanged."""
    changes = diff_fields(_snapshot(obj, values), values)
    if not changes:
        outcome.unchanged += 1
        return
    for key, value in values.items():
        setattr(obj, key, value)
    obj.save()
    record(actor, action, obj, zone=zone, changes=changes)
    outcome.changed += 1


def do_import_contracts(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Import contracts from .xlsx/.csv (strict: any error writes nothing). Rows are keyed
    by registration number: new ones are created, changed ones updated and audited."""
    parsed, outcome = _read(data, filename, CONTRACT_COLUMNS)
    if parsed is not None and not parsed.rows.is_empty():
        outcome.issues += tabular.duplicates(parsed.rows, "registration_no", "登记编号")
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "contract.import", filename, outcome)
        return outcome
    rows = parsed.rows.with_columns(
        pl.col(c).fill_null("") for c in ("seller_uscc", "buyer_uscc") if c in parsed.rows.columns
    )
    existing = {c.registration_no: c for c in TechContract.objects.filter(zone=zone)}
    firms = dict(Enterprise.objects.filter(zone=zone).values_list("uscc", "id"))
    years: set[int] = set()
    with transaction.atomic():
        new_objects = []
        for row in rows.iter_rows(named=True):
            row.pop("_row")
            clean = {k: row.get(k, "") for k in CONTRACT_FIELDS}
            clean["amount"] = round(float(clean["amount"]), 2)
            links = {
                "seller_id": firms.get(clean["seller_uscc"]),
                "buyer_id": firms.get(clean["buyer_uscc"]),
            }
            old = existing.get(clean["registration_no"])
            if old is None:
                new_objects.append(
                    TechContract(zone=zone, source=TechContract.Source.IMPORT, **clean, **links)
                )
                years.add(clean["registered_on"].year)
                continue
            changes = diff_fields(_snapshot(old, CONTRACT_FIELDS), clean)
            if not changes:
                outcome.unchanged += 1
                continue
            years |= {old.registered_on.year, clean["registered_on"].year}
            for k, v in {**clean, **links}.items():
                setattr(old, k, v)
            old.save()
            record(actor, "contract.change", old, zone=zone, changes=changes)
            outcome.changed += 1
        TechContract.objects.bulk_create(new_objects, batch_size=1000)
        outcome.created = len(new_objects)
        outcome.written = bool(outcome.created or outcome.changed)
        _finish_import(actor, zone, "contract.import", filename, outcome)
        do_sync_contract_amounts(actor, zone, years)
    return outcome


# ============================================================================ matching

FIELD_LABELS_ZH = {k: v[0] for k, v in TECH_FIELDS.items()}
MATURITY_ZH = {"lab": "实验室", "prototype": "样机", "pilot": "中试", "industrial": "产业化"}
SUPPLY_COLUMNS = (
    tabular.Column("code", "编号", "Code", max_len=40),
    tabular.Column("title", "成果名称", "Title", required=True),
    tabular.Column("field", "技术领域", "Field", "enum", required=True, choices=FIELD_LABELS_ZH),
    tabular.Column("keywords", "关键词", "Keywords", max_len=300),
    tabular.Column("description", "简介", "Description", max_len=4000),
    tabular.Column("maturity", "成熟度", "Maturity", "enum", choices=MATURITY_ZH),
    tabular.Column("owner", "所属院所", "Owner", required=True, max_len=100),
    tabular.Column("industries", "适用行业门类", "Industry sections", max_len=40),
)
DEMAND_COLUMNS = (
    tabular.Column("uscc", "统一社会信用代码", "USCC", "uscc", required=True),
    tabular.Column("problem", "需求名称", "Problem", required=True),
    tabular.Column("description", "需求描述", "Description", max_len=4000),
    tabular.Column("field", "技术领域", "Field", "enum", choices=FIELD_LABELS_ZH),
    tabular.Column("budget", "预算（万元）", "Budget (10k CNY)", "number"),
    tabular.Column("deadline", "期望完成日期", "Deadline", "date"),
)


def _clean_supply(data: dict[str, Any]) -> dict[str, Any]:
    out = {
        "code": _text(data.get("code"), "编号", "Code", 40, required=False),
        "title": _text(data.get("title"), "成果名称", "Title", 200),
        "keywords": _text(data.get("keywords"), "关键词", "Keywords", 300, required=False),
        "description": _text(data.get("description"), "简介", "Description", 4000, required=False),
        "owner": _text(data.get("owner"), "所属院所", "Owner", 100),
        "industries": _text(
            data.get("industries"), "适用行业门类", "Industry sections", 40, required=False
        ).upper(),
    }
    _require(
        data.get("field") in TECH_FIELDS,
        f"技术领域「{data.get('field')}」无效",
        f"Field '{data.get('field')}' is not one of {', '.join(TECH_FIELDS)}",
    )
    out["field"] = data["field"]
    maturity = data.get("maturity") or Maturity.LAB
    _require(
        maturity in Maturity.values,
        f"成熟度「{maturity}」无效",
        f"Maturity '{maturity}' is not valid",
    )
    out["maturity"] = maturity
    return out


def do_create_supply(actor, zone: Zone, **data) -> SupplyItem:
    """Add an item to the zone's research supply list."""
    clean = _clean_supply(data)
    with transaction.atomic():
        item = SupplyItem.objects.create(zone=zone, **clean)
        record(actor, "supply.create", item, zone=zone, changes=diff_fields({}, clean))
    return item


def do_set_supply_active(actor, item: SupplyItem, active: bool) -> SupplyItem:
    """Withdraw an item from the list (or restore it)."""
    if item.active != active:
        with transaction.atomic():
            item.active = active
            item.save(update_fields=["active", "updated_at"])
            record(
                actor,
                "supply.change",
                item,
                zone=item.zone,
                changes={"active": [not active, active]},
            )
    return item


def do_import_supply(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Import supply items (strict). A row whose code exists updates that item."""
    parsed, outcome = _read(data, filename, SUPPLY_COLUMNS)
    if parsed is not None and not parsed.rows.is_empty():
        outcome.issues += tabular.duplicates(parsed.rows, "code", "编号")
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "supply.import", filename, outcome)
        return outcome
    existing = {s.code: s for s in SupplyItem.objects.filter(zone=zone).exclude(code="")}
    with transaction.atomic():
        new = []
        for row in parsed.rows.iter_rows(named=True):
            try:
                clean = _clean_supply(row)
            except ServiceError as exc:
                outcome.issues.append(
                    tabular.issue(
                        row["_row"],
                        "",
                        None,
                        f"第 {row['_row']} 行：{exc.zh}",
                        f"Row {row['_row']}: {exc.en}",
                    )
                )
                continue
            old = existing.get(clean["code"]) if clean["code"] else None
            if old is None:
                new.append(SupplyItem(zone=zone, **clean))
                continue
            _update_if_changed(actor, zone, old, clean, "supply.change", outcome)
        if outcome.issues:
            transaction.set_rollback(True)
            outcome.changed = outcome.unchanged = 0
        else:
            SupplyItem.objects.bulk_create(new)
            outcome.created = len(new)
            outcome.written = bool(outcome.created or outcome.changed)
    _finish_import(actor, zone, "supply.import", filename, outcome)
    return outcome


def _clean_demand(data: dict[str, Any]) -> dict[str, Any]:
    out = {
        "problem": _text(data.get("problem"), "需求名称", "Problem", 200),
        "description": _text(
            data.get("description"), "需求描述", "Description", 4000, required=False
        ),
        "budget": _money(data.get("budget"), "预算", "Budget", required=False),
        "deadline": data.get("deadline") or None,
        "field": data.get("field") or "",
    }
    _require(
        not out["field"] or out["field"] in TECH_FIELDS,
        f"技术领域「{out['field']}」无效",
        f"Field '{out['field']}' is not valid",
    )
    return out


def do_create_demand(actor, enterprise: Enterprise, **data) -> DemandItem:
    """Post a demand of a firm to the zone's demand list."""
    clean = _clean_demand(data)
    with transaction.atomic():
        demand = DemandItem.objects.create(
            zone_id=enterprise.zone_id, enterprise=enterprise, **clean
        )
        record(actor, "demand.create", demand, zone=enterprise.zone, changes=diff_fields({}, clean))
    return demand


def do_set_demand_active(actor, demand: DemandItem, active: bool) -> DemandItem:
    """Close a demand (or reopen it)."""
    if demand.active != active:
        with transaction.atomic():
            demand.active = active
            demand.save(update_fields=["active"])
            record(
                actor,
                "demand.change",
                demand,
                zone=demand.zone,
                changes={"active": [not active, active]},
            )
    return demand


def do_import_demands(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Import demands of the zone's firms (strict); each row names its firm by USCC."""
    parsed, outcome = _read(data, filename, DEMAND_COLUMNS)
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "demand.import", filename, outcome)
        return outcome
    firms = dict(Enterprise.objects.filter(zone=zone).values_list("uscc", "id"))
    unknown = parsed.rows.filter(~pl.col("uscc").is_in(list(firms)))
    outcome.issues += [
        tabular.issue(
            r,
            "统一社会信用代码",
            u,
            f"第 {r} 行：企业「{u}」不在本园区",
            f"Row {r}: firm '{u}' is not in this zone",
        )
        for r, u in unknown.select("_row", "uscc").iter_rows()
    ]
    if outcome.issues:
        _finish_import(actor, zone, "demand.import", filename, outcome)
        return outcome
    with transaction.atomic():
        new = [
            DemandItem(zone=zone, enterprise_id=firms[row["uscc"]], **_clean_demand(row))
            for row in parsed.rows.iter_rows(named=True)
        ]
        DemandItem.objects.bulk_create(new)
        outcome.created, outcome.written = len(new), bool(new)
        _finish_import(actor, zone, "demand.import", filename, outcome)
    return outcome


def do_express_interest(actor, demand: DemandItem, supply: SupplyItem, side: str) -> Match:
    """One side's interest in a pairing: 'firm' (the demand's firm) or 'owner' (the
    institute, recorded by the zone). Both sides interested makes it a match."""
    from innopoints.services.matchindex import rank_for_demand

    _require(side in ("firm", "owner"), "无效的一方", "side must be 'firm' or 'owner'")
    _require(
        supply.zone_id == demand.zone_id,
        "科研成果与需求不在同一园区",
        "The supply item and the demand are in different zones",
    )
    candidate = next((c for c in rank_for_demand(demand, k=50) if c.id == supply.pk), None)
    now = timezone.now()
    with transaction.atomic():
        match, created = Match.objects.select_for_update().get_or_create(
            demand=demand,
            supply=supply,
            defaults={
                "score": candidate.score if candidate else 0.0,
                "terms": list(candidate.terms) if candidate else [],
            },
        )
        before = {
            "firm_interest_at": match.firm_interest_at,
            "owner_interest_at": match.owner_interest_at,
            "status": match.status,
        }
        if side == "firm" and match.firm_interest_at is None:
            match.firm_interest_at = now
        if side == "owner" and match.owner_interest_at is None:
            match.owner_interest_at = now
        if (
            match.firm_interest_at
            and match.owner_interest_at
            and match.status == Match.Status.PROPOSED
        ):
            match.status = Match.Status.MATCHED
        match.save()
        after = {
            "firm_interest_at": match.firm_interest_at,
            "owner_interest_at": match.owner_interest_at,
            "status": match.status,
        }
        record(
            actor,
            "match.interest",
            match,
            zone=demand.zone,
            changes=diff_fields(before, after),
            detail={"side": side},
        )
    return match


def do_contract_match(actor, match: Match, **data) -> TechContract:
    """Register the technology contract a match led to (institute sells, firm buys)."""
    _require(
        match.status == Match.Status.MATCHED,
        "只有双方均有意向的对接才能签订合同",
        "Only a match with both sides interested can become a contract",
        "conflict",
    )
    demand, supply = match.demand, match.supply
    with transaction.atomic():
        contract = do_create_contract(
            actor,
            demand.zone,
            source=TechContract.Source.MATCH,
            match=match,
            title=data.get("title") or supply.title,
            type=data.get("type") or ContractType.DEVELOPMENT,
            registration_no=data.get("registration_no"),
            registered_on=data.get("registered_on"),
            amount=data.get("amount"),
            seller_name=supply.owner,
            seller_uscc=data.get("seller_uscc") or "",
            buyer_name=demand.enterprise.name,
            buyer_uscc=demand.enterprise.uscc,
        )
        match.status, match.contract = Match.Status.CONTRACTED, contract
        match.save(update_fields=["status", "contract"])
        record(
            actor,
            "match.contract",
            match,
            zone=demand.zone,
            changes={"status": ["matched", "contracted"]},
            detail={"contract": contract.pk},
        )
    return contract


# ============================================================================ results


def do_create_result(actor, zone: Zone, **data) -> ResearchResult:
    """Register a job-related research result (IP items linked by number, as text)."""
    clean = {
        "title": _text(data.get("title"), "成果名称", "Title", 200),
        "university": _text(data.get("university"), "高校或院所", "University", 100),
        "team": _text(data.get("team"), "团队成员", "Team", 300),
        "ip_numbers": _text(
            data.get("ip_numbers"), "知识产权编号", "IP numbers", 300, required=False
        ),
        "field": data.get("field") or "",
    }
    _require(
        not clean["field"] or clean["field"] in TECH_FIELDS, "技术领域无效", "Field is not valid"
    )
    with transaction.atomic():
        result = ResearchResult.objects.create(zone=zone, **clean)
        record(actor, "result.create", result, zone=zone, changes=diff_fields({}, clean))
    return result


def _step(
    actor, result: ResearchResult, action: str, allowed: tuple[str, ...], values: dict, status: str
):
    _require(
        result.status in allowed,
        f"成果当前状态为「{ResultStatus(result.status).label}」，不能进行此步骤",
        f"The result is '{result.status}'; this step needs {' or '.join(allowed)}",
        "conflict",
    )
    before = _snapshot(result, [*values, "status"])
    with transaction.atomic():
        for k, v in values.items():
            setattr(result, k, v)
        result.status = status
        result.save()
        record(
            actor,
            action,
            result,
            zone=result.zone,
            changes=diff_fields(before, {**values, "status": status}),
        )
    return result


def _share(value: Any, zh: str, en: str) -> float:
    number = _money(value, zh, en)
    _require(number <= 100, f"{zh}不能超过 100%", f"{en} cannot exceed 100%")
    return number


def do_grant_shares(
    actor,
    result: ResearchResult,
    *,
    team_share=80,
    university_share=20,
    agreement="",
    granted_on=None,
) -> ResearchResult:
    """Step 1 (赋权): the university grants ownership shares to the team (default 80/20);
    the shares must sum to 100%."""
    team = _share(team_share, "团队份额", "Team share")
    uni = _share(university_share, "学校份额", "University share")
    _require(
        abs(team + uni - 100) < 1e-6,
        f"团队份额与学校份额之和应为 100%，现为 {team + uni:g}%",
        f"Team and university shares must sum to 100%, not {team + uni:g}%",
    )
    _require(isinstance(granted_on, dt.date), "赋权日期必填", "Grant date is required")
    values = {
        "team_share": team,
        "university_share": uni,
        "grant_agreement": _text(agreement, "赋权协议", "Grant agreement", 100),
        "granted_on": granted_on,
    }
    return _step(
        actor,
        result,
        "result.grant",
        (ResultStatus.REGISTERED, ResultStatus.GRANTED),
        values,
        ResultStatus.GRANTED,
    )


def do_transfer_share(
    actor, result: ResearchResult, *, agreement="", transferred_on=None, price=None
) -> ResearchResult:
    """Step 2 (转让): the university transfers its share to the team."""
    _require(isinstance(transferred_on, dt.date), "转让日期必填", "Transfer date is required")
    _require(
        result.granted_on is None or transferred_on >= result.granted_on,
        "转让日期不能早于赋权日期",
        "The transfer cannot precede the grant",
    )
    values = {
        "transfer_agreement": _text(agreement, "转让协议", "Transfer agreement", 100),
        "transferred_on": transferred_on,
        "transfer_price": _money(price, "转让价格", "Transfer price"),
    }
    return _step(
        actor, result, "result.transfer", (ResultStatus.GRANTED,), values, ResultStatus.TRANSFERRED
    )


def do_agree_income(
    actor, result: ResearchResult, *, ratio=None, basis="", term_years=None, income_from=None
) -> ResearchResult:
    """Step 3 (约定收益): the university's income right — ratio, basis and term."""
    ratio = _share(ratio, "收益比例", "Income ratio")
    _require(ratio > 0, "收益比例应大于 0", "The income ratio must be above 0")
    _require(
        basis in IncomeBasis.values,
        "收益基数应为营业收入、利润或股权",
        "Basis must be revenue, profit or equity",
    )
    try:
        term = int(term_years)
    except (TypeError, ValueError):
        raise ServiceError("收益期限（年）必填", "Term (years) is required") from None
    _require(1 <= term <= 50, "收益期限应为 1–50 年", "The term must be 1–50 years")
    _require(isinstance(income_from, dt.date), "收益起算日期必填", "Start date is required")
    values = {
        "income_ratio": ratio,
        "income_basis": basis,
        "income_term_years": term,
        "income_from": income_from,
    }
    return _step(
        actor,
        result,
        "result.income_right",
        (ResultStatus.TRANSFERRED,),
        values,
        ResultStatus.INCOME_AGREED,
    )


def do_convert_result(
    actor,
    result: ResearchResult,
    *,
    enterprise: Enterprise | None = None,
    firm_name="",
    mode="",
    converted_on=None,
    amount=0,
) -> Conversion:
    """Conversion into a firm: licence, transfer or equity in a new firm. A firm of the
    result's zone is linked; another firm is recorded by name (outside the zone)."""
    _require(
        result.status in (ResultStatus.INCOME_AGREED, ResultStatus.CONVERTED),
        "须先完成赋权、转让和约定收益三步",
        "Grant, transfer and income right come first",
        "conflict",
    )
    _require(
        mode in ConversionMode.values,
        "转化方式应为许可、转让或作价入股",
        "Mode must be licence, transfer or equity",
    )
    _require(isinstance(converted_on, dt.date), "转化日期必填", "Conversion date is required")
    in_zone = enterprise is not None and enterprise.zone_id == result.zone_id
    name = (
        enterprise.name
        if enterprise is not None
        else _text(firm_name, "企业名称", "Firm name", 100)
    )
    with transaction.atomic():
        conversion = Conversion.objects.create(
            result=result,
            enterprise=enterprise if in_zone else None,
            firm_name=name,
            in_zone=in_zone,
            mode=mode,
            converted_on=converted_on,
            amount=_money(amount, "转化金额", "Amount"),
        )
        record(
            actor,
            "result.convert",
            conversion,
            zone=result.zone,
            detail={"result": result.pk, "firm": name, "in_zone": in_zone, "mode": mode},
        )
        if result.status != ResultStatus.CONVERTED:
            _step(
                actor,
                result,
                "result.status",
                (ResultStatus.INCOME_AGREED,),
                {},
                ResultStatus.CONVERTED,
            )
    return conversion


def do_record_income(
    actor, conversion: Conversion, *, year=None, quarter=0, basis_amount=None
) -> IncomeEntry:
    """Conversion income of a period; the university's share = basis × agreed ratio."""
    result = conversion.result
    try:
        year, quarter = int(year), int(quarter or 0)
    except (TypeError, ValueError):
        raise ServiceError("年度和季度应为整数", "Year and quarter must be whole numbers") from None
    _require(0 <= quarter <= 4, "季度应为 0（全年）或 1–4", "Quarter must be 0 (whole year) or 1–4")
    start = result.income_from.year
    end = start + result.income_term_years - 1
    _require(
        start <= year <= end,
        f"{year} 年不在约定收益期限（{start}–{end} 年）内",
        f"{year} is outside the income term ({start}–{end})",
    )
    amount = _money(basis_amount, "收益基数金额", "Basis amount")
    ratio = result.income_ratio
    entry = IncomeEntry(
        result=result,
        conversion=conversion,
        year=year,
        quarter=quarter,
        basis_amount=amount,
        ratio=ratio,
        university_amount=round(amount * ratio / 100, 2),
    )
    try:
        with transaction.atomic():
            entry.save()
            record(
                actor,
                "result.income",
                entry,
                zone=result.zone,
                changes=diff_fields(
                    {},
                    {
                        "year": year,
                        "quarter": quarter,
                        "basis_amount": amount,
                        "ratio": ratio,
                        "university_amount": entry.university_amount,
                    },
                ),
            )
    except IntegrityError:
        raise ServiceError(
            f"{year} 年第 {quarter} 期的收益已登记",
            f"Income for {year} period {quarter} is already recorded",
            "conflict",
        ) from None
    return entry


# ============================================================================ projects

PROJECT_COLUMNS = (
    tabular.Column("uscc", "统一社会信用代码", "USCC", "uscc", required=True),
    tabular.Column("name", "项目名称", "Project", required=True),
    tabular.Column(
        "total_investment", "总投资（万元）", "Total investment (10k CNY)", "number", required=True
    ),
    tabular.Column(
        "plan_year", "计划年度", "Plan year", "int", required=True, minimum=2000, maximum=2100
    ),
    tabular.Column(
        "planned_this_year",
        "年度计划投资（万元）",
        "Planned this year (10k CNY)",
        "number",
        required=True,
    ),
    tabular.Column(
        "stage",
        "项目阶段",
        "Stage",
        "enum",
        required=True,
        choices={
            "signed": "签约",
            "groundbreaking": "开工",
            "construction": "在建",
            "completed": "竣工",
            "production": "投产",
        },
    ),
    tabular.Column("signed_on", "签约日期", "Signed on", "date", required=True),
)


def do_create_project(
    actor,
    zone: Zone,
    enterprise: Enterprise,
    *,
    milestones: dict[str, dt.date] | None = None,
    **data,
) -> KeyProject:
    """Register a key project with its planned stage dates."""
    _require(
        enterprise.zone_id == zone.pk, "业主企业不在本园区", "The owner firm is not in this zone"
    )
    clean = {
        "name": _text(data.get("name"), "项目名称", "Project", 200),
        "total_investment": _money(data.get("total_investment"), "总投资", "Total investment"),
        "planned_this_year": _money(
            data.get("planned_this_year"), "年度计划投资", "Planned this year"
        ),
        "stage": data.get("stage") or ProjectStage.SIGNED,
        "signed_on": data.get("signed_on"),
    }
    try:
        clean["plan_year"] = int(data.get("plan_year") or _today().year)
    except (TypeError, ValueError):
        raise ServiceError("计划年度应为整数", "Plan year must be a year") from None
    _require(clean["stage"] in STAGE_ORDER, "项目阶段无效", "Stage is not valid")
    _require(isinstance(clean["signed_on"], dt.date), "签约日期必填", "Signing date is required")
    _require(
        clean["planned_this_year"] <= clean["total_investment"],
        "年度计划投资不能超过总投资",
        "Planned investment of the year cannot exceed the total",
    )
    with transaction.atomic():
        project = KeyProject.objects.create(zone=zone, enterprise=enterprise, **clean)
        ProjectMilestone.objects.bulk_create(
            ProjectMilestone(project=project, stage=s, due_on=d)
            for s, d in (milestones or {}).items()
            if s in STAGE_ORDER and d
        )
        record(
            actor,
            "project.create",
            project,
            zone=zone,
            changes=diff_fields({}, clean),
            detail={"milestones": {k: v.isoformat() for k, v in (milestones or {}).items() if v}},
        )
    return project


def do_set_project_stage(
    actor, project: KeyProject, stage: str, on: dt.date | None = None
) -> KeyProject:
    """Move a project forward to `stage` (never back); the stage's milestone is reached."""
    _require(stage in STAGE_ORDER, "项目阶段无效", "Stage is not valid")
    _require(
        STAGE_ORDER.index(stage) > STAGE_ORDER.index(project.stage),
        "项目阶段只能向前推进",
        "A project's stage only moves forward",
        "conflict",
    )
    on = on or _today()
    with transaction.atomic():
        before = project.stage
        project.stage = stage
        project.save(update_fields=["stage"])
        milestone, _ = ProjectMilestone.objects.get_or_create(
            project=project, stage=stage, defaults={"due_on": on}
        )
        milestone.reached_on = on
        milestone.save(update_fields=["reached_on"])
        record(
            actor,
            "project.stage",
            project,
            zone=project.zone,
            changes={"stage": [before, stage]},
            detail={"on": on},
        )
    return project


def do_record_investment(actor, project: KeyProject, month: dt.date, amount) -> ProjectInvestment:
    """Actual investment of a month (a second entry for the month replaces the first)."""
    _require(isinstance(month, dt.date), "月份必填", "Month is required")
    month = month.replace(day=1)
    amount = _money(amount, "实际投资", "Actual investment")
    with transaction.atomic():
        entry = ProjectInvestment.objects.filter(project=project, month=month).first()
        before = entry.amount if entry else None
        if entry is None:
            entry = ProjectInvestment.objects.create(project=project, month=month, amount=amount)
        else:
            entry.amount = amount
            entry.save(update_fields=["amount"])
        record(
            actor,
            "project.investment",
            project,
            zone=project.zone,
            changes={f"investment {month:%Y-%m}": [before, amount]},
        )
    return entry


def do_import_projects(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Import key projects (strict); rows name the owner firm by USCC; a row whose firm
    and project name exist updates that project."""
    parsed, outcome = _read(data, filename, PROJECT_COLUMNS)
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "project.import", filename, outcome)
        return outcome
    firms = dict(Enterprise.objects.filter(zone=zone).values_list("uscc", "id"))
    rows = parsed.rows
    outcome.issues += [
        tabular.issue(
            r,
            "统一社会信用代码",
            u,
            f"第 {r} 行：企业「{u}」不在本园区",
            f"Row {r}: firm '{u}' is not in this zone",
        )
        for r, u in rows.filter(~pl.col("uscc").is_in(list(firms)))
        .select("_row", "uscc")
        .iter_rows()
    ]
    outcome.issues += [
        tabular.issue(
            r,
            "年度计划投资（万元）",
            p,
            f"第 {r} 行：年度计划投资 {p} 超过总投资 {t}",
            f"Row {r}: planned investment {p} exceeds the total {t}",
        )
        for r, p, t in rows.filter(pl.col("planned_this_year") > pl.col("total_investment"))
        .select("_row", "planned_this_year", "total_investment")
        .iter_rows()
    ]
    if outcome.issues:
        _finish_import(actor, zone, "project.import", filename, outcome)
        return outcome
    existing = {(p.enterprise_id, p.name): p for p in KeyProject.objects.filter(zone=zone)}
    fields = ("name", "total_investment", "plan_year", "planned_this_year", "stage", "signed_on")
    with transaction.atomic():
        new = []
        for row in rows.iter_rows(named=True):
            firm = firms[row["uscc"]]
            clean = {k: row[k] for k in fields}
            old = existing.get((firm, clean["name"]))
            if old is None:
                new.append(KeyProject(zone=zone, enterprise_id=firm, **clean))
                continue
            _update_if_changed(actor, zone, old, clean, "project.change", outcome)
        KeyProject.objects.bulk_create(new)
        outcome.created = len(new)
        outcome.written = bool(new or outcome.changed)
        _finish_import(actor, zone, "project.import", filename, outcome)
    return outcome


# ============================================================================ 帮代办


def do_create_procedure(actor, zone: Zone, **data) -> ProcedureType:
    """Add a procedure the zone handles, with its statutory and promised limits."""
    try:
        statutory, promised = int(data.get("statutory_days")), int(data.get("promised_days"))
    except (TypeError, ValueError):
        raise ServiceError(
            "法定时限和承诺时限应为工作日数", "Limits must be numbers of working days"
        ) from None
    _require(
        1 <= statutory <= 365,
        "法定时限应为 1–365 个工作日",
        "The statutory limit must be 1–365 working days",
    )
    _require(
        1 <= promised <= statutory,
        "承诺时限应在 1 天与法定时限之间",
        "The promised limit must be between 1 and the statutory limit",
    )
    clean = {
        "code": _text(data.get("code"), "编码", "Code", 40),
        "name_zh": _text(data.get("name_zh"), "事项名称", "Name (Chinese)", 100),
        "name_en": _text(data.get("name_en"), "英文名称", "Name (English)", 150, required=False),
        "statutory_days": statutory,
        "promised_days": promised,
    }
    _require(
        not ProcedureType.objects.filter(zone=zone, code=clean["code"]).exists(),
        f"编码「{clean['code']}」已存在",
        f"Code '{clean['code']}' exists",
        "conflict",
    )
    with transaction.atomic():
        proc = ProcedureType.objects.create(zone=zone, **clean)
        record(actor, "procedure.create", proc, zone=zone, changes=diff_fields({}, clean))
    return proc


def do_submit_request(
    actor,
    enterprise: Enterprise,
    procedure: ProcedureType,
    *,
    description="",
    documents="",
    submitted_on: dt.date | None = None,
) -> HandlingRequest:
    """A firm asks the zone to handle a procedure for it."""
    _require(
        procedure.zone_id == enterprise.zone_id,
        "事项不属于企业所在园区",
        "The procedure is not of the firm's zone",
    )
    clean = {
        "description": _text(description, "需求说明", "Description", 4000),
        "documents": _text(documents, "材料清单", "Documents", 4000, required=False),
        "submitted_on": submitted_on or _today(),
    }
    with transaction.atomic():
        req = HandlingRequest.objects.create(
            zone_id=enterprise.zone_id, enterprise=enterprise, procedure=procedure, **clean
        )
        record(
            actor,
            "handling.submit",
            req,
            zone=enterprise.zone,
            changes=diff_fields({}, {**clean, "procedure": procedure.code}),
        )
    return req


def _deadline(start: dt.date, days: int) -> dt.date:
    from innopoints.standard.workdays import CalendarNotCoveredError, add_working_days

    try:
        return add_working_days(start, days)
    except CalendarNotCoveredError as exc:
        zh, _, en = str(exc).partition(" / ")
        raise ServiceError(zh, en or zh, "calendar") from exc


def _transition(
    actor, req: HandlingRequest, action: str, allowed: tuple[str, ...], values: dict
) -> HandlingRequest:
    _require(
        req.state in allowed,
        f"申请当前状态为「{HandlingRequest.State(req.state).label}」，不能进行此操作",
        f"The request is '{req.state}'; this needs {' or '.join(allowed)}",
        "conflict",
    )
    before = _snapshot(req, values)
    with transaction.atomic():
        for k, v in values.items():
            setattr(req, k, v)
        req.save()
        record(actor, action, req, zone=req.zone, changes=diff_fields(before, values))
    return req


def do_accept_request(actor, req: HandlingRequest, on: dt.date | None = None) -> HandlingRequest:
    """An official takes the request: the promised and statutory deadlines run from the
    day of acceptance in working days (State Council holiday schedule)."""
    on = on or _today()
    _require(
        on >= req.submitted_on, "受理日期不能早于提交日期", "Acceptance cannot precede submission"
    )
    values = {
        "state": HandlingRequest.State.ACCEPTED,
        "official": actor if getattr(actor, "is_authenticated", False) else None,
        "accepted_on": on,
        "promised_deadline": _deadline(on, req.procedure.promised_days),
        "statutory_deadline": _deadline(on, req.procedure.statutory_days),
    }
    return _transition(actor, req, "handling.accept", (HandlingRequest.State.SUBMITTED,), values)


def do_complete_request(
    actor, req: HandlingRequest, on: dt.date | None = None, note: str = ""
) -> HandlingRequest:
    """The procedure is done; the working days it took are kept for the statistics."""
    from innopoints.standard.workdays import CalendarNotCoveredError, working_days_between

    on = on or _today()
    _require(
        req.accepted_on is not None and on >= req.accepted_on,
        "办结日期不能早于受理日期",
        "Completion cannot precede acceptance",
    )
    try:
        days = working_days_between(req.accepted_on, on)
    except CalendarNotCoveredError as exc:
        zh, _, en = str(exc).partition(" / ")
        raise ServiceError(zh, en or zh, "calendar") from exc
    values = {
        "state": HandlingRequest.State.COMPLETED,
        "completed_on": on,
        "working_days": days,
        "note": _text(note, "备注", "Note", 2000, required=False),
    }
    return _transition(actor, req, "handling.complete", (HandlingRequest.State.ACCEPTED,), values)


def do_return_request(actor, req: HandlingRequest, note: str) -> HandlingRequest:
    """Send the request back to the firm (e.g. documents missing), with the reason."""
    values = {
        "state": HandlingRequest.State.RETURNED,
        "note": _text(note, "退回理由", "Reason", 2000),
    }
    return _transition(
        actor,
        req,
        "handling.return",
        (HandlingRequest.State.SUBMITTED, HandlingRequest.State.ACCEPTED),
        values,
    )


def do_withdraw_request(actor, req: HandlingRequest) -> HandlingRequest:
    """The firm withdraws a request not yet completed."""
    values = {"state": HandlingRequest.State.WITHDRAWN}
    return _transition(
        actor,
        req,
        "handling.withdraw",
        (HandlingRequest.State.SUBMITTED, HandlingRequest.State.ACCEPTED),
        values,
    )


# ============================================================================ documents


def do_attach_document(actor, upload, *, step: str, result=None, request=None) -> ServiceDocument:
    """Keep a file handed over at a result's step or with a request (PDF, JPG, PNG or
    XLSX of at most 5 MB, content checked against the extension)."""
    import uuid
    from pathlib import Path

    from innopoints.portal.actions import (
        ATTACHMENT_TYPES,
        PortalError,
        check_attachment,
        private_root,
    )

    _require(
        (result is None) != (request is None),
        "文件须属于成果或申请之一",
        "A document belongs to one result or one request",
    )
    _require(
        step in ServiceDocument.Step.values, f"步骤「{step}」无效", f"Step '{step}' is not valid"
    )
    try:
        ext, data = check_attachment(upload)
    except PortalError as exc:
        raise ServiceError(str(exc), str(exc), "invalid") from exc
    owner = result if result is not None else request
    relative = Path("services") / str(owner.zone_id) / f"{uuid.uuid4().hex}.{ext}"
    target = private_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        target.write_bytes(data)
        doc = ServiceDocument.objects.create(
            zone_id=owner.zone_id,
            result=result,
            request=request,
            step=step,
            original_name=Path(upload.name or "file").name[:200],
            stored_path=str(relative),
            content_type=ATTACHMENT_TYPES[ext],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        record(
            actor,
            "document.attach",
            doc,
            zone=owner.zone,
            detail={
                "step": step,
                "sha256": doc.sha256,
                "owner": f"{owner._meta.model_name}:{owner.pk}",
            },
        )
    return doc


# ============================================================================ more imports

RESULT_COLUMNS = (
    tabular.Column("title", "成果名称", "Title", required=True),
    tabular.Column("university", "高校或院所", "University", required=True, max_len=100),
    tabular.Column("team", "团队成员", "Team", required=True, max_len=300),
    tabular.Column("ip_numbers", "知识产权编号", "IP numbers", max_len=300),
    tabular.Column("field", "技术领域", "Field", "enum", choices=FIELD_LABELS_ZH),
)
PROCEDURE_COLUMNS = (
    tabular.Column("code", "编码", "Code", required=True, max_len=40),
    tabular.Column("name_zh", "事项名称", "Name (Chinese)", required=True, max_len=100),
    tabular.Column("name_en", "英文名称", "Name (English)", max_len=150),
    tabular.Column(
        "statutory_days",
        "法定时限（工作日）",
        "Statutory limit (working days)",
        "int",
        required=True,
        minimum=1,
        maximum=365,
    ),
    tabular.Column(
        "promised_days",
        "承诺时限（工作日）",
        "Promised limit (working days)",
        "int",
        required=True,
        minimum=1,
        maximum=365,
    ),
)


def do_import_results(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Register results from a file (strict); a row whose title and university exist
    updates the team, IP numbers and field of that result."""
    parsed, outcome = _read(data, filename, RESULT_COLUMNS)
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "result.import", filename, outcome)
        return outcome
    fields = ("team", "ip_numbers", "field")
    existing = {(r.title, r.university): r for r in ResearchResult.objects.filter(zone=zone)}
    with transaction.atomic():
        new = []
        for row in parsed.rows.iter_rows(named=True):
            clean = {k: row.get(k) or "" for k in ("title", "university", *fields)}
            old = existing.get((clean["title"], clean["university"]))
            if old is None:
                new.append(ResearchResult(zone=zone, **clean))
                continue
            _update_if_changed(
                actor, zone, old, {k: clean[k] for k in fields}, "result.change", outcome
            )
        ResearchResult.objects.bulk_create(new)
        outcome.created = len(new)
        outcome.written = bool(new or outcome.changed)
        _finish_import(actor, zone, "result.import", filename, outcome)
    return outcome


def do_import_procedures(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Procedure types with their limits (strict); rows are keyed by code."""
    parsed, outcome = _read(data, filename, PROCEDURE_COLUMNS)
    if parsed is not None and not parsed.rows.is_empty():
        outcome.issues += tabular.duplicates(parsed.rows, "code", "编码")
        rows = parsed.rows
        outcome.issues += [
            tabular.issue(
                r,
                "承诺时限（工作日）",
                p,
                f"第 {r} 行：承诺时限 {p} 超过法定时限 {s}",
                f"Row {r}: the promised limit {p} exceeds the statutory limit {s}",
            )
            for r, p, s in rows.filter(pl.col("promised_days") > pl.col("statutory_days"))
            .select("_row", "promised_days", "statutory_days")
            .iter_rows()
        ]
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "procedure.import", filename, outcome)
        return outcome
    fields = ("name_zh", "name_en", "statutory_days", "promised_days")
    existing = {p.code: p for p in ProcedureType.objects.filter(zone=zone)}
    with transaction.atomic():
        new = []
        for row in parsed.rows.iter_rows(named=True):
            clean = {
                "code": row["code"],
                **{k: row.get(k) if k.endswith("days") else (row.get(k) or "") for k in fields},
            }
            old = existing.get(clean["code"])
            if old is None:
                new.append(ProcedureType(zone=zone, **clean))
                continue
            _update_if_changed(
                actor, zone, old, {k: clean[k] for k in fields}, "procedure.change", outcome
            )
        ProcedureType.objects.bulk_create(new)
        outcome.created = len(new)
        outcome.written = bool(new or outcome.changed)
        _finish_import(actor, zone, "procedure.import", filename, outcome)
    return outcome


INVESTMENT_COLUMNS = (
    tabular.Column("uscc", "统一社会信用代码", "USCC", "uscc", required=True),
    tabular.Column("name", "项目名称", "Project", required=True),
    tabular.Column("month", "月份", "Month", "month", required=True),
    tabular.Column(
        "amount", "实际投资（万元）", "Actual investment (10k CNY)", "number", required=True
    ),
)


def do_import_investments(actor, zone: Zone, data: bytes, filename: str) -> ImportOutcome:
    """Monthly actual investment of key projects (strict). Rows name the project by its
    owner's USCC and its name; the month may be any day of it (2026-03, 2026-03-01);
    a month already entered is replaced and audited."""
    parsed, outcome = _read(data, filename, INVESTMENT_COLUMNS)
    if parsed is None or outcome.issues:
        _finish_import(actor, zone, "project.investment_import", filename, outcome)
        return outcome
    projects = pl.DataFrame(
        list(KeyProject.objects.filter(zone=zone).values_list("id", "enterprise__uscc", "name")),
        schema={"project_id": pl.Int64, "uscc": pl.String, "name": pl.String},
        orient="row",
    )
    rows = parsed.rows.join(projects, on=["uscc", "name"], how="left").with_columns(
        pl.col("month").dt.truncate("1mo")
    )
    outcome.issues += [
        tabular.issue(
            r,
            "项目名称",
            n,
            f"第 {r} 行：企业 {u} 没有名为「{n}」的重点项目",
            f"Row {r}: firm {u} has no key project named '{n}'",
        )
        for r, u, n in rows.filter(pl.col("project_id").is_null())
        .select("_row", "uscc", "name")
        .iter_rows()
    ]
    dup = rows.filter(
        pl.struct("project_id", "month").is_duplicated() & pl.col("project_id").is_not_null()
    )
    outcome.issues += [
        tabular.issue(
            r,
            "月份",
            str(m),
            f"第 {r} 行：同一项目的 {m:%Y-%m} 在文件中重复",
            f"Row {r}: {m:%Y-%m} of the same project appears more than once",
        )
        for r, m in dup.select("_row", "month").iter_rows()
    ]
    if outcome.issues:
        _finish_import(actor, zone, "project.investment_import", filename, outcome)
        return outcome
    existing = {
        (i.project_id, i.month): i for i in ProjectInvestment.objects.filter(project__zone=zone)
    }
    names = dict(projects.select("project_id", "name").iter_rows())
    with transaction.atomic():
        new = []
        for pid, month, amount in rows.select(
            "project_id", "month", pl.col("amount").round(2)
        ).iter_rows():
            old = existing.get((pid, month))
            if old is None:
                new.append(ProjectInvestment(project_id=pid, month=month, amount=amount))
            elif abs(old.amount - amount) > 1e-9:
                record(
                    actor,
                    "project.investment",
                    old.project,
                    zone=zone,
                    object_repr=names[pid],
                    changes={f"investment {month:%Y-%m}": [old.amount, amount]},
                )
                old.amount = amount
                old.save(update_fields=["amount"])
                outcome.changed += 1
            else:
                outcome.unchanged += 1
        ProjectInvestment.objects.bulk_create(new)
        outcome.created = len(new)
        outcome.written = bool(new or outcome.changed)
        _finish_import(actor, zone, "project.investment_import", filename, outcome)
    return outcome
