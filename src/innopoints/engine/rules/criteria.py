"""Criterion documents: a rule set with its source, parameters, sub-rules and score parts.

A criterion (评价/认定标准) is a YAML document:

```yaml
id: tech_sme
version: "2022-1"
kind: criterion            # or precheck (part of the official test is expert judgement)
name: {zh: 科技型中小企业, en: Tech-based SME}
source: {document: 科技型中小企业评价办法, reference: 国科发政〔2022〕16号, url: ...}
effective_from: 2022-06-01
params:                    # every threshold, with where it comes from
  max_staff: {value: 500, origin: official}
  gazelle_cagr: {value: 0.2, origin: zone_default}
  sme_industry_staff: {value: 1000, origin: official, verify: true}
definitions: {name: <rule tree>}          # local sub-rules, used as {ref: name}
score: {parts: [{name, zh, en, max, value: <value tree>}]}   # scored criteria
rules: <condition tree>                   # eligible / ineligible / unknown
judgement: {zh: ..., en: ...}             # prechecks: what still needs experts
```

Sub-rules shared by several criteria (e.g. `sme_by_industry`, 中小企业划型) live in
`specs/criteria/_shared.yaml` with their own parameters; a criterion's own parameters and
definitions take precedence. `load_criterion(name_or_path, params=...)` applies a zone's
parameter overrides and validates everything against the field catalogue.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from innopoints.engine.rules.language import (
    MAX_STRING,
    Context,
    Node,
    PartRef,
    Problem,
    RuleError,
    parse_condition,
    parse_value,
    walk,
)
from innopoints.standard.catalogue import (
    NEGATIVE_TYPES,
    QUALIFICATION_TYPES,
    Field,
    field_catalogue,
)

CRITERIA_DIR = Path(__file__).resolve().parents[2] / "specs" / "criteria"
SHARED_FILE = "_shared.yaml"
OFFICIAL = (
    "tech_sme",
    "high_tech_precheck",
    "innovative_sme",
    "srdi_sme",
    "little_giant_precheck",
    "gazelle",
    "listing_reserve",
    "tech_leader",
)
ORIGINS = ("official", "zone_default", "verify")
TOP_KEYS = {
    "id", "version", "kind", "name", "source", "effective_from", "params", "definitions",
    "score", "rules", "judgement", "notes",
}  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One part of a scored criterion."""

    name: str
    zh: str
    en: str
    max: float
    value: Node

    def label(self, lang: str) -> str:
        """The part's display name."""
        return self.en if lang.startswith("en") else self.zh


@dataclass(frozen=True)
class Criterion:
    """A validated criterion: its document, parameters and parsed trees."""

    id: str
    version: str
    kind: str
    name: dict[str, str]
    source: dict[str, Any]
    params: dict[str, Any]
    param_meta: dict[str, dict[str, Any]]
    rules: Node
    parts: tuple[Part, ...]
    document: dict[str, Any] = field(repr=False)
    fields: dict[str, Field] = field(repr=False)
    judgement: dict[str, str] | None = None

    @property
    def scored(self) -> bool:
        """Whether the criterion computes a score."""
        return bool(self.parts)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical resolved document (parameters applied)."""
        text = json.dumps(self.document, sort_keys=True, ensure_ascii=False, default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def title(self, lang: str = "zh") -> str:
        """The criterion's display name."""
        return self.name.get("en" if lang.startswith("en") else "zh") or self.id


def shipped_criteria() -> list[str]:
    """Names of the criteria shipped in `specs/criteria/`."""
    return sorted(
        p.stem
        for p in CRITERIA_DIR.glob("*.yaml")
        if not p.name.startswith("_") and not p.name.endswith(".tests.yaml")
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError([Problem("(document)", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise RuleError([Problem("(document)", "a criterion document is a mapping")])
    return data


def shared_document() -> dict[str, Any]:
    """The shared sub-rules and their parameters (`_shared.yaml`)."""
    path = CRITERIA_DIR / SHARED_FILE
    return _read_yaml(path) if path.is_file() else {"params": {}, "definitions": {}}


def resolve_path(source: str | Path) -> Path:
    """A criterion file: a path, or the name of a shipped criterion."""
    path = Path(source)
    if path.is_file():
        return path
    candidate = CRITERIA_DIR / f"{source}.yaml"
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(
        f"no criterion {source!r}: not a file, and not shipped ({', '.join(shipped_criteria())})"
    )


def load_criterion(
    source: str | Path | dict[str, Any],
    params: dict[str, Any] | None = None,
    custom_fields: list[Field] | tuple[Field, ...] = (),
    qualification_types: tuple[str, ...] | None = None,
) -> Criterion:
    """Load and validate a criterion (shipped name, path or mapping); raise `RuleError`.

    `params` overrides parameter values (a zone's settings); unknown names are errors.
    """
    raw = copy.deepcopy(source) if isinstance(source, dict) else _read_yaml(resolve_path(source))
    problems: list[Problem] = []
    extra = set(raw) - TOP_KEYS
    if extra:
        problems.append(Problem("(document)", f"unknown keys {sorted(extra)}"))
    for key in ("id", "name", "rules"):
        if key not in raw:
            problems.append(Problem(key, "required"))
    if problems:
        raise RuleError(problems)
    shared = shared_document()
    meta: dict[str, dict[str, Any]] = {}
    values: dict[str, Any] = {}
    for origin_doc, prefix in ((shared, "shared.params"), (raw, "params")):
        for name, spec in (origin_doc.get("params") or {}).items():
            path = f"{prefix}.{name}"
            if isinstance(spec, dict):
                if "value" not in spec:
                    problems.append(Problem(path, "a parameter needs a value"))
                    continue
                origin = spec.get("origin", "official")
                if origin not in ORIGINS:
                    problems.append(Problem(f"{path}.origin", f"one of {', '.join(ORIGINS)}"))
                meta[name] = {k: v for k, v in spec.items() if k != "value"}
                values[name] = spec["value"]
            else:
                meta[name] = {"origin": "official"}
                values[name] = spec
    for name, value in (params or {}).items():
        if name not in values:
            problems.append(Problem(f"params.{name}", "unknown parameter (override)"))
            continue
        values[name] = value
        meta[name] = {**meta[name], "overridden": True}
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_STRING:
            problems.append(Problem(f"params.{name}", "text too long"))
    definitions = {**(shared.get("definitions") or {}), **(raw.get("definitions") or {})}
    fields = field_catalogue(tuple(custom_fields))
    part_names = []
    for i, p in enumerate((raw.get("score") or {}).get("parts") or []):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or "value" not in p:
            problems.append(Problem(f"score.parts[{i}]", "a part is {name, zh, en, max, value}"))
            continue
        part_names.append(p["name"])
    if len(set(part_names)) != len(part_names):
        problems.append(Problem("score.parts", "part names must be unique"))
    ctx = Context(
        fields=fields,
        params=values,
        definitions=definitions,
        parts=tuple(part_names),
        qualifications=qualification_types or tuple(QUALIFICATION_TYPES),
        negatives=tuple(NEGATIVE_TYPES),
    )
    parts: list[Part] = []
    for i, p in enumerate((raw.get("score") or {}).get("parts") or []):
        if not isinstance(p, dict) or "value" not in p:
            continue
        ctx.nodes = 0
        node = parse_value(p["value"], f"score.parts[{i}].value", ctx)
        if node is not None:
            parts.append(
                Part(
                    p["name"],
                    str(p.get("zh", p["name"])),
                    str(p.get("en", p["name"])),
                    float(p.get("max", 0)),
                    node,
                )
            )
    ctx.nodes = 0
    rules = parse_condition(raw["rules"], "rules", ctx)
    kind = raw.get("kind", "criterion")
    if kind not in ("criterion", "precheck"):
        problems.append(Problem("kind", "criterion or precheck"))
    name = raw["name"]
    if not isinstance(name, dict) or not {"zh", "en"} <= set(name):
        problems.append(Problem("name", "{zh: ..., en: ...}"))
    problems += ctx.problems
    if problems or rules is None:
        raise RuleError(problems or [Problem("rules", "invalid")])
    labels = {p.name: {"zh": p.zh, "en": p.en} for p in parts}
    for tree in [rules, *(p.value for p in parts)]:
        for node in walk(tree):
            if isinstance(node, PartRef) and node.name in labels and not node.label:
                node.label = labels[node.name]
    resolved = {
        **{k: v for k, v in raw.items() if k not in ("params", "definitions")},
        "params": {n: {**meta[n], "value": values[n]} for n in sorted(values)},
        "definitions": definitions,
    }
    eff = raw.get("effective_from")
    if isinstance(eff, dt.date):
        resolved["effective_from"] = eff.isoformat()
    return Criterion(
        id=str(raw["id"]),
        version=str(raw.get("version", "1")),
        kind=kind,
        name=dict(name),
        source=dict(raw.get("source") or {}),
        params=values,
        param_meta=meta,
        rules=rules,
        parts=tuple(parts),
        document=resolved,
        fields=fields,
        judgement=raw.get("judgement"),
    )


def load_rule(
    tree: Any,
    rule_id: str = "rule",
    params: dict[str, Any] | None = None,
    custom_fields: list[Field] | tuple[Field, ...] = (),
) -> Criterion:
    """A bare condition tree (e.g. a pool's or a policy's rule) as a one-off criterion."""
    return load_criterion(
        {
            "id": rule_id,
            "name": {"zh": rule_id, "en": rule_id},
            "params": params or {},
            "rules": tree,
        },
        custom_fields=custom_fields,
    )


def validate_rule(
    tree: Any,
    params: dict[str, Any] | None = None,
    custom_fields: list[Field] | tuple[Field, ...] = (),
) -> list[Problem]:
    """Problems of a bare rule tree (empty when valid): for save-time checks in the UI."""
    try:
        load_rule(tree, params=params, custom_fields=custom_fields)
    except RuleError as exc:
        return exc.problems
    return []


def official_criteria(params: dict[str, dict[str, Any]] | None = None) -> list[Criterion]:
    """The eight shipped criteria, with optional per-criterion parameter overrides."""
    return [load_criterion(name, (params or {}).get(name)) for name in OFFICIAL]
