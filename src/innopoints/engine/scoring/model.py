"""Indicator models as versioned, validated, hashable documents (YAML).

A model document names its identity (id, version, names, effective date, published
reference, score scale), the stage scheme (the data of `StageScheme`), a flat list of
aggregate nodes and indicators linked by `parent` (so a hierarchy of any depth), bonus
and negative items, ranking peer groups and bands. `load_model` validates a document and
raises `ModelValidationError` listing every problem with its path; `model_hash` is the
SHA-256 of the canonical JSON form, so a stored score can always name the exact model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from innopoints.standard.catalogue import (
    NEGATIVE_TYPES,
    QUALIFICATION_TYPES,
    STANDARD_FIELDS,
    Kind,
    Table,
)
from innopoints.standard.catalogue import Field as CatalogueField
from innopoints.standard.stages import DEFAULT_STAGE_SCHEME, StageScheme

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs" / "models"
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "specs" / "examples"

# Columns the engine itself adds to every frame before scoring.
ENGINE_FIELDS = {"industry_section", "industry_division", "year", "stage"}

Number = float | int
StageWeights = Number | dict[str, Number]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    """A name in Chinese and English."""

    zh: str
    en: str


class MissingPolicy(_Strict):
    """What to do when an indicator's value is missing for a firm."""

    policy: Literal["zero", "impute_mean", "impute_median", "drop"] = "zero"
    group: list[str] | None = None  # peer group for imputation (default: model peer group)


def _policy_shorthand(value: Any) -> Any:
    """`missing: zero` is short for `missing: {policy: zero}`."""
    return {"policy": value} if isinstance(value, str) else value


class Segment(_Strict):
    """One row of a segment table (分段赋分): `from` ≤ value < `to` gives `points`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    lower: Number | None = Field(default=None, alias="from")
    upper: Number | None = Field(default=None, alias="to")
    points: Number


class Method(_Strict):
    """A scoring (normalisation) method; which keys apply depends on `kind`."""

    kind: Literal[
        "reference", "segments", "percentile", "minmax", "zscore", "goalposts", "rank", "ordinal"
    ]
    reference: StageWeights | None = None  # reference: full-score value (满分值参考)
    segments: list[Segment] | None = None  # segments: 分段赋分 table
    worst: Number | None = None  # goalposts
    best: Number | None = None  # goalposts
    clip: Number = 3.0  # zscore: ±clip standard deviations map to 0 and 1
    map: dict[str, Number] | None = None  # ordinal: enum value → score in [0, 1]
    group: list[str] | None = None  # relative methods: peer group (default: model's)


class Treatment(_Strict):
    """COINr-style outlier treatment: winsorise while skew and kurtosis fail, else log."""

    method: Literal["coinr"] = "coinr"
    skew: Number = 2.0
    kurtosis: Number = 3.5
    winmax: int = 5


class Transform(_Strict):
    """Optional transforms before scoring: signed log, then outlier treatment."""

    log: bool = False
    treat: Treatment | None = None


class Aggregation(_Strict):
    """How a node combines its children."""

    method: Literal["arithmetic", "geometric", "harmonic", "power"] = "arithmetic"
    p: Number | None = None  # power (generalised) mean exponent
    shift: Number = 0.01  # geometric/harmonic: added before, removed after (handles zeros)
    min_share: Number = 0.0  # minimum share of weight with data, else the node is missing


class Node(_Strict):
    """An aggregate node of the hierarchy (the root has no parent)."""

    id: str
    name: Names
    parent: str | None = None
    weight: StageWeights = 1.0
    aggregation: Aggregation = Aggregation()


class Indicator(_Strict):
    """A leaf of the hierarchy: a field, how to score it, and its weight."""

    id: str
    name: Names
    parent: str
    field: str
    direction: Literal[1, -1] = 1
    unit: str = ""
    denominator: str | None = None
    weight: StageWeights = 1.0
    missing: MissingPolicy | None = None  # None: the model default
    method: Method
    transform: Transform = Transform()

    _missing_shorthand = field_validator("missing", mode="before")(
        classmethod(lambda cls, v: _policy_shorthand(v))
    )

    @property
    def missing_policy(self) -> MissingPolicy | None:
        """The missing policy (None: the model default)."""
        return self.missing


class BonusItem(_Strict):
    """加分: points for a true boolean field, or per unit of a numeric field up to `max`."""

    id: str
    name: Names
    field: str
    points: StageWeights
    per_unit: bool = False
    max: Number | None = None


class NegativeItem(_Strict):
    """负面: a boolean field that deducts points, caps the total, or zeroes it."""

    id: str
    name: Names
    field: str
    action: Literal["deduct", "cap", "zero"]
    points: Number | None = None  # deduct: points taken off
    cap: Number | None = None  # cap: the total is at most this


class Band(_Strict):
    """A band: firms whose rank is within the top `top` share of their peer group."""

    code: str
    name: Names
    top: Annotated[float, Field(gt=0, le=1)]


class Bands(_Strict):
    """Bands by rank within one of the ranking groups."""

    group: str = "stage"
    levels: list[Band] = [
        Band(code="lead", name=Names(zh="领跑", en="Lead"), top=0.05),
        Band(code="chase", name=Names(zh="竞跑", en="Chase"), top=0.10),
        Band(code="rise", name=Names(zh="进取", en="Rise"), top=0.20),
    ]


class CustomField(_Strict):
    """A field the model needs that the data standard does not have (自定义字段)."""

    code: str
    name: Names
    kind: Literal["int", "money", "number", "ratio", "enum", "bool", "text"] = "number"
    unit: str = ""
    choices: list[str] = []


class Defaults(_Strict):
    """Model-wide defaults for indicators that do not set their own."""

    missing: MissingPolicy = MissingPolicy()
    peer_group: list[str] = []

    _missing_shorthand = field_validator("missing", mode="before")(
        classmethod(lambda cls, v: _policy_shorthand(v))
    )


class ModelDocument(_Strict):
    """The whole indicator model document."""

    id: str
    version: str
    name: Names
    effective_from: dt.date
    reference: str
    scale: Literal[100, 1000, "open"] = 100
    note: str = ""
    content_hash: str | None = None
    stages: list[dict[str, Any]] | None = None
    stage_field: str = "stage"
    custom_fields: list[CustomField] = []
    defaults: Defaults = Defaults()
    nodes: list[Node]
    indicators: list[Indicator]
    bonus: list[BonusItem] = []
    negative: list[NegativeItem] = []
    ranking: dict[str, list[str]] = {
        "overall": [],
        "zone": ["zone"],
        "stage": ["stage"],
        "industry": ["industry_section"],
    }
    bands: Bands = Bands()

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (a dotted path into the document) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ModelValidationError(ValueError):
    """An invalid model document; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid indicator model:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class IndicatorModel:
    """A validated model: the parsed document plus what the engine derives from it."""

    doc: ModelDocument
    stage_scheme: StageScheme
    fields: dict[str, CatalogueField]
    hash: str

    @property
    def id(self) -> str:
        return self.doc.id

    @property
    def version(self) -> str:
        return self.doc.version

    @property
    def stage_codes(self) -> tuple[str, ...]:
        return self.stage_scheme.codes

    @property
    def root(self) -> Node:
        return next(n for n in self.doc.nodes if n.parent is None)

    def children(self, node_id: str) -> list[Node | Indicator]:
        """The direct children of a node, nodes and indicators, in document order."""
        return [n for n in self.doc.nodes if n.parent == node_id] + [
            i for i in self.doc.indicators if i.parent == node_id
        ]

    def nodes_bottom_up(self) -> list[Node]:
        """Aggregate nodes ordered so that every node comes after all of its descendants."""
        depth: dict[str, int] = {}

        def node_depth(node_id: str) -> int:
            if node_id not in depth:
                parent = self.node(node_id).parent
                depth[node_id] = 0 if parent is None else node_depth(parent) + 1
            return depth[node_id]

        return sorted(self.doc.nodes, key=lambda n: -node_depth(n.id))

    def node(self, node_id: str) -> Node:
        return next(n for n in self.doc.nodes if n.id == node_id)

    def weight(self, item: Node | Indicator | BonusItem, stage: str) -> float:
        """The weight (or bonus points) of an item in a stage."""
        value = item.weight if not isinstance(item, BonusItem) else item.points
        return float(value[stage] if isinstance(value, dict) else value)


def canonical_form(doc: dict[str, Any] | ModelDocument) -> dict[str, Any]:
    """The document as plain JSON-able data with defaults filled and no `content_hash`."""
    if not isinstance(doc, ModelDocument):
        doc = ModelDocument.model_validate(doc)
    data = doc.model_dump(mode="json", by_alias=True)
    data.pop("content_hash", None)
    return data


def model_hash(doc: dict[str, Any] | ModelDocument) -> str:
    """SHA-256 of the canonical JSON form (sorted keys, no whitespace, UTF-8)."""
    text = json.dumps(
        canonical_form(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _structural_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(document)"
        problems.append(Problem(path, item["msg"]))
    return problems


_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


def _known_field(code: str, fields: dict[str, CatalogueField]) -> bool:
    if code in fields or code in ENGINE_FIELDS:
        return True
    for prefix, types in (("has_", QUALIFICATION_TYPES), ("neg_", NEGATIVE_TYPES)):
        if code.startswith(prefix) and code[len(prefix) :] in types:
            return True
    return False


def _model_fields(raw: dict[str, Any]) -> dict[str, CatalogueField]:
    fields = dict(STANDARD_FIELDS)
    for item in raw.get("custom_fields") or []:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            name = item.get("name") if isinstance(item.get("name"), dict) else {}
            kind = item.get("kind", "number")
            fields[item["code"]] = CatalogueField(
                item["code"],
                str(name.get("zh", item["code"])),
                str(name.get("en", item["code"])),
                Kind(kind) if kind in Kind._value2member_map_ else Kind.NUMBER,
                Table.YEARLY,
                unit_en=str(item.get("unit", "")),
                choices=tuple(item.get("choices") or ()),
                custom=True,
            )
    return fields


def _check_weight(value: Any, path: str, stages: tuple[str, ...], out: list[Problem]) -> None:
    if isinstance(value, bool):
        out.append(Problem(path, "a weight must be a number or a mapping stage → number"))
    elif isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            out.append(Problem(path, f"weight {value} must be a finite number ≥ 0"))
    elif isinstance(value, dict):
        keys = set(value)
        if keys != set(stages):
            missing = sorted(set(stages) - keys)
            extra = sorted(keys - set(stages))
            detail = []
            if missing:
                detail.append(f"missing stages {missing}")
            if extra:
                detail.append(f"unknown stages {extra}")
            out.append(
                Problem(
                    path, f"per-stage weights need exactly {list(stages)}: " + "; ".join(detail)
                )
            )
        for stage, w in value.items():
            if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
                out.append(Problem(f"{path}.{stage}", f"weight {w!r} must be a number ≥ 0"))
    else:
        out.append(Problem(path, "a weight must be a number or a mapping stage → number"))


def _check_segments(segments: Any, path: str, out: list[Problem]) -> None:
    if not isinstance(segments, list) or not segments:
        out.append(Problem(path, "a segment table needs at least one row"))
        return
    rows = []
    for k, seg in enumerate(segments):
        if not isinstance(seg, dict):
            continue
        lower, upper = seg.get("from"), seg.get("to")
        lo = -math.inf if lower is None else lower
        hi = math.inf if upper is None else upper
        if not isinstance(lo, int | float) or not isinstance(hi, int | float):
            continue
        if lo >= hi:
            out.append(
                Problem(f"{path}.{k}", f"empty segment: from {lower} is not below to {upper}")
            )
        if isinstance(seg.get("points"), int | float) and seg["points"] < 0:
            out.append(Problem(f"{path}.{k}.points", "segment points must be ≥ 0"))
        rows.append((lo, hi, k))
    rows.sort()
    for (_lo1, hi1, k1), (lo2, _hi2, k2) in zip(rows, rows[1:], strict=False):
        if lo2 > hi1:
            out.append(Problem(path, f"gap between segment {k1} (to {hi1}) and {k2} (from {lo2})"))
        elif lo2 < hi1:
            out.append(Problem(path, f"segments {k1} and {k2} overlap on [{lo2}, {hi1})"))
    if rows and all(isinstance(s, dict) and not s.get("points") for s in segments):
        out.append(Problem(path, "a segment table needs at least one row with points > 0"))


def _semantic_problems(raw: dict[str, Any]) -> list[Problem]:
    """Cross-reference checks on the raw document; tolerant of structural errors."""
    out: list[Problem] = []
    fields = _model_fields(raw)
    stages: tuple[str, ...] = DEFAULT_STAGE_SCHEME.codes
    if raw.get("stages") is not None:
        try:
            stages = StageScheme.from_data(raw["stages"]).codes
        except (ValueError, KeyError, TypeError) as exc:
            out.append(Problem("stages", f"invalid stage scheme: {exc}"))
        for k, stage in enumerate(raw["stages"] if isinstance(raw["stages"], list) else []):
            for name in _condition_fields(stage.get("when") if isinstance(stage, dict) else None):
                if not _known_field(name, fields):
                    out.append(Problem(f"stages.{k}.when", f"unknown field {name!r}"))

    for k, item in enumerate(raw.get("custom_fields") or []):
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, str):
            if code in STANDARD_FIELDS:
                out.append(Problem(f"custom_fields.{k}.code", f"{code!r} is a standard field"))
            if not _ID.match(code):
                out.append(Problem(f"custom_fields.{k}.code", f"{code!r} is not a valid code"))

    nodes = [n for n in raw.get("nodes") or [] if isinstance(n, dict)]
    indicators = [i for i in raw.get("indicators") or [] if isinstance(i, dict)]
    node_ids = [n.get("id") for n in nodes]
    seen: dict[str, str] = {}
    for section, items in (("nodes", nodes), ("indicators", indicators)):
        for k, item in enumerate(items):
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if not _ID.match(ident):
                out.append(Problem(f"{section}.{k}.id", f"{ident!r} is not a valid id"))
            if ident in seen:
                out.append(
                    Problem(f"{section}.{k}.id", f"duplicate id {ident!r} (also {seen[ident]})")
                )
            seen.setdefault(ident, f"{section}.{k}")

    roots = [n.get("id") for n in nodes if n.get("parent") is None]
    if len(roots) != 1:
        out.append(
            Problem("nodes", f"exactly one node must have no parent (the root); found {roots}")
        )
    parents = {n.get("id"): n.get("parent") for n in nodes}
    for k, node in enumerate(nodes):
        parent = node.get("parent")
        if parent is not None and parent not in node_ids:
            out.append(Problem(f"nodes.{k}.parent", f"unknown node {parent!r}"))
    # cycles: follow parents from every node
    reported: set[frozenset[str]] = set()
    for start in parents:
        path, current = [], start
        while current is not None and current in parents and current not in path:
            path.append(current)
            current = parents[current]
        if current is not None and current in path:
            cycle = path[path.index(current) :]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                k = node_ids.index(current)
                out.append(Problem(f"nodes.{k}.parent", "cycle: " + " → ".join([*cycle, current])))

    children_of: dict[str, int] = {}
    for k, ind in enumerate(indicators):
        parent = ind.get("parent")
        children_of[parent] = children_of.get(parent, 0) + 1
        if parent not in node_ids:
            out.append(Problem(f"indicators.{k}.parent", f"unknown node {parent!r}"))
        for key in ("field", "denominator"):
            code = ind.get(key)
            if isinstance(code, str) and not _known_field(code, fields):
                out.append(Problem(f"indicators.{k}.{key}", f"unknown field {code!r}"))
        _check_weight(ind.get("weight", 1.0), f"indicators.{k}.weight", stages, out)
        method = ind.get("method") if isinstance(ind.get("method"), dict) else {}
        kind = method.get("kind")
        mpath = f"indicators.{k}.method"
        if kind == "reference":
            ref = method.get("reference")
            if ref is None:
                out.append(Problem(f"{mpath}.reference", "the reference method needs `reference`"))
            else:
                _check_weight(ref, f"{mpath}.reference", stages, out)
                values = ref.values() if isinstance(ref, dict) else [ref]
                if any(isinstance(v, int | float) and v <= 0 for v in values):
                    out.append(Problem(f"{mpath}.reference", "reference values must be > 0"))
        elif kind == "segments":
            _check_segments(method.get("segments"), f"{mpath}.segments", out)
        elif kind == "goalposts":
            worst, best = method.get("worst"), method.get("best")
            if worst is None or best is None or worst == best:
                out.append(Problem(mpath, "goalposts need distinct `worst` and `best`"))
        elif kind == "ordinal":
            mapping = method.get("map")
            if not isinstance(mapping, dict) or not mapping:
                out.append(Problem(f"{mpath}.map", "the ordinal method needs a non-empty `map`"))
            else:
                fdef = fields.get(ind.get("field"))
                for value, score in mapping.items():
                    if fdef is not None and fdef.choices and str(value) not in fdef.choices:
                        out.append(Problem(f"{mpath}.map.{value}", f"not a value of {fdef.code}"))
                    if not isinstance(score, int | float) or not 0 <= score <= 1:
                        out.append(Problem(f"{mpath}.map.{value}", "scores must be in [0, 1]"))
        for gkey, group in (("method.group", method.get("group")),):
            for name in group or []:
                if not _known_field(name, fields):
                    out.append(Problem(f"indicators.{k}.{gkey}", f"unknown field {name!r}"))
        missing = ind.get("missing")
        if isinstance(missing, dict):
            for name in missing.get("group") or []:
                if not _known_field(name, fields):
                    out.append(Problem(f"indicators.{k}.missing.group", f"unknown field {name!r}"))

    for k, node in enumerate(nodes):
        _check_weight(node.get("weight", 1.0), f"nodes.{k}.weight", stages, out)
        if node.get("id") not in children_of and not any(
            n.get("parent") == node.get("id") for n in nodes
        ):
            out.append(Problem(f"nodes.{k}", f"node {node.get('id')!r} has no children"))
        agg = node.get("aggregation") if isinstance(node.get("aggregation"), dict) else {}
        if agg.get("method") == "power" and (agg.get("p") in (None, 0)):
            out.append(Problem(f"nodes.{k}.aggregation.p", "the power mean needs p ≠ 0"))
        share = agg.get("min_share", 0)
        if isinstance(share, int | float) and not 0 <= share <= 1:
            out.append(Problem(f"nodes.{k}.aggregation.min_share", "must be in [0, 1]"))

    # every node's children must have positive total weight in every stage
    for k, node in enumerate(nodes):
        kids = [c for c in nodes + indicators if c.get("parent") == node.get("id")]
        for stage in stages:
            total = 0.0
            for c in kids:
                w = c.get("weight", 1.0)
                w = w.get(stage, 0) if isinstance(w, dict) else w
                total += w if isinstance(w, int | float) else 0
            if kids and total <= 0:
                out.append(
                    Problem(f"nodes.{k}", f"children of {node.get('id')!r} weigh 0 in {stage}")
                )

    for section in ("bonus", "negative"):
        for k, item in enumerate(raw.get(section) or []):
            if not isinstance(item, dict):
                continue
            code = item.get("field")
            if isinstance(code, str) and not _known_field(code, fields):
                out.append(Problem(f"{section}.{k}.field", f"unknown field {code!r}"))
            if section == "bonus":
                _check_weight(item.get("points", 0), f"bonus.{k}.points", stages, out)
            elif item.get("action") == "deduct" and item.get("points") is None:
                out.append(Problem(f"negative.{k}.points", "a deduction needs `points`"))
            elif item.get("action") == "cap" and item.get("cap") is None:
                out.append(Problem(f"negative.{k}.cap", "a cap needs `cap`"))

    ranking = raw.get("ranking")
    if isinstance(ranking, dict):
        for name, group in ranking.items():
            for code in group or []:
                if not _known_field(code, fields):
                    out.append(Problem(f"ranking.{name}", f"unknown field {code!r}"))
    for code in (raw.get("defaults") or {}).get("peer_group") or []:
        if not _known_field(code, fields):
            out.append(Problem("defaults.peer_group", f"unknown field {code!r}"))
    bands = raw.get("bands")
    groups = ranking if isinstance(ranking, dict) else ModelDocument.model_fields["ranking"].default
    if isinstance(bands, dict):
        if bands.get("group", "stage") not in groups:
            out.append(Problem("bands.group", f"unknown ranking group {bands.get('group')!r}"))
        tops = [b.get("top") for b in bands.get("levels") or [] if isinstance(b, dict)]
        if any(not isinstance(t, int | float) for t in tops) or tops != sorted(set(tops)):
            out.append(Problem("bands.levels", "band `top` shares must increase strictly"))
    return out


def _condition_fields(node: Any) -> list[str]:
    if isinstance(node, dict):
        if set(node) == {"field"}:
            return [node["field"]]
        return [f for v in node.values() for f in _condition_fields(v)]
    if isinstance(node, list):
        return [f for v in node for f in _condition_fields(v)]
    return []


def validate_document(raw: Any) -> list[Problem]:
    """Every problem of a raw model document (empty when valid)."""
    if not isinstance(raw, dict):
        return [Problem("(document)", "a model document is a mapping")]
    problems: list[Problem] = []
    try:
        ModelDocument.model_validate(raw)
    except ValidationError as exc:
        problems += _structural_problems(exc)
    problems += _semantic_problems(raw)
    if not problems and raw.get("content_hash") not in (None, model_hash(raw)):
        problems.append(
            Problem("content_hash", f"does not match the document: expected {model_hash(raw)}")
        )
    return problems


def build_model(raw: dict[str, Any]) -> IndicatorModel:
    """A validated `IndicatorModel` from a raw document; raises `ModelValidationError`."""
    problems = validate_document(raw)
    if problems:
        raise ModelValidationError(problems)
    doc = ModelDocument.model_validate(raw)
    scheme = StageScheme.from_data(doc.stages) if doc.stages else DEFAULT_STAGE_SCHEME
    return IndicatorModel(
        doc=doc, stage_scheme=scheme, fields=_model_fields(raw), hash=model_hash(doc)
    )


def read_document(source: str | Path) -> dict[str, Any]:
    """The raw document of a model: a shipped model name, a directory, or a YAML/JSON path."""
    path = resolve_model_path(source)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ModelValidationError([Problem("(document)", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ModelValidationError([Problem("(document)", "a model document is a mapping")])
    return data


def resolve_model_path(source: str | Path) -> Path:
    """Find a model file: a path, a directory holding model.yaml, or a shipped model name."""
    path = Path(source)
    if path.is_dir():
        path = path / "model.yaml"
    if path.is_file():
        return path
    for candidate in (SPECS_DIR / f"{source}.yaml", EXAMPLES_DIR / str(source) / "model.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no model {source!r}: not a file, and not a shipped model ({', '.join(shipped_models())})"
    )


def shipped_models() -> list[str]:
    """Names of the models shipped in specs/models and specs/examples."""
    names = sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))
    names += sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/model.yaml"))
    return names


def load_model(source: str | Path | dict[str, Any]) -> IndicatorModel:
    """Load and validate a model from a name, a path, or a raw mapping."""
    raw = source if isinstance(source, dict) else read_document(source)
    return build_model(raw)


def diff_models(old: IndicatorModel, new: IndicatorModel) -> list[tuple[str, Any, Any]]:
    """Differences between two models as (path, old value, new value); lists keyed by id."""
    changes: list[tuple[str, Any, Any]] = []

    def keyed(value: Any) -> Any:
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and "id" in v for v in value)
        ):
            return {v["id"]: v for v in value}
        return value

    def walk(path: str, a: Any, b: Any) -> None:
        a, b = keyed(a), keyed(b)
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                sub = f"{path}.{key}" if path else str(key)
                if key not in b:
                    changes.append((sub, a[key], None))
                elif key not in a:
                    changes.append((sub, None, b[key]))
                else:
                    walk(sub, a[key], b[key])
        elif a != b:
            changes.append((path, a, b))

    walk("", canonical_form(old.doc), canonical_form(new.doc))
    return changes
