"""Writes to enterprise data. Every one runs in a transaction and leaves an audit record.

The import path: `do_import_file` reads and validates a file (pure functions of
`innopoints.standard.tabular`), then `apply_registry` compares the valid rows with the
database in Polars and writes only what is new or changed. Re-importing a file writes
nothing; a changed value is recorded with its old and new value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import F

from innopoints.audit.actions import build_event, record, record_many
from innopoints.bulk import bulk_insert_frame
from innopoints.enterprises.models import (
    ENTERPRISE_COLUMNS,
    YEARLY_COLUMNS,
    Enterprise,
    ImportBatch,
    NegativeRecord,
    Qualification,
    YearlyData,
)
from innopoints.enterprises.panel import read_registry
from innopoints.zones.models import Zone

Progress = Callable[[float, str], None]
_ENUM_COLUMNS = {"listing_status", "rd_institution_level", "award_level", "tax_credit_grade"}


def _noop(fraction: float, message: str = "") -> None:
    return None


@dataclass
class ImportOutcome:
    """What an import did (or, for a dry run or a failed strict import, would have done)."""

    batch: ImportBatch
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    issues: list[Any] = field(default_factory=list)
    file_error: dict[str, str] | None = None

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")


# ---------------------------------------------------------------------------- diffing


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def _diff(
    incoming: pl.DataFrame, existing: pl.DataFrame, keys: list[str], columns: list[str]
) -> tuple[pl.DataFrame, list[tuple[dict, dict]]]:
    """Split incoming rows into new rows and (old, new) pairs of changed rows.

    Only `columns` present in the incoming frame are compared, so a file that carries a
    few columns never blanks the others. The join and the column comparisons run in
    Polars; only changed rows reach Python.
    """
    columns = [c for c in columns if c in incoming.columns]
    if existing.is_empty():
        return incoming, []
    old = existing.select(*keys, *[pl.col(c).alias(f"{c}__old") for c in columns], "_id")
    joined = incoming.join(old, on=keys, how="left", maintain_order="left")
    new_rows = joined.filter(pl.col("_id").is_null()).select(incoming.columns)
    matched = joined.filter(pl.col("_id").is_not_null())
    if not columns or matched.is_empty():
        return new_rows, []
    differs = []
    for c in columns:
        a, b = pl.col(c), pl.col(f"{c}__old")
        if incoming.schema[c].is_float():
            close = (a - b).abs() <= 1e-9 + 1e-12 * b.abs()
            differs.append(~(close.fill_null(False) | (a.is_null() & b.is_null())))
        else:
            differs.append(a.ne_missing(b))
    changed = matched.filter(pl.any_horizontal(differs))
    pairs = []
    for row in changed.iter_rows(named=True):
        old_values = {c: row[f"{c}__old"] for c in columns}
        new_values = {c: row[c] for c in columns}
        new_values["_id"] = row["_id"]
        pairs.append((old_values, new_values))
    return new_rows, pairs


def _existing(zone: Zone) -> dict[str, pl.DataFrame]:
    """The zone's current registry with database ids, for diffing."""
    frames = read_registry(Enterprise.objects.filter(zone=zone), zone.custom_fields())
    ids = pl.DataFrame(
        list(Enterprise.objects.filter(zone=zone).values_list("uscc", "id")),
        schema={"uscc": pl.String, "_id": pl.Int64},
        orient="row",
    )
    yearly_ids = pl.DataFrame(
        list(
            YearlyData.objects.filter(enterprise__zone=zone).values_list(
                "enterprise__uscc", "year", "id"
            )
        ),
        schema={"uscc": pl.String, "year": pl.Int64, "_id": pl.Int64},
        orient="row",
    )
    qual_ids = pl.DataFrame(
        list(
            Qualification.objects.filter(enterprise__zone=zone).values_list(
                "enterprise__uscc", "type", "valid_from", "id"
            )
        ),
        schema={"uscc": pl.String, "type": pl.String, "valid_from": pl.Date, "_id": pl.Int64},
        orient="row",
    )
    neg_ids = pl.DataFrame(
        list(
            NegativeRecord.objects.filter(enterprise__zone=zone).values_list(
                "enterprise__uscc", "type", "occurred_on", "id"
            )
        ),
        schema={"uscc": pl.String, "type": pl.String, "occurred_on": pl.Date, "_id": pl.Int64},
        orient="row",
    )
    return {
        "enterprises": frames["enterprises"].join(ids, on="uscc", how="left"),
        "yearly": frames["yearly"].join(yearly_ids, on=["uscc", "year"], how="left"),
        "qualifications": frames["qualifications"].join(
            qual_ids, on=["uscc", "type", "valid_from"], how="left"
        ),
        "negatives": frames["negatives"].join(
            neg_ids, on=["uscc", "type", "occurred_on"], how="left"
        ),
    }


# ---------------------------------------------------------------------------- writing


def _db_value(column: str, value: Any) -> Any:
    if column in _ENUM_COLUMNS or column in ("industry_code", "region_code", "certificate_no"):
        return value or ""
    return value


def _custom_payload(row: dict, custom_codes: list[str]) -> dict:
    payload = {}
    for code in custom_codes:
        value = row.get(code)
        if value is not None:
            payload[code] = value.isoformat() if isinstance(value, dt.date) else value
    return payload


@dataclass
class _Plan:
    """What an import will write: new rows and changed rows per table."""

    new: dict[str, pl.DataFrame]
    changed: dict[str, list[tuple[dict, dict]]]

    def counts(self, incoming: dict[str, pl.DataFrame]) -> dict[str, dict[str, int]]:
        out = {}
        for table, frame in incoming.items():
            created, changed = self.new[table].height, len(self.changed[table])
            out[table] = {
                "rows": frame.height,
                "created": created,
                "changed": changed,
                "unchanged": frame.height - created - changed,
            }
        return out


def plan_import(zone: Zone, incoming: dict[str, pl.DataFrame]) -> _Plan:
    """Compare incoming typed frames with the zone's registry: what is new, what changed."""
    existing = _existing(zone)
    custom_codes = [f.code for f in zone.custom_fields()]
    specs = {
        "enterprises": (["uscc"], [c for c in ENTERPRISE_COLUMNS if c != "uscc"]),
        "yearly": (["uscc", "year"], [*YEARLY_COLUMNS, *custom_codes]),
        "qualifications": (["uscc", "type", "valid_from"], ["certificate_no", "valid_until"]),
        "negatives": (["uscc", "type", "occurred_on"], ["cleared_on"]),
    }
    new, changed = {}, {}
    for table, (keys, columns) in specs.items():
        frame = incoming.get(table)
        if frame is None or frame.is_empty():
            frame = existing[table].head(0).drop("_id")
        frame = frame.select([c for c in frame.columns if not c.startswith("_")])
        incoming[table] = frame
        new[table], changed[table] = _diff(frame, existing[table], keys, columns)
    return _Plan(new, changed)


def _write_plan(
    actor, zone: Zone, plan: _Plan, batch: ImportBatch, progress: Progress
) -> list[Any]:
    """Apply a plan: bulk inserts for new rows, updates and change records for changed ones."""
    events = []
    custom_codes = [f.code for f in zone.custom_fields()]
    ent_new = plan.new["enterprises"]
    bulk_insert_frame(
        Enterprise,
        ent_new.select([c for c in ENTERPRISE_COLUMNS if c in ent_new.columns]),
        {"zone_id": zone.pk, "import_batch_id": batch.pk},
    )
    progress(0.6, "enterprises written")
    for old, new in plan.changed["enterprises"]:
        pk = new.pop("_id")
        Enterprise.objects.filter(pk=pk).update(
            import_batch=batch, **{c: _db_value(c, v) for c, v in new.items()}
        )
        events.append(
            _change_event(
                actor, zone, "enterprise.change", "enterprises.enterprise", pk, old, new, batch
            )
        )
    id_of = dict(Enterprise.objects.filter(zone=zone).values_list("uscc", "id"))

    yearly_new = plan.new["yearly"]
    custom_present = [c for c in custom_codes if c in yearly_new.columns]
    custom_json = (
        pl.struct(
            [
                pl.col(c).cast(pl.String) if yearly_new.schema[c] == pl.Date else pl.col(c)
                for c in custom_present
            ]
        ).struct.json_encode()
        if custom_present
        else pl.lit("{}")
    )
    bulk_insert_frame(
        YearlyData,
        yearly_new.select(
            pl.col("uscc").replace_strict(id_of, return_dtype=pl.Int64).alias("enterprise_id"),
            "year",
            custom_json.alias("custom"),
            *[c for c in YEARLY_COLUMNS if c in yearly_new.columns],
        ),
        {"import_batch_id": batch.pk},
    )
    progress(0.85, "yearly data written")
    for old, new in plan.changed["yearly"]:
        pk = new.pop("_id")
        standard = {c: _db_value(c, v) for c, v in new.items() if c in YEARLY_COLUMNS}
        custom_new = {c: v for c, v in new.items() if c in custom_codes}
        if custom_new:
            current = YearlyData.objects.get(pk=pk).custom or {}
            current.update(_custom_payload(custom_new, list(custom_new)))
            standard["custom"] = current
        YearlyData.objects.filter(pk=pk).update(import_batch=batch, **standard)
        events.append(
            _change_event(
                actor, zone, "yearly.change", "enterprises.yearlydata", pk, old, new, batch
            )
        )

    for table, model, action in (
        ("qualifications", Qualification, "qualification"),
        ("negatives", NegativeRecord, "negative"),
    ):
        new_rows = plan.new[table]
        bulk_insert_frame(
            model,
            new_rows.select(
                pl.col("uscc").replace_strict(id_of, return_dtype=pl.Int64).alias("enterprise_id"),
                *[c for c in new_rows.columns if c != "uscc"],
            ),
            {"import_batch_id": batch.pk},
        )
        for old, new in plan.changed[table]:
            pk = new.pop("_id")
            model.objects.filter(pk=pk).update(
                import_batch=batch, **{c: _db_value(c, v) for c, v in new.items()}
            )
            events.append(
                _change_event(
                    actor, zone, f"{action}.change", model._meta.label_lower, pk, old, new, batch
                )
            )
    return events


def _change_event(actor, zone, action, object_type, pk, old, new, batch):
    changes = {c: [old[c], new[c]] for c in new if not _same(new[c], old.get(c))}
    return build_event(
        actor,
        action,
        zone=zone,
        object_type=object_type,
        object_id=str(pk),
        object_repr=str(new.get("uscc") or pk),
        changes={k: [_jsonish(a), _jsonish(b)] for k, (a, b) in changes.items()},
        detail={"import_batch": batch.pk},
    )


def _jsonish(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def apply_registry(
    actor,
    zone: Zone,
    frames: dict[str, pl.DataFrame],
    batch: ImportBatch,
    *,
    dry_run: bool = False,
    progress: Progress = _noop,
) -> dict[str, dict[str, int]]:
    """Write typed, validated registry frames to the zone; returns counts per table."""
    incoming = dict(frames)
    plan = plan_import(zone, incoming)
    counts = plan.counts(incoming)
    progress(0.5, "compared with the registry")
    if dry_run:
        return counts
    with transaction.atomic():
        events = _write_plan(actor, zone, plan, batch, progress)
        record_many(events)
        Zone.objects.filter(pk=zone.pk).update(data_version=F("data_version") + 1)
    if any(c["created"] or c["changed"] for c in counts.values()):
        from innopoints.policies.actions import after_import  # policies match the new data

        touched = {u for f in incoming.values() if "uscc" in f.columns for u in f["uscc"]}
        after_import(zone, sorted(touched), actor)
    return counts


# ---------------------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def reports_dir() -> Path:
    """Where error reports are kept (outside the web root)."""
    path = Path(settings.PRIVATE_FILES_DIR) / "import-reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def do_import_file(
    actor,
    zone: Zone,
    path: Path,
    *,
    file_name: str | None = None,
    mode: str = ImportBatch.Mode.STRICT,
    dry_run: bool = False,
    progress: Progress = _noop,
) -> ImportOutcome:
    """Import an enterprise data file into `zone` (see module docstring).

    strict: writes nothing when any row has an error. valid-rows: writes the valid rows
    and reports the rest. dry_run: reports what would change and writes no data.
    The batch, its counts and the audit record are kept in every case.
    """
    from innopoints.standard import report as report_writer
    from innopoints.standard import tabular

    path = Path(path)
    file_name = file_name or path.name
    batch = ImportBatch(
        zone=zone,
        file_name=file_name[:255],
        sha256=_sha256(path),
        mode=mode,
        dry_run=dry_run,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    outcome = ImportOutcome(batch=batch)
    custom_fields = zone.custom_fields()
    progress(0.02, "reading file")
    try:
        workbook = tabular.read_workbook(
            path, file_name, custom_fields=custom_fields, require_name=False
        )
    except tabular.ImportFileError as exc:
        outcome.file_error = {"code": exc.code, "zh": exc.message_zh, "en": exc.message_en}
        return _finish(actor, zone, outcome, written=False)
    progress(0.15, "validating")
    existing_usccs = set(Enterprise.objects.filter(zone=zone).values_list("uscc", flat=True))
    result = tabular.validate(
        workbook,
        custom_fields=custom_fields,
        zone_code=zone.code,
        existing_usccs=existing_usccs,
        reference_medians=_zone_medians(zone),
    )
    result = _reject_other_zones(result, zone)
    outcome.issues = list(result.issues)
    progress(0.35, "validated")
    if result.issues:
        stamp = f"{dt.datetime.now():%Y%m%d%H%M%S}"
        report_path = reports_dir() / f"import-{zone.code}-{batch.sha256[:12]}-{stamp}.xlsx"
        report_writer.write_error_report(result, workbook, report_path)
        batch.report_path = str(report_path)
    blocked = result.has_errors and mode == ImportBatch.Mode.STRICT
    frames = (
        result.valid_only().tables() if mode == ImportBatch.Mode.VALID_ROWS else result.tables()
    )
    written = False
    if not blocked and dry_run:
        outcome.counts = apply_registry(actor, zone, frames, batch, dry_run=True, progress=progress)
    elif not blocked:
        with transaction.atomic():
            batch.save()
            outcome.counts = apply_registry(actor, zone, frames, batch, progress=progress)
            written = any(c["created"] or c["changed"] for c in outcome.counts.values())
    return _finish(actor, zone, outcome, written=written)


ISSUE_SAMPLE = 500


def _issue_dict(issue: Any) -> dict[str, Any]:
    return {
        "severity": issue.severity,
        "sheet": issue.sheet,
        "row": issue.row,
        "column": issue.column,
        "value": None if issue.value is None else str(issue.value),
        "zh": issue.message_zh,
        "en": issue.message_en,
    }


def _zone_medians(zone: Zone) -> dict[str, float]:
    """Medians of the zone's money fields, for the 'far outside the distribution' warnings."""
    from innopoints.enterprises.panel import zone_frames
    from innopoints.standard.catalogue import YEARLY_FIELDS, Kind

    yearly = zone_frames(zone, custom=False)["yearly"]
    if yearly.height < 20:
        return {}
    money = [f.code for f in YEARLY_FIELDS if f.kind == Kind.MONEY and f.code in yearly.columns]
    medians = yearly.select([pl.col(c).median() for c in money]).row(0, named=True)
    return {c: float(v) for c, v in medians.items() if v}


def _reject_other_zones(result, zone: Zone):
    """Rows whose USCC is registered in another zone are errors (a firm belongs to one zone)."""
    from dataclasses import replace

    foreign = pl.DataFrame(
        {"uscc": list(Enterprise.objects.exclude(zone=zone).values_list("uscc", flat=True))},
        schema={"uscc": pl.String},
    )
    if foreign.is_empty():
        return result
    issues, updates = [], {}
    for table in ("enterprises", "yearly", "qualifications", "negatives"):
        frame = getattr(result, table)
        if frame.is_empty() or "uscc" not in frame.columns:
            continue
        hit = pl.col("uscc").is_in(foreign["uscc"].implode())
        bad = frame.filter(hit)
        if bad.is_empty():
            continue
        updates[table] = frame.with_columns((pl.col("_valid") & ~hit).alias("_valid"))
        issues.append(
            bad.select(
                pl.lit("error").alias("severity"),
                pl.col("_sheet").alias("sheet"),
                pl.col("_row").cast(pl.Int64).alias("row"),
                pl.lit("统一社会信用代码").alias("column"),
                pl.lit("uscc").alias("field"),
                pl.col("uscc").alias("value"),
                pl.lit("other_zone").alias("code"),
                pl.format(
                    "第 {} 行：统一社会信用代码 {} 已登记在其他园区，不能导入本园区",
                    pl.col("_row"),
                    pl.col("uscc"),
                ).alias("message_zh"),
                pl.format(
                    "Row {}: USCC {} is registered in another zone and cannot be "
                    "imported into this one",
                    pl.col("_row"),
                    pl.col("uscc"),
                ).alias("message_en"),
            )
        )
    if not issues:
        return result
    issues_frame = pl.concat([result.issues_frame, *issues], how="vertical_relaxed")
    return replace(result, issues_frame=issues_frame, **updates)


def _finish(actor, zone: Zone, outcome: ImportOutcome, *, written: bool) -> ImportOutcome:
    batch = outcome.batch
    batch.counts = outcome.counts
    batch.errors = outcome.errors
    batch.warnings = outcome.warnings
    batch.written = written
    batch.file_error = outcome.file_error
    batch.issue_sample = [_issue_dict(i) for i in outcome.issues[:ISSUE_SAMPLE]]
    with transaction.atomic():
        batch.save()
        record(
            actor,
            "import.dry_run" if batch.dry_run else "import",
            batch,
            zone=zone,
            object_repr=batch.file_name,
            detail={
                "mode": batch.mode,
                "written": written,
                "errors": batch.errors,
                "warnings": batch.warnings,
                "counts": outcome.counts,
                "file_error": outcome.file_error,
                "sha256": batch.sha256,
            },
        )
    return outcome
