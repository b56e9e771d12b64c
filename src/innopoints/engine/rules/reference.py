"""Per-row Python evaluation of a criterion: the reference for tests and benchmarks.

`evaluate_row(criterion, row)` reads one row of a *prepared* frame (see
`evaluate.prepare`: lag columns `<field>__y<k>`, `score__<col>`, flags) and returns the
status and the score interval with the same semantics as the compiled expressions.
It is deliberately plain and slow: one dict per firm, one tree walk per rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from innopoints.engine.rules.compiler import EPS, data_col, has_col, neg_col
from innopoints.engine.rules.compiler import value_key as _key
from innopoints.engine.rules.criteria import Criterion
from innopoints.engine.rules.language import (
    Arith,
    BoolField,
    BoolLit,
    Compare,
    FieldRef,
    Has,
    Judge,
    Lit,
    Logic,
    Negative,
    Node,
    PartRef,
    RangeLit,
    Ref,
    ScoreRef,
    Segments,
    Window,
)

Interval = tuple[Any, Any]


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


class _Row:
    def __init__(self, c: Criterion, row: dict[str, Any]) -> None:
        self.c, self.row = c, row
        self.parts = {p.name: self.value(p.value) for p in c.parts}

    def value(self, node: Node) -> Interval:
        if isinstance(node, Ref):
            return self.value(node.body)
        if isinstance(node, Lit):
            v = node.value if isinstance(node.value, str | bool) else float(node.value)
            return v, v
        if isinstance(node, FieldRef):
            v = self.row.get(data_col(node.code, -node.year))
            if isinstance(v, int | float) and not isinstance(v, bool):
                v = float(v)
            return v, v
        if isinstance(node, Window):
            back = -node.year
            if node.fn == "growth":
                now = _num(self.row.get(data_col(node.code, back)))
                base = _num(self.row.get(data_col(node.code, back + node.years)))
                if now is None or base is None or not base > 0 or now < 0:
                    return None, None
                v = (now / base) ** (1.0 / node.years) - 1
                return v, v
            vals = [_num(self.row.get(data_col(node.code, back + k))) for k in range(node.years)]
            if any(v is None for v in vals):
                return None, None
            total = sum(vals)  # type: ignore[arg-type]
            v = total / node.years if node.fn == "avg" else total
            return v, v
        if isinstance(node, RangeLit):
            return node.lo, node.hi
        if isinstance(node, ScoreRef):
            v = self.row.get(f"score__{node.column}")
            return v, v
        if isinstance(node, PartRef):
            names = [p.name for p in self.c.parts] if node.name == "total" else [node.name]
            # a part without a bound (a missing value in an amount formula) adds nothing,
            # as in the vectorised and row-wise paths
            return (
                sum(v for n in names if (v := self.parts[n][0]) is not None),
                sum(v for n in names if (v := self.parts[n][1]) is not None),
            )
        if isinstance(node, Segments):
            lo, hi = self.value(node.of)
            pts = [b.points for b in node.bands] + [node.otherwise]
            if lo is None or hi is None or lo != hi:
                return min(p[0] for p in pts), max(p[1] for p in pts)
            for b in node.bands:
                if _band(b.op, b.bounds, lo):
                    return b.points
            return node.otherwise
        if isinstance(node, Arith):
            vs = [self.value(a) for a in node.args]
            return _arith(node.op, vs)
        raise TypeError(node)

    def cond(self, node: Node) -> bool | None:
        if isinstance(node, Ref):
            return self.cond(node.body)
        if isinstance(node, BoolLit):
            return node.value
        if isinstance(node, Judge):
            return None
        if isinstance(node, BoolField):
            return self.row.get(node.code)
        if isinstance(node, Has):
            return self.row.get(has_col(node.qualification, node.offset_days))
        if isinstance(node, Negative):
            vals = [self.row.get(neg_col(t, node.within_years)) for t in node.types]
            return _any(vals)
        if isinstance(node, Logic):
            kids = [self.cond(a) for a in node.args]
            if node.op == "all":
                return _all(kids)
            if node.op == "any":
                return _any(kids)
            if node.op == "possible":
                return True if kids[0] is None else kids[0]
            return None if kids[0] is None else not kids[0]
        assert isinstance(node, Compare)
        if node.op in ("in", "starts_with"):
            v = self.value(node.args[0])[0]
            if v is None:
                return None
            if node.op == "in":
                return v in node.items
            return any(str(v).startswith(p) for p in node.items)
        vals = [self.value(a) for a in node.args]
        if node.op == "between":
            a, lo, hi = vals
            return _all(
                [_cmp(">=", a, lo, _eps(node.args[1])), _cmp("<=", a, hi, _eps(node.args[2]))]
            )
        a, b = vals
        left, right = node.args
        ordinal = next(
            (n for n in (left, right) if isinstance(n, FieldRef) and n.ordinal and n.choices), None
        )
        if (
            (isinstance(a[0], str) or isinstance(b[0], str))
            and ordinal is not None
            and node.op not in ("==", "!=")
        ):
            rank = {c: float(i) for i, c in enumerate(ordinal.choices)}
            ra, rb = rank.get(a[0]), rank.get(b[0])
            return _cmp(node.op, (ra, ra), (rb, rb), 0.0)
        if isinstance(a[0], str | bool) or isinstance(b[0], str | bool):
            if a[0] is None or b[0] is None:
                return None
            return (a[0] == b[0]) if node.op == "==" else (a[0] != b[0])
        return _cmp(node.op, a, b, max(_eps(left), _eps(right)))


def _eps(node: Node) -> float:
    if isinstance(node, Lit) and not isinstance(node.value, str | bool):
        return EPS * max(1.0, abs(float(node.value)))
    return 0.0


def _band(op: str, bounds: tuple[float, ...], v: float) -> bool:
    if op == "between":
        lo, hi = bounds
        return lo - EPS * max(1.0, abs(lo)) <= v <= hi + EPS * max(1.0, abs(hi))
    t = bounds[0]
    return bool(_cmp(op, (v, v), (t, t), EPS * max(1.0, abs(t))))


def _all(vals: list[bool | None]) -> bool | None:
    if any(v is False for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def _any(vals: list[bool | None]) -> bool | None:
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False


def _cmp(op: str, a: Interval, b: Interval, eps: float) -> bool | None:
    alo, ahi = a
    blo, bhi = b
    if op in (">=", ">", "<=", "<"):
        if op == ">=":
            t = alo is not None and bhi is not None and alo >= bhi - eps
            f = ahi is not None and blo is not None and ahi < blo - eps
        elif op == ">":
            t = alo is not None and bhi is not None and alo > bhi + eps
            f = ahi is not None and blo is not None and ahi <= blo + eps
        elif op == "<=":
            t = ahi is not None and blo is not None and ahi <= blo + eps
            f = alo is not None and bhi is not None and alo > bhi + eps
        else:
            t = ahi is not None and blo is not None and ahi < blo - eps
            f = alo is not None and bhi is not None and alo >= bhi - eps
        return True if t else (False if f else None)
    if None in (alo, ahi, blo, bhi):
        return None
    same = alo == ahi and blo == bhi and abs(alo - blo) <= eps
    apart = ahi < blo - eps or alo > bhi + eps
    if op == "==":
        return True if same else (False if apart else None)
    return True if apart else (False if same else None)


def _arith(op: str, vs: list[Interval]) -> Interval:
    if op in ("min", "max"):
        los = [v[0] for v in vs]
        his = [v[1] for v in vs]
        known_lo = [x for x in los if x is not None]
        known_hi = [x for x in his if x is not None]
        any_null = None in los or None in his
        if op == "max":
            return (max(known_lo) if known_lo else None), (None if any_null else max(his))
        return (None if any_null else min(los)), (min(known_hi) if known_hi else None)
    if any(x is None for v in vs for x in v):
        return None, None
    if op == "+":
        return sum(v[0] for v in vs), sum(v[1] for v in vs)
    if op == "-":
        (alo, ahi), (blo, bhi) = vs
        return alo - bhi, ahi - blo
    if op == "abs":
        lo, hi = vs[0]
        if lo == hi:
            return abs(lo), abs(lo)
        return (lo if lo >= 0 else (-hi if hi <= 0 else 0.0)), max(abs(lo), abs(hi))
    acc = vs[0]
    for b in vs[1:]:
        if op == "*":
            corners = [x * y for x in acc for y in b]
        else:
            if acc[0] == acc[1] and b[0] == b[1]:
                if b[0] == 0:
                    return None, None
                acc = (acc[0] / b[0], acc[0] / b[0])
                continue
            if not (b[0] > 0 or b[1] < 0):
                return None, None
            corners = [x / y for x in acc for y in b]
        acc = (min(corners), max(corners))
    if any(isinstance(x, float) and math.isnan(x) for x in acc):
        return None, None
    return acc


def evaluate_row(
    criterion: Criterion, row: dict[str, Any]
) -> tuple[str, float | None, float | None]:
    """(status, score_min, score_max) of one prepared row, evaluated in plain Python."""
    r = _Row(criterion, row)
    result = r.cond(criterion.rules)
    status = "eligible" if result is True else ("ineligible" if result is False else "unknown")
    if not criterion.parts:
        return status, None, None
    lo, hi = r.value(PartRef("", "total"))
    return status, lo, hi


# ----------------------------------------------------------------------------- closures
# The per-row reference (`reference._Row`) compiled once into closures: same semantics,
# no isinstance dispatch per row.

Fn = Callable[[dict[str, Any], dict[str, Interval]], Interval]
MEMO = "\x00memo"  # a row may carry a dict under this key: values shared across criteria
_KEY_IDS: dict[tuple, int] = {}


def intern_key(key: tuple) -> int:
    """A small int for a structural key (hashing nested tuples per row would cost more)."""
    return _KEY_IDS.setdefault(key, len(_KEY_IDS))


def by_identity(store: dict, objects: Sequence[Any], build: Callable[[], Any], *extra: Any) -> Any:
    """`build()`, remembered in `store` for the same objects (by identity, in order) and
    `extra` key parts; the store keeps the last few (the live path asks again and again
    for the same compiled criteria). A tuple, which cannot change, is known by its own
    identity; other sequences by their objects'."""
    if objects.__class__ is tuple:
        key = (*extra, id(objects))
        hit = store.get(key)
        if hit is not None and hit[0] is objects:
            return hit[1]
    else:
        key = (*extra, *[id(o) for o in objects])
        hit = store.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], objects, strict=True)):
            return hit[1]
    if len(store) > 16:
        store.clear()
    value = build()
    store[key] = (objects if objects.__class__ is tuple else list(objects), value)
    return value


def _value_fn(node: Node) -> Fn:
    fn = _value_fn_(node)
    skey = row_value_key(node) if isinstance(node, Arith | Window | Segments) else None
    if skey is None:
        return fn
    key = intern_key(skey)

    def cached(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
        memo = row.get(MEMO)
        if memo is None:
            return fn(row, parts)
        v = memo.get(key)
        if v is None:
            v = memo[key] = fn(row, parts)
        return v

    return cached


def row_value_key(node: Node) -> tuple | None:
    """A structural key of a value that reads only the row (points tables included),
    else None: equal keys give equal values on a row."""
    if isinstance(node, Ref):
        return row_value_key(node.body)
    if isinstance(node, Segments):
        return _segments_key(node)
    if isinstance(node, RangeLit):
        return ("R", node.lo, node.hi)
    if isinstance(node, Arith):
        keys = [row_value_key(a) for a in node.args]
        return None if None in keys else ("A", node.op, *keys)
    return _key(node)


def _segments_key(node: Segments) -> tuple | None:
    """A structural key of a points table over a row-only value (else None): the same
    table in many criteria (a criterion's threshold variants) is looked up once a row."""
    of = row_value_key(node.of)
    if of is None:
        return None
    bands = tuple((b.op, tuple(b.bounds), tuple(b.points)) for b in node.bands)
    return ("segments", of, bands, tuple(node.otherwise))


def _value_fn_(node: Node) -> Fn:
    if isinstance(node, Ref):
        return _value_fn(node.body)
    if isinstance(node, Lit):
        v = node.value if isinstance(node.value, str | bool) else float(node.value)
        const = (v, v)
        return lambda row, parts: const
    if isinstance(node, FieldRef):
        name = data_col(node.code, -node.year)

        def field(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
            v = row.get(name)
            if v.__class__ is int:
                v = float(v)
            return v, v

        return field
    if isinstance(node, Window):
        back = -node.year
        years = node.years
        if node.fn == "growth":
            now_c = data_col(node.code, back)
            base_c = data_col(node.code, back + years)

            def growth(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
                now, base = row.get(now_c), row.get(base_c)
                if now is None or base is None:
                    return None, None
                now, base = float(now), float(base)
                if not base > 0 or now < 0:
                    return None, None
                v = (now / base) ** (1.0 / years) - 1
                return v, v

            return growth
        cols = [data_col(node.code, back + k) for k in range(years)]
        avg = node.fn == "avg"

        def window(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
            vals = [row.get(c) for c in cols]
            if None in vals:
                return None, None
            total = sum(float(v) for v in vals)
            v = total / years if avg else total
            return v, v

        return window
    if isinstance(node, RangeLit):
        const = (node.lo, node.hi)
        return lambda row, parts: const
    if isinstance(node, ScoreRef):
        sname = f"score__{node.column}"

        def score(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
            v = row.get(sname)
            return v, v

        return score
    if isinstance(node, PartRef):
        pname = node.name
        if pname == "total":

            def total(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
                lo = hi = 0  # as `sum`: 0 + each bound in turn
                for v0, v1 in parts.values():
                    lo += v0
                    hi += v1
                return lo, hi

            return total

        def part(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
            v0, v1 = parts[pname]
            return 0 + v0, 0 + v1

        return part
    if isinstance(node, Segments):
        of = _value_fn(node.of)
        pts = [b.points for b in node.bands] + [node.otherwise]
        unknown = (min(p[0] for p in pts), max(p[1] for p in pts))
        bands = [(_band_test(b.op, b.bounds), b.points) for b in node.bands]
        otherwise = node.otherwise

        def segments(row: dict[str, Any], parts: dict[str, Interval]) -> Interval:
            lo, hi = of(row, parts)
            if lo is None or hi is None or lo != hi:
                return unknown
            for test, points in bands:
                if test(lo):
                    return points
            return otherwise

        return segments
    if isinstance(node, Arith):
        fns = [_value_fn(a) for a in node.args]
        op = node.op
        return lambda row, parts: _arith(op, [f(row, parts) for f in fns])
    raise TypeError(node)


LeafFn = Callable[[dict[str, Any], dict[str, Interval]], tuple[Any, Any, Any]]
_NONE2: Interval = (None, None)


def leaf_key(node: Node) -> tuple | None:
    """A structural key of a leaf condition that reads only the row (else None)."""
    if isinstance(node, Ref):
        return leaf_key(node.body)
    if isinstance(node, BoolField):
        return ("bool", node.code)
    if isinstance(node, Has):
        return ("has", node.qualification, node.offset_days)
    if isinstance(node, Negative):
        return ("neg", tuple(node.types), node.within_years)
    if isinstance(node, Compare):
        keys = [_key(a) for a in node.args]
        if None in keys:
            return None
        ordinal = [(a.choices, a.ordinal) for a in node.args if isinstance(a, FieldRef)]
        return ("cmp", node.op, tuple(node.items or ()), tuple(ordinal), *keys)
    return None


def _leaf_fn(node: Node, numeric_left: bool = False) -> LeafFn:
    """(status, interval of the left value, interval of the right value) of a leaf."""
    if isinstance(node, Ref):
        return _leaf_fn(node.body, numeric_left)
    if isinstance(node, BoolLit):
        out = (node.value, _NONE2, _NONE2)
        return lambda row, parts: out
    if isinstance(node, Judge):
        none = (None, _NONE2, _NONE2)
        return lambda row, parts: none
    if isinstance(node, BoolField | Has):
        col = (
            node.code
            if isinstance(node, BoolField)
            else has_col(node.qualification, node.offset_days)
        )
        return lambda row, parts: (row.get(col), _NONE2, _NONE2)
    if isinstance(node, Negative):
        cols = [neg_col(t, node.within_years) for t in node.types]
        return lambda row, parts: (_any([row.get(c) for c in cols]), _NONE2, _NONE2)
    if not isinstance(node, Compare):
        raise TypeError(node)
    op = node.op
    fns = [_value_fn(a) for a in node.args]
    if op in ("in", "starts_with"):
        f0 = fns[0]
        items = node.items
        prefixes = [str(p) for p in items]

        def member(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
            a = f0(row, parts)
            v = a[0]
            if v is None:
                return None, a, _NONE2
            if op == "in":
                return v in items, a, _NONE2
            s = str(v)
            return any(s.startswith(p) for p in prefixes), a, _NONE2

        return member
    if op == "between":
        fa, flo, fhi = fns
        e1, e2 = _eps(node.args[1]), _eps(node.args[2])

        def between(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
            a = fa(row, parts)
            lo, hi = flo(row, parts), fhi(row, parts)
            return _all([_cmp(">=", a, lo, e1), _cmp("<=", a, hi, e2)]), a, lo

        return between
    left, right = node.args
    fa, fb = fns
    threshold = _threshold(node, numeric_left)
    if threshold is not None:
        return _threshold_fn(op, fa, *threshold)
    ordinal = next(
        (n for n in (left, right) if isinstance(n, FieldRef) and n.ordinal and n.choices), None
    )
    rank = {c: float(i) for i, c in enumerate(ordinal.choices)} if ordinal is not None else None
    eps = max(_eps(left), _eps(right))

    def compare(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
        a, b = fa(row, parts), fb(row, parts)
        a0, b0 = a[0], b[0]
        if (
            rank is not None
            and (a0.__class__ is str or b0.__class__ is str)
            and op not in ("==", "!=")
        ):
            ra, rb = rank.get(a0), rank.get(b0)
            return _cmp(op, (ra, ra), (rb, rb), 0.0), a, b
        if isinstance(a0, str | bool) or isinstance(b0, str | bool):
            if a0 is None or b0 is None:
                return None, a, b
            return ((a0 == b0) if op == "==" else (a0 != b0)), a, b
        return _cmp(op, a, b, eps), a, b

    return compare


def _threshold(node: Compare, numeric_left: bool) -> tuple[float, float] | None:
    """(threshold, eps) of a comparison `numeric value op literal` (op one of
    >= > <= <), the case `_threshold_fn` serves; else None."""
    left, right = node.args[0], node.args[-1]
    if not (numeric_left and node.op in (">=", ">", "<=", "<") and isinstance(right, Lit)):
        return None
    if isinstance(right.value, str | bool):
        return None
    return float(right.value), max(_eps(left), _eps(right))


def threshold_of(node: Node, numeric_left: bool) -> tuple[str, int, Fn, float, float] | None:
    """(op, left value's key, left value fn, threshold, eps) of a row-only leaf
    `value op literal`, else None: leaves with the same op and left value can be tested
    against all their thresholds at once."""
    if isinstance(node, Ref):
        return threshold_of(node.body, numeric_left)
    if not isinstance(node, Compare):
        return None
    threshold = _threshold(node, numeric_left)
    lkey = _key(node.args[0])
    if threshold is None or lkey is None:
        return None
    return node.op, intern_key(("value", lkey)), _value_fn(node.args[0]), *threshold


def _threshold_fn(op: str, fa: Fn, t: float, eps: float) -> LeafFn:
    """`value op literal` for a numeric value: `_cmp` against (t, t), unrolled."""
    b = (t, t)
    lo_t, hi_t = t - eps, t + eps

    if op == ">=":

        def test(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
            a = fa(row, parts)
            if a[0] is not None and a[0] >= lo_t:
                return True, a, b
            if a[1] is not None and a[1] < lo_t:
                return False, a, b
            return None, a, b

    elif op == ">":

        def test(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
            a = fa(row, parts)
            if a[0] is not None and a[0] > hi_t:
                return True, a, b
            if a[1] is not None and a[1] <= hi_t:
                return False, a, b
            return None, a, b

    elif op == "<=":

        def test(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
            a = fa(row, parts)
            if a[1] is not None and a[1] <= hi_t:
                return True, a, b
            if a[0] is not None and a[0] > hi_t:
                return False, a, b
            return None, a, b

    else:

        def test(row: dict[str, Any], parts: dict[str, Interval]) -> tuple[Any, Any, Any]:
            a = fa(row, parts)
            if a[1] is not None and a[1] < lo_t:
                return True, a, b
            if a[0] is not None and a[0] >= lo_t:
                return False, a, b
            return None, a, b

    return test


def _band_test(op: str, bounds: tuple[float, ...]) -> Callable[[float], bool]:
    """`_band(op, bounds, v)` as a closure (thresholds computed once)."""
    if op == "between":
        lo, hi = bounds
        a, b = lo - EPS * max(1.0, abs(lo)), hi + EPS * max(1.0, abs(hi))
        return lambda v: a <= v <= b
    t = bounds[0]
    eps = EPS * max(1.0, abs(t))
    lo_t, hi_t = t - eps, t + eps
    return {
        ">=": lambda v: v >= lo_t,
        ">": lambda v: v > hi_t,
        "<=": lambda v: v <= hi_t,
        "<": lambda v: v < lo_t,
        "==": lambda v: abs(v - t) <= eps,
        "!=": lambda v: v < lo_t or v > hi_t,
    }[op]
