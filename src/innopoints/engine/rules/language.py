"""The rule language: parse and validate JSON/YAML rule trees into a typed tree.

A rule is a tree of plain mappings, lists and scalars — nothing is executed, there is no
`eval`, no user regex, no file or SQL access. `parse_condition` / `parse_value` check a
tree against the field catalogue and return typed nodes; every problem is collected as a
`Problem` whose path points at the node (`rules.all[2].>=[0]: unknown field ...`).

Conditions (true / false / unknown, Kleene logic):
  `{"all": [c, ...]}`, `{"any": [c, ...]}`, `{"not": c}`,
  `{"<op>": [v, v]}` for `==, !=, <, <=, >, >=`, `{"between": [v, lo, hi]}` (inclusive
  at both ends), `{"in": [v, [literal, ...]]}`, `{"starts_with": [v, ["C39", ...]]}`,
  `{"has": "<qualification>", "offset_days": n}`,
  `{"negative": ["<type>", ...], "within_years": n}`, `{"ref": "<name>"}`,
  `true` / `false`, and a boolean field `{"field": "has_high_tech"}`.
Values:
  numbers and strings, `{"field": code, "year": -k}`, `{"sum"|"avg"|"growth": {"field":
  code, "years": n, "year": -k}}`, `{"+"|"-"|"*"|"/": [v, v, ...]}`, `{"min"|"max": [v,
  ...]}`, `{"abs": v}`, `{"segments": {"of": v, "bands": [{">=": x, "points": p}, ...],
  "otherwise": p}}`, `{"score": name}`, `{"part": name}`, `{"param": name}`,
  `{"range": [lo, hi]}` (a value known only to lie in [lo, hi]), `{"ref": name}`.
Any node may carry `"label": {"zh": ..., "en": ...}` for display.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from innopoints.standard.catalogue import NEGATIVE_TYPES, QUALIFICATION_TYPES, Field, Kind

MAX_NODES = 2000
MAX_DEPTH = 40
MAX_LIST = 500
MAX_STRING = 200
MAX_YEARS = 10
MAX_BANDS = 50

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/")
CONDITION_OPS = ("all", "any", "not", "possible", *COMPARISONS, "between", "in", "starts_with",
                 "has", "negative", "judge")  # fmt: skip
VALUE_OPS = ("field", "sum", "avg", "growth", *ARITHMETIC, "min", "max", "abs", "segments",
             "score", "part", "param", "range")  # fmt: skip
OPTION_KEYS = {
    "has": {"offset_days"},
    "negative": {"within_years"},
    "field": {"year"},
}
SCORE_COLUMNS = (
    "total", "base_points", "bonus_points", "deducted_points", "band",
    "rank_overall", "rank_zone", "rank_stage", "rank_industry",
    "n_overall", "n_zone", "n_stage", "n_industry",
    "pct_overall", "pct_zone", "pct_stage", "pct_industry",
)  # fmt: skip
SCORE_ALIASES = {f"percentile_{g}": f"pct_{g}" for g in ("overall", "zone", "stage", "industry")}


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (a node path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleError(ValueError):
    """A rule or criterion document is not valid; `problems` lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------- typed nodes


@dataclass
class Node:
    """Base of typed nodes; `path` is where the node sits in its document."""

    path: str
    label: dict[str, str] | None = field(default=None, kw_only=True)


# values ------------------------------------------------------------------------------
@dataclass
class Lit(Node):
    value: float | int | str | bool
    param: str | None = None  # the parameter it came from, for display


@dataclass
class FieldRef(Node):
    code: str
    kind: Kind
    year: int = 0  # 0 = the evaluation year, -1 = the year before, ...
    choices: tuple[str, ...] = ()
    ordinal: bool = False


@dataclass
class Window(Node):
    fn: str  # sum | avg | growth
    code: str
    kind: Kind
    years: int
    year: int = 0


@dataclass
class Arith(Node):
    op: str  # + - * / min max abs
    args: list[Node]


@dataclass
class Band(Node):
    op: str  # a comparison or "between"
    bounds: tuple[float, ...]
    points: tuple[float, float]  # (lo, hi); equal for an exact number of points


@dataclass
class Segments(Node):
    of: Node
    bands: list[Band]
    otherwise: tuple[float, float]


@dataclass
class ScoreRef(Node):
    column: str


@dataclass
class PartRef(Node):
    name: str


@dataclass
class RangeLit(Node):
    lo: float
    hi: float


# conditions --------------------------------------------------------------------------
@dataclass
class Logic(Node):
    op: str  # all | any | not
    args: list[Node]


@dataclass
class Compare(Node):
    op: str  # a comparison, "between", "in" or "starts_with"
    args: list[Node]
    items: tuple[Any, ...] = ()  # literals for in / starts_with


@dataclass
class Has(Node):
    qualification: str
    offset_days: int = 0


@dataclass
class Negative(Node):
    types: tuple[str, ...]
    within_years: int | None = None


@dataclass
class Judge(Node):
    """A condition only experts can decide: always unknown, with what they must judge."""

    text: dict[str, str]


@dataclass
class BoolLit(Node):
    value: bool


@dataclass
class BoolField(Node):
    code: str


@dataclass
class Ref(Node):
    """A named sub-rule, inlined; `body` is its parsed tree."""

    name: str
    body: Node


CONDITION_NODES = (Logic, Compare, Has, Negative, BoolLit, BoolField, Judge)


def is_condition(node: Node) -> bool:
    """Whether a typed node is a condition (as opposed to a value)."""
    if isinstance(node, Ref):
        return is_condition(node.body)
    return isinstance(node, CONDITION_NODES)


def value_kind(node: Node) -> str:
    """'num', 'str' or 'bool' for a value node."""
    if isinstance(node, Ref):
        return value_kind(node.body)
    if isinstance(node, Lit):
        if isinstance(node.value, bool):
            return "bool"
        return "str" if isinstance(node.value, str) else "num"
    if isinstance(node, FieldRef):
        if node.kind in (Kind.TEXT, Kind.ENUM):
            return "str"
        if node.kind == Kind.BOOL:
            return "bool"
        if node.kind == Kind.DATE:
            return "date"
        return "num"
    if isinstance(node, ScoreRef):
        return "str" if node.column == "band" else "num"
    return "num"


# --------------------------------------------------------------------------- context


@dataclass
class Context:
    """What names a rule may use: fields, parameters, sub-rules, parts, qualification types."""

    fields: dict[str, Field]
    params: dict[str, Any] = field(default_factory=dict)
    definitions: dict[str, Any] = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = tuple(QUALIFICATION_TYPES)
    negatives: tuple[str, ...] = tuple(NEGATIVE_TYPES)
    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0
    _stack: list[str] = field(default_factory=list)
    _cache: dict[str, Node] = field(default_factory=dict)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _label(raw: Any, path: str, ctx: Context) -> dict[str, str] | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or not set(raw) <= {"zh", "en"}
        or not all(isinstance(v, str) and len(v) <= MAX_STRING for v in raw.values())
    ):
        ctx.problem(f"{path}.label", "a label is {zh: text, en: text}")
        return None
    return dict(raw)


def _split(raw: dict[str, Any], path: str, ctx: Context, ops: tuple[str, ...]) -> str | None:
    """The operator key of a mapping node, checking its other keys are allowed options."""
    keys = [k for k in raw if k != "label"]
    found = [k for k in keys if k in ops]
    if len(found) != 1:
        if not found:
            unknown = keys[0] if keys else "(empty)"
            ctx.problem(path, f"unknown operator {unknown!r}{_suggest(unknown, ops)}")
        else:
            ctx.problem(path, f"a node has one operator, found {found}")
        return None
    op = found[0]
    extra = set(keys) - {op} - OPTION_KEYS.get(op, set())
    if extra:
        ctx.problem(path, f"{op!r} does not take {sorted(extra)}")
    return op


def _enter(path: str, ctx: Context, depth: int) -> bool:
    ctx.nodes += 1
    if ctx.nodes > MAX_NODES:
        if ctx.nodes == MAX_NODES + 1:
            ctx.problem(path, f"rule too large: more than {MAX_NODES} nodes")
        return False
    if depth > MAX_DEPTH:
        ctx.problem(path, f"rule too deep: more than {MAX_DEPTH} levels")
        return False
    return True


def _ref(name: Any, path: str, ctx: Context, depth: int, want: str) -> Node | None:
    if not isinstance(name, str) or name not in ctx.definitions:
        names = sorted(ctx.definitions)
        ctx.problem(path, f"unknown sub-rule {name!r}{_suggest(str(name), names)}")
        return None
    if name in ctx._stack:
        ctx.problem(path, f"sub-rule {name!r} refers to itself ({' → '.join(ctx._stack)})")
        return None
    ctx._stack.append(name)
    try:
        body_path = f"definitions.{name}"
        raw = ctx.definitions[name]
        looks_condition = _looks_condition(raw)
        if want == "condition" and not looks_condition:
            ctx.problem(path, f"sub-rule {name!r} is a value, a condition is needed here")
            return None
        if want == "value" and looks_condition:
            ctx.problem(path, f"sub-rule {name!r} is a condition, a value is needed here")
            return None
        parse = parse_condition if looks_condition else parse_value
        body = parse(raw, body_path, ctx, depth + 1)
    finally:
        ctx._stack.pop()
    if body is None:
        return None
    return Ref(path, name, body, label=getattr(body, "label", None))


def _looks_condition(raw: Any) -> bool:
    if isinstance(raw, bool):
        return True
    if isinstance(raw, dict):
        keys = [k for k in raw if k != "label"]
        if any(k in CONDITION_OPS for k in keys):
            return True
        if keys == ["field"] and str(raw["field"]).startswith(("has_", "neg_")):
            return True
    return False


# --------------------------------------------------------------------------- conditions


def parse_condition(raw: Any, path: str, ctx: Context, depth: int = 0) -> Node | None:
    """Parse and check a condition; problems go to `ctx.problems`; None when invalid."""
    if not _enter(path, ctx, depth):
        return None
    if isinstance(raw, bool):
        return BoolLit(path, raw)
    if not isinstance(raw, dict):
        ctx.problem(path, f"a condition is a mapping with one operator, not {raw!r}")
        return None
    label = _label(raw.get("label"), path, ctx)
    if "ref" in raw and len([k for k in raw if k != "label"]) == 1:
        node = _ref(raw["ref"], f"{path}.ref", ctx, depth, "condition")
        if node is not None and label:
            node.label = label
        return node
    if [k for k in raw if k != "label"] == ["field"]:
        code = raw["field"]
        known = ctx.fields.get(code) if isinstance(code, str) else None
        is_flag = isinstance(code, str) and code.startswith(("has_", "neg_"))
        if is_flag:
            kind = code[4:]
            pool = ctx.qualifications if code.startswith("has_") else ctx.negatives
            if kind not in pool:
                ctx.problem(f"{path}.field", f"unknown flag {code!r}")
                return None
            return BoolField(path, code, label=label)
        if known is None or known.kind != Kind.BOOL:
            ctx.problem(f"{path}.field", f"{code!r} is not a yes/no field; compare it instead")
            return None
        return BoolField(path, code, label=label)
    op = _split(raw, path, ctx, CONDITION_OPS)
    if op is None:
        return None
    arg = raw[op]
    here = f"{path}.{op}"
    if op in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            ctx.problem(here, f"{op!r} takes a non-empty list of conditions")
            return None
        if len(arg) > MAX_LIST:
            ctx.problem(here, f"more than {MAX_LIST} items")
            return None
        kids = [parse_condition(a, f"{here}[{i}]", ctx, depth + 1) for i, a in enumerate(arg)]
        if any(k is None for k in kids):
            return None
        return Logic(path, op, kids, label=label)
    if op in ("not", "possible"):
        kid = parse_condition(arg, here, ctx, depth + 1)
        return None if kid is None else Logic(path, op, [kid], label=label)
    if op == "judge":
        text = _label(arg, here, ctx)
        if text is None:
            ctx.problem(here, "'judge' takes {zh: what experts decide, en: ...}")
            return None
        return Judge(path, text, label=label)
    if op in COMPARISONS:
        if not isinstance(arg, list) or len(arg) != 2:
            ctx.problem(here, f"{op!r} takes a list of two values")
            return None
        left = parse_value(arg[0], f"{here}[0]", ctx, depth + 1)
        right = parse_value(arg[1], f"{here}[1]", ctx, depth + 1, peer=left)
        if left is None or right is None:
            return None
        if not _comparable(left, right, op, here, ctx):
            return None
        return Compare(path, op, [left, right], label=label)
    if op == "between":
        if not isinstance(arg, list) or len(arg) != 3:
            ctx.problem(here, "'between' takes [value, low, high] (inclusive at both ends)")
            return None
        vals = [parse_value(a, f"{here}[{i}]", ctx, depth + 1) for i, a in enumerate(arg)]
        if any(v is None for v in vals):
            return None
        for i, v in enumerate(vals):
            if value_kind(v) != "num":
                ctx.problem(f"{here}[{i}]", "'between' compares numbers")
                return None
        return Compare(path, op, vals, label=label)
    if op in ("in", "starts_with"):
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[1], list | dict):
            ctx.problem(here, f"{op!r} takes [value, [literal, ...]] or [value, {{param: name}}]")
            return None
        left = parse_value(arg[0], f"{here}[0]", ctx, depth + 1)
        items = arg[1]
        if isinstance(items, dict) and set(items) == {"param"}:
            if items["param"] not in ctx.params or not isinstance(ctx.params[items["param"]], list):
                ctx.problem(f"{here}[1]", f"parameter {items['param']!r} is not a list")
                return None
            items = ctx.params[items["param"]]
        if left is None:
            return None
        if not items or len(items) > MAX_LIST:
            ctx.problem(f"{here}[1]", f"a list of 1 to {MAX_LIST} literals")
            return None
        kind = value_kind(left)
        for i, item in enumerate(items):
            ok = isinstance(item, str) if kind == "str" else _is_number(item)
            if op == "starts_with":
                ok = isinstance(item, str) and kind == "str"
            if not ok or (isinstance(item, str) and len(item) > MAX_STRING):
                ctx.problem(f"{here}[1][{i}]", f"{item!r} is not a {kind} literal")
                return None
            if (
                op == "in"
                and isinstance(left, FieldRef)
                and left.choices
                and item not in left.choices
            ):
                ctx.problem(
                    f"{here}[1][{i}]",
                    f"{item!r} is not a value of {left.code}{_suggest(item, left.choices)}",
                )
                return None
        return Compare(path, op, [left], tuple(items), label=label)
    if op == "has":
        if arg not in ctx.qualifications:
            ctx.problem(
                here,
                f"unknown qualification {arg!r}{_suggest(str(arg), ctx.qualifications)}",
            )
            return None
        offset = raw.get("offset_days", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 3660:
            ctx.problem(f"{path}.offset_days", "a whole number of days within ±3660")
            return None
        return Has(path, arg, offset, label=label)
    if op == "negative":
        types = [arg] if isinstance(arg, str) else arg
        if not isinstance(types, list) or not types:
            ctx.problem(here, "'negative' takes a type or a list of types")
            return None
        for i, t in enumerate(types):
            if t not in ctx.negatives:
                ctx.problem(
                    f"{here}[{i}]", f"unknown negative type {t!r}{_suggest(str(t), ctx.negatives)}"
                )
                return None
        within = raw.get("within_years")
        if within is not None and (
            not isinstance(within, int) or isinstance(within, bool) or not 1 <= within <= MAX_YEARS
        ):
            ctx.problem(f"{path}.within_years", f"a whole number of years, 1 to {MAX_YEARS}")
            return None
        return Negative(path, tuple(types), within, label=label)
    raise AssertionError(op)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _comparable(left: Node, right: Node, op: str, path: str, ctx: Context) -> bool:
    lk, rk = value_kind(left), value_kind(right)
    if "date" in (lk, rk):
        ctx.problem(path, "dates are not compared directly; use age_years")
        return False
    if lk != rk:
        ctx.problem(path, f"cannot compare a {lk} with a {rk}")
        return False
    if lk in ("str", "bool") and op not in ("==", "!="):
        ordinal = any(isinstance(n, FieldRef) and n.ordinal for n in (left, right))
        if not ordinal:
            ctx.problem(path, f"{op!r} needs numbers or an ordered (ordinal) field")
            return False
    return True


# --------------------------------------------------------------------------- values


def parse_value(
    raw: Any, path: str, ctx: Context, depth: int = 0, peer: Node | None = None
) -> Node | None:
    """Parse and check a value node; `peer` is the other side of a comparison (for enums)."""
    if not _enter(path, ctx, depth):
        return None
    if isinstance(raw, bool):
        return Lit(path, raw)
    if _is_number(raw):
        return Lit(path, raw)
    if isinstance(raw, str):
        if len(raw) > MAX_STRING:
            ctx.problem(path, f"text longer than {MAX_STRING} characters")
            return None
        if isinstance(peer, FieldRef) and peer.choices and raw not in peer.choices:
            ctx.problem(path, f"{raw!r} is not a value of {peer.code}{_suggest(raw, peer.choices)}")
            return None
        return Lit(path, raw)
    if not isinstance(raw, dict):
        ctx.problem(path, f"a value is a number, a text or a mapping, not {raw!r}")
        return None
    label = _label(raw.get("label"), path, ctx)
    if "ref" in raw and len([k for k in raw if k != "label"]) == 1:
        return _ref(raw["ref"], f"{path}.ref", ctx, depth, "value")
    op = _split(raw, path, ctx, VALUE_OPS)
    if op is None:
        return None
    arg = raw[op]
    here = f"{path}.{op}"
    if op == "field":
        year = raw.get("year", 0)
        if not isinstance(year, int) or isinstance(year, bool) or not -MAX_YEARS <= year <= 0:
            ctx.problem(f"{path}.year", f"a year offset from -{MAX_YEARS} to 0")
            return None
        return _field(arg, here, ctx, year, label)
    if op in ("sum", "avg", "growth"):
        if not isinstance(arg, dict) or "field" not in arg:
            ctx.problem(here, f"{op!r} takes {{field: code, years: n}}")
            return None
        extra = set(arg) - {"field", "years", "year"}
        if extra:
            ctx.problem(here, f"{op!r} does not take {sorted(extra)}")
            return None
        years = arg.get("years", 1 if op == "growth" else None)
        year = arg.get("year", 0)
        if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= MAX_YEARS:
            ctx.problem(f"{here}.years", f"a whole number of years, 1 to {MAX_YEARS}")
            return None
        if not isinstance(year, int) or not -MAX_YEARS <= year <= 0:
            ctx.problem(f"{here}.year", f"a year offset from -{MAX_YEARS} to 0")
            return None
        ref = _field(arg["field"], f"{here}.field", ctx, year, None)
        if ref is None:
            return None
        if value_kind(ref) != "num":
            ctx.problem(f"{here}.field", f"{op!r} needs a numeric field")
            return None
        return Window(path, op, ref.code, ref.kind, years, year, label=label)
    if op in ARITHMETIC or op in ("min", "max"):
        if not isinstance(arg, list) or len(arg) < (1 if op in ("min", "max") else 2):
            ctx.problem(here, f"{op!r} takes a list of values")
            return None
        if op in ("-", "/") and len(arg) != 2:
            ctx.problem(here, f"{op!r} takes exactly two values")
            return None
        if len(arg) > MAX_LIST:
            ctx.problem(here, f"more than {MAX_LIST} items")
            return None
        args = [parse_value(a, f"{here}[{i}]", ctx, depth + 1) for i, a in enumerate(arg)]
        if any(a is None for a in args):
            return None
        for i, a in enumerate(args):
            if value_kind(a) != "num":
                ctx.problem(f"{here}[{i}]", f"{op!r} needs numbers")
                return None
        return Arith(path, op, args, label=label)
    if op == "abs":
        a = parse_value(arg, here, ctx, depth + 1)
        if a is None:
            return None
        if value_kind(a) != "num":
            ctx.problem(here, "'abs' needs a number")
            return None
        return Arith(path, "abs", [a], label=label)
    if op == "segments":
        return _segments(arg, here, ctx, depth, label)
    if op == "score":
        column = SCORE_ALIASES.get(arg, arg)
        if not isinstance(column, str) or not (
            column in SCORE_COLUMNS or column.startswith("pts_")
        ):
            ctx.problem(here, f"unknown score column {arg!r}{_suggest(str(arg), SCORE_COLUMNS)}")
            return None
        return ScoreRef(path, column, label=label)
    if op == "part":
        if arg != "total" and arg not in ctx.parts:
            ctx.problem(here, f"unknown score part {arg!r}{_suggest(str(arg), ctx.parts)}")
            return None
        return PartRef(path, arg, label=label)
    if op == "param":
        if arg not in ctx.params:
            ctx.problem(here, f"unknown parameter {arg!r}{_suggest(str(arg), list(ctx.params))}")
            return None
        value = ctx.params[arg]
        if not (_is_number(value) or isinstance(value, str | bool)):
            ctx.problem(here, f"parameter {arg!r} is not a single number or text")
            return None
        if (
            isinstance(peer, FieldRef)
            and peer.choices
            and isinstance(value, str)
            and value not in peer.choices
        ):
            ctx.problem(here, f"parameter {arg!r}={value!r} is not a value of {peer.code}")
            return None
        return Lit(path, value, param=arg, label=label)
    if op == "range":
        if not (isinstance(arg, list) and len(arg) == 2 and all(_is_number(a) for a in arg)):
            ctx.problem(here, "'range' takes [low, high] numbers")
            return None
        if arg[0] > arg[1]:
            ctx.problem(here, "'range' low is above high")
            return None
        return RangeLit(path, float(arg[0]), float(arg[1]), label=label)
    raise AssertionError(op)


def _field(
    code: Any, path: str, ctx: Context, year: int, label: dict[str, str] | None
) -> Node | None:
    if not isinstance(code, str) or code not in ctx.fields:
        ctx.problem(path, f"unknown field {code!r}{_suggest(str(code), list(ctx.fields))}")
        return None
    f = ctx.fields[code]
    return FieldRef(path, code, f.kind, year, f.choices, f.ordinal, label=label)


def _number_or_param(x: Any, path: str, ctx: Context) -> float | None:
    if isinstance(x, dict) and set(x) == {"param"}:
        if x["param"] not in ctx.params:
            ctx.problem(path, f"unknown parameter {x['param']!r}")
            return None
        x = ctx.params[x["param"]]
    if not _is_number(x):
        ctx.problem(path, f"a number or {{param: name}}, not {x!r}")
        return None
    return float(x)


def _points(x: Any, path: str, ctx: Context) -> tuple[float, float] | None:
    if isinstance(x, list):
        if len(x) == 2 and all(_is_number(v) for v in x) and x[0] <= x[1]:
            return float(x[0]), float(x[1])
        ctx.problem(path, "points are a number or [low, high]")
        return None
    v = _number_or_param(x, path, ctx)
    return None if v is None else (v, v)


def _segments(
    arg: Any, path: str, ctx: Context, depth: int, label: dict[str, str] | None
) -> Node | None:
    if not isinstance(arg, dict) or "of" not in arg or "bands" not in arg:
        ctx.problem(path, "'segments' takes {of: value, bands: [...], otherwise: points}")
        return None
    extra = set(arg) - {"of", "bands", "otherwise"}
    if extra:
        ctx.problem(path, f"'segments' does not take {sorted(extra)}")
        return None
    of = parse_value(arg["of"], f"{path}.of", ctx, depth + 1)
    if of is None:
        return None
    if value_kind(of) != "num":
        ctx.problem(f"{path}.of", "'segments' maps a number to points")
        return None
    bands_raw = arg["bands"]
    if not isinstance(bands_raw, list) or not 1 <= len(bands_raw) <= MAX_BANDS:
        ctx.problem(f"{path}.bands", f"a list of 1 to {MAX_BANDS} bands")
        return None
    bands = []
    for i, b in enumerate(bands_raw):
        bp = f"{path}.bands[{i}]"
        if not isinstance(b, dict) or "points" not in b:
            ctx.problem(bp, "a band is {<op>: threshold, points: p}")
            return None
        ops = [k for k in b if k != "points"]
        if len(ops) != 1 or ops[0] not in (*COMPARISONS, "between"):
            ctx.problem(bp, f"a band has one of {', '.join(COMPARISONS)} or between")
            return None
        bop = ops[0]
        if bop == "between":
            if not isinstance(b[bop], list) or len(b[bop]) != 2:
                ctx.problem(f"{bp}.between", "[low, high], inclusive")
                return None
            bounds = [_number_or_param(x, f"{bp}.between[{j}]", ctx) for j, x in enumerate(b[bop])]
        else:
            bounds = [_number_or_param(b[bop], f"{bp}.{bop}", ctx)]
        pts = _points(b["points"], f"{bp}.points", ctx)
        if pts is None or any(x is None for x in bounds):
            return None
        bands.append(Band(bp, bop, tuple(bounds), pts))  # type: ignore[arg-type]
    otherwise = _points(arg.get("otherwise", 0), f"{path}.otherwise", ctx)
    if otherwise is None:
        return None
    return Segments(path, of, bands, otherwise, label=label)


def walk(node: Node):
    """Every node of a typed tree, depth first (sub-rule bodies included)."""
    yield node
    children: list[Node] = []
    if isinstance(node, (Logic | Arith, Compare)):
        children = node.args
    elif isinstance(node, Segments):
        children = [node.of]
    elif isinstance(node, Ref):
        children = [node.body]
    for c in children:
        yield from walk(c)
