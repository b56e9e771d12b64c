"""Writes of the scoring app. Each runs in one transaction and leaves an audit record.

- `do_register_shipped_models`: the shipped models (national-18, extended-33) as versions
  of a zone (idempotent; done on first use of the scoring pages).
- `do_upload_model_version`: validate a YAML document with the engine; on any problem
  nothing is saved and `ModelUploadError.problems` lists every problem with its path.
- `do_activate_model_version`: the version that scores a zone's year (old/new audited).
- `do_start_scoring_run`: a background job that scores the year's wide panel with the
  activated model (`execute_scoring_run`) and bulk-inserts one `FirmScore` per firm.
- `do_import_external_scores`: externally computed points from .xlsx/.csv.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import yaml
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innopoints.audit.actions import record
from innopoints.engine.scoring import (
    DataError,
    IndicatorModel,
    Problem,
    load_model,
    score,
    shipped_models,
    validate_document,
)
from innopoints.engine.scoring.model import SPECS_DIR, canonical_form
from innopoints.enterprises.access import enterprise_ids
from innopoints.enterprises.panel import zone_derived
from innopoints.jobs.tasks import start_job
from innopoints.scoring.models import (
    ExternalScore,
    FirmScore,
    ModelActivation,
    ModelVersion,
    ScoringRun,
)
from innopoints.zones.models import Zone

Progress = Callable[[float, str], None]
MAX_YAML_BYTES = 2 * 1024 * 1024


def _noop(fraction: float, message: str = "") -> None:
    return None


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


class ScoringError(ValueError):
    """A scoring action that cannot be done (the message is for the user)."""


class ModelUploadError(ValueError):
    """An uploaded model document that is not valid; `problems` lists every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


# ---------------------------------------------------------------------------- model versions


def parse_model_yaml(text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A YAML text as a raw model document and every problem the engine finds in it."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [Problem("(document)", f"not valid YAML: {exc}")]
    problems = validate_document(raw)
    return (raw if isinstance(raw, dict) else None), problems


_MODELS: dict[str, IndicatorModel] = {}


def model_of(version: ModelVersion) -> IndicatorModel:
    """The engine model of a stored version (its canonical document; cached by hash)."""
    model = _MODELS.get(version.content_hash)
    if model is None:
        model = load_model(dict(version.document))
        if len(_MODELS) > 64:
            _MODELS.clear()
        _MODELS[version.content_hash] = model
    return model


def _new_version(
    actor, zone: Zone, model: IndicatorModel, text: str, *, shipped: bool
) -> ModelVersion:
    doc = model.doc
    return ModelVersion.objects.create(
        zone=zone,
        model_id=doc.id,
        version=doc.version,
        name_zh=doc.name.zh[:200],
        name_en=doc.name.en[:200],
        effective_from=doc.effective_from,
        content_hash=model.hash,
        document=canonical_form(doc),
        source_yaml=text,
        shipped=shipped,
        uploaded_by=_user(actor),
    )


def _shipped_sources() -> list[tuple[str, str]]:
    """(name, YAML text) of the models shipped in specs/models (not the examples)."""
    out = []
    for name in shipped_models():
        path = SPECS_DIR / f"{name}.yaml"
        if path.is_file():
            out.append((name, path.read_text(encoding="utf-8")))
    return out


def do_register_shipped_models(actor, zone: Zone) -> list[ModelVersion]:
    """Make the shipped models available to `zone` (each once; audited when added)."""
    added = []
    for name, text in _shipped_sources():
        model = load_model(yaml.safe_load(text))
        with transaction.atomic():
            if ModelVersion.objects.filter(zone=zone, content_hash=model.hash).exists():
                continue
            version = _new_version(actor, zone, model, text, shipped=True)
            record(
                actor,
                "scoring.model.register",
                version,
                zone=zone,
                detail={"shipped": name, "content_hash": model.hash},
            )
            added.append(version)
    return added


def ensure_shipped_models(zones) -> None:
    """Register the shipped models in every zone that has none yet (first use)."""
    zone_list = list(zones)
    have = set(
        ModelVersion.objects.filter(zone__in=zone_list, shipped=True).values_list(
            "zone_id", flat=True
        )
    )
    for zone in zone_list:
        if zone.pk not in have:
            do_register_shipped_models(None, zone)


def do_upload_model_version(
    actor, zone: Zone, text: str, *, file_name: str = ""
) -> tuple[ModelVersion, bool]:
    """Validate and store a model document; returns (version, created).

    Raises `ModelUploadError` with every problem (nothing is saved). A document already
    stored for the zone (same content hash) is returned unchanged with created=False.
    """
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise ModelUploadError([Problem("(document)", "the file is larger than 2 MB")])
    raw, problems = parse_model_yaml(text)
    if problems or raw is None:
        raise ModelUploadError(problems or [Problem("(document)", "empty document")])
    model = load_model(raw)
    existing = ModelVersion.objects.filter(zone=zone, content_hash=model.hash).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        version = _new_version(actor, zone, model, text, shipped=False)
        record(
            actor,
            "scoring.model.upload",
            version,
            zone=zone,
            detail={
                "model_id": model.id,
                "version": model.version,
                "content_hash": model.hash,
                "file_name": file_name,
            },
        )
    return version, True


def do_activate_model_version(actor, zone: Zone, year: int, version: ModelVersion) -> bool:
    """Make `version` the model that scores `zone` in `year`; False when it already is."""
    if version.zone_id != zone.pk:
        raise ScoringError(_("The model version belongs to another zone."))
    if not 2000 <= year <= 2100:
        raise ScoringError(_("The year must be between 2000 and 2100."))
    with transaction.atomic():
        current = (
            ModelActivation.objects.select_for_update()
            .select_related("model_version")
            .filter(zone=zone, year=year)
            .first()
        )
        if current is not None and current.model_version_id == version.pk:
            return False
        old = str(current.model_version) if current else None
        old_id = current.model_version_id if current else None
        if current is None:
            current = ModelActivation(zone=zone, year=year)
        current.model_version = version
        current.activated_by = _user(actor)
        current.save()
        record(
            actor,
            "scoring.model.activate",
            current,
            zone=zone,
            object_repr=f"{zone.code} {year}",
            changes={
                "model_version": [old, str(version)],
                "model_version_id": [old_id, version.pk],
            },
            detail={"year": year, "content_hash": version.content_hash},
        )
    return True


# ---------------------------------------------------------------------------- scoring runs


def year_frame(zone: Zone, year: int) -> pl.DataFrame:
    """The zone's wide panel with derived indicators for one year (what a run scores)."""
    return zone_derived(zone).filter(pl.col("year") == year)


def do_start_scoring_run(actor, zone: Zone, year: int) -> ScoringRun:
    """Start scoring `zone`'s firms for `year` with the activated model, as a background job.

    Raises `ScoringError` when no model version is activated for the year.
    """
    activation = (
        ModelActivation.objects.select_related("model_version").filter(zone=zone, year=year).first()
    )
    if activation is None:
        raise ScoringError(
            _("No model version is activated for %(year)s: activate one first.") % {"year": year}
        )
    version = activation.model_version
    with transaction.atomic():
        run = ScoringRun.objects.create(
            zone=zone,
            year=year,
            model_version=version,
            model_hash=version.content_hash,
            created_by=_user(actor),
        )
        record(
            actor,
            "scoring.run.start",
            run,
            zone=zone,
            detail={
                "year": year,
                "model_version": str(version),
                "model_hash": version.content_hash,
            },
        )
    run_id = run.pk
    job = start_job(
        "scoring",
        lambda progress: execute_scoring_run(actor, run_id, progress),
        user=_user(actor),
        zone=zone,
    )
    ScoringRun.objects.filter(pk=run_id).update(job=job)
    run.refresh_from_db()
    return run


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def _rank_columns(model: IndicatorModel) -> dict[str, str | None]:
    """Which ranking group of the model fills the zone, stage and industry rank columns."""
    groups = model.doc.ranking
    zone_group = "zone" if "zone" in groups else ("overall" if "overall" in groups else None)
    return {
        "zone": zone_group,
        "stage": "stage" if "stage" in groups else None,
        "industry": "industry" if "industry" in groups else None,
    }


def firm_score_rows(
    run: ScoringRun, model: IndicatorModel, scores: pl.DataFrame, ids: dict[str, int]
) -> list[FirmScore]:
    """Unsaved `FirmScore` objects from an engine scores frame (no queries)."""
    node_ids = [n.id for n in model.doc.nodes]
    indicator_ids = [i.id for i in model.doc.indicators]
    ranking = list(model.doc.ranking)
    columns = _rank_columns(model)
    stage_field = model.doc.stage_field
    out = []
    for row in scores.iter_rows(named=True):
        enterprise_id = ids.get(row["uscc"])
        if enterprise_id is None:
            continue
        placed: dict[str, Any] = {}
        for target, group in columns.items():
            placed[f"rank_{target}"] = row.get(f"rank_{group}") if group else None
            placed[f"n_{target}"] = row.get(f"n_{group}") if group else None
            placed[f"pct_{target}"] = _number(row.get(f"pct_{group}")) if group else None
        out.append(
            FirmScore(
                run=run,
                enterprise_id=enterprise_id,
                year=run.year,
                stage=row.get(stage_field) or "",
                industry_section=(row.get("industry_section") or "")[:1],
                total=_number(row["total"]),
                base_points=_number(row["base_points"]),
                bonus_points=_number(row["bonus_points"]),
                deducted_points=_number(row["deducted_points"]),
                band=row["band"] or "",
                ranks={
                    g: {
                        "rank": row[f"rank_{g}"],
                        "n": row[f"n_{g}"],
                        "pct": _number(row[f"pct_{g}"]),
                    }
                    for g in ranking
                },
                node_points={n: _number(row[f"pts_{n}"]) for n in node_ids},
                indicator_points={i: _number(row[f"pts_{i}"]) for i in indicator_ids},
                **placed,
            )
        )
    return out


def _counts(scores: pl.DataFrame, stage_field: str, stored: int) -> dict[str, Any]:
    def tally(column: str) -> dict[str, int]:
        if column not in scores.columns:
            return {}
        grouped = scores.group_by(column).len().sort(column, nulls_last=True)
        return {str(k or ""): int(n) for k, n in grouped.iter_rows()}

    return {
        "firms": scores.height,
        "stored": stored,
        "scored": int(scores.get_column("total").is_not_null().sum()),
        "stages": tally(stage_field),
        "bands": tally("band"),
    }


def execute_scoring_run(actor, run_id: int, progress: Progress = _noop) -> dict[str, Any]:
    """Score a queued run and store its results (the body of the run's background job)."""
    run = ScoringRun.objects.select_related("model_version").get(pk=run_id)
    ScoringRun.objects.filter(pk=run_id).update(status=ScoringRun.Status.RUNNING)
    zone = Zone.objects.get(pk=run.zone_id)
    try:
        progress(0.05, "reading the zone's data")
        frame = year_frame(zone, run.year)
        if frame.is_empty():
            raise ScoringError(_("The zone has no data for %(year)s.") % {"year": run.year})
        model = model_of(run.model_version)
        progress(0.3, "scoring")
        try:
            result = score(frame, model)
        except DataError as exc:
            raise ScoringError(str(exc)) from exc
        progress(0.6, "storing results")
        ids = enterprise_ids(zone)
        objects = firm_score_rows(run, model, result.scores, ids)
        counts = _counts(result.scores, model.doc.stage_field, len(objects))
        with transaction.atomic():
            FirmScore.objects.filter(run=run).delete()
            FirmScore.objects.bulk_create(objects, batch_size=500)
            ScoringRun.objects.filter(pk=run_id).update(
                status=ScoringRun.Status.DONE,
                data_hash=result.data_hash,
                model_hash=result.model_hash,
                run_hash=result.run_hash,
                data_version=zone.data_version,
                counts=counts,
                finished_at=timezone.now(),
            )
            record(
                actor,
                "scoring.run",
                run,
                zone=zone,
                detail={
                    "year": run.year,
                    "model_version": str(run.model_version),
                    "model_hash": result.model_hash,
                    "data_hash": result.data_hash,
                    "run_hash": result.run_hash,
                    "counts": counts,
                },
            )
    except Exception as exc:
        ScoringRun.objects.filter(pk=run_id).update(
            status=ScoringRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    progress(0.9, "cultivation pools")
    from innopoints.pools.actions import after_scoring_run  # pools build on scoring

    after_scoring_run(run_id, actor)
    from innopoints.policies.actions import after_scoring_run as rematch_policies

    rematch_policies(run_id, actor)  # policies that read points or bands
    progress(1.0, "done")
    return {"run": run_id, "url": reverse("scoring-run", args=[run_id])}


# ---------------------------------------------------------------------------- external points

_HEADER_ALIASES = {
    "uscc": {"uscc", "统一社会信用代码", "信用代码", "社会信用代码"},
    "year": {"year", "年度", "年份"},
    "points": {"points", "积分", "创新积分", "总分", "score", "total"},
    "rank": {"rank", "排名", "名次"},
}


@dataclass
class ExternalImportOutcome:
    """What an import of external points did."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.updated


def _read_table(data: bytes, file_name: str) -> pl.DataFrame:
    """A .xlsx or .csv (UTF-8 or GB18030) as a frame of strings; raises ScoringError."""
    if data.startswith(b"PK\x03\x04"):
        try:
            import fastexcel

            reader = fastexcel.read_excel(data)
            return reader.load_sheet(0, dtypes="string").to_polars()
        except Exception as exc:  # calamine reports its own error types
            raise ScoringError(_("The file is not a readable .xlsx workbook.")) from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return pl.read_csv(io.StringIO(text), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            raise ScoringError(_("The file is not a well-formed CSV.")) from exc
    raise ScoringError(_("The file is neither .xlsx nor a UTF-8/GBK .csv file."))


def read_external_points(data: bytes, file_name: str) -> tuple[pl.DataFrame, list[str], int]:
    """Typed valid rows (row, uscc, year, points, rank) of a points file, the errors found
    and the number of rows read."""
    raw = _read_table(data, file_name)
    names = {}
    for column in raw.columns:
        key = column.strip().lower()
        for code, aliases in _HEADER_ALIASES.items():
            if key in aliases or column.strip() in aliases:
                names.setdefault(code, column)
    missing = [c for c in ("uscc", "year", "points") if c not in names]
    if missing:
        raise ScoringError(
            _("Missing columns: %(columns)s (needed: uscc, year, points; rank is optional).")
            % {"columns": ", ".join(missing)}
        )
    rank = pl.col(names["rank"]) if "rank" in names else pl.lit(None, pl.String)
    frame = raw.with_row_index("row", offset=2).select(
        pl.col("row").cast(pl.Int64),
        pl.col(names["uscc"]).str.strip_chars().str.to_uppercase().alias("uscc"),
        pl.col(names["year"]).str.strip_chars().alias("year_text"),
        pl.col(names["points"]).str.strip_chars().alias("points_text"),
        rank.str.strip_chars().alias("rank_text"),
    )
    frame = frame.with_columns(
        pl.col("year_text")
        .cast(pl.Float64, strict=False)
        .cast(pl.Int64, strict=False)
        .alias("year"),
        pl.col("points_text").cast(pl.Float64, strict=False).alias("points"),
        pl.col("rank_text")
        .cast(pl.Float64, strict=False)
        .cast(pl.Int64, strict=False)
        .alias("rank"),
    )
    checks = [
        (pl.col("uscc").is_null() | (pl.col("uscc") == ""), _("the USCC is empty")),
        (
            pl.col("year").is_null() | ~pl.col("year").is_between(2000, 2100),
            _("the year is not a year between 2000 and 2100"),
        ),
        (
            pl.col("points").is_null() | ~pl.col("points").is_finite() | (pl.col("points") < 0),
            _("the points are not a number ≥ 0"),
        ),
        (
            pl.col("rank_text").is_not_null()
            & (pl.col("rank_text") != "")
            & (pl.col("rank").is_null() | (pl.col("rank") < 1)),
            _("the rank is not a whole number ≥ 1"),
        ),
        (
            pl.struct("uscc", "year").is_duplicated() & pl.col("uscc").is_not_null(),
            _("the USCC and year appear more than once"),
        ),
    ]
    errors: list[str] = []
    bad = pl.lit(False)
    for condition, message in checks:
        hits = frame.filter(condition.fill_null(False))
        errors += [
            _("Row %(row)s (%(uscc)s): %(problem)s")
            % {"row": r, "uscc": u or "—", "problem": message}
            for r, u in hits.select("row", "uscc").iter_rows()
        ]
        bad = bad | condition.fill_null(False)
    good = frame.filter(~bad).select("row", "uscc", "year", "points", "rank")
    return good, errors, frame.height


def do_import_external_scores(
    actor, zone: Zone, data: bytes, *, file_name: str, source: str
) -> ExternalImportOutcome:
    """Import externally computed points for `zone` under the label `source`.

    Rows with errors (and firms not registered in the zone) are reported and skipped;
    the valid rows replace earlier points of the same source, year and firm. Audited.
    """
    source = source.strip()[:64]
    if not source:
        raise ScoringError(_("Give the source of the points (e.g. national platform)."))
    good, errors, total = read_external_points(data, file_name)
    ids = pl.DataFrame(
        list(enterprise_ids(zone).items()),
        schema={"uscc": pl.String, "enterprise_id": pl.Int64},
        orient="row",
    )
    joined = good.join(ids, on="uscc", how="left", maintain_order="left")
    unknown = joined.filter(pl.col("enterprise_id").is_null())
    errors += [
        _("Row %(row)s (%(uscc)s): %(problem)s")
        % {"row": r, "uscc": u, "problem": _("no enterprise with this USCC in the zone")}
        for r, u in unknown.select("row", "uscc").iter_rows()
    ]
    valid = joined.filter(pl.col("enterprise_id").is_not_null())
    outcome = ExternalImportOutcome(rows=total, errors=errors)
    existing = set(
        ExternalScore.objects.filter(
            zone=zone, source=source, year__in=valid.get_column("year").unique().to_list()
        ).values_list("enterprise_id", "year")
    )
    user = _user(actor)
    objects = [
        ExternalScore(
            zone=zone,
            year=year,
            enterprise_id=enterprise_id,
            source=source,
            points=points,
            rank=rank,
            imported_by=user,
        )
        for year, enterprise_id, points, rank in valid.select(
            "year", "enterprise_id", "points", "rank"
        ).iter_rows()
    ]
    outcome.updated = sum(1 for o in objects if (o.enterprise_id, o.year) in existing)
    outcome.created = len(objects) - outcome.updated
    with transaction.atomic():
        ExternalScore.objects.bulk_create(
            objects,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["zone", "year", "source", "enterprise"],
            update_fields=["points", "rank", "imported_by", "imported_at"],
        )
        record(
            actor,
            "scoring.external.import",
            None,
            zone=zone,
            object_type="scoring.externalscore",
            object_repr=f"{source} · {file_name}",
            detail={
                "source": source,
                "file_name": file_name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": outcome.rows,
                "created": outcome.created,
                "updated": outcome.updated,
                "errors": len(errors),
                "years": sorted(valid.get_column("year").unique().to_list()),
            },
        )
    return outcome
