"""Per-row Python evaluation of a criterion: the reference for tests and benchmarks.

`evaluate_row(criterion, row)` reads one row of a *prepared* frame (see
`evaluate.prepare`: lag columns `<field>__y<k>`, `score__<col>`, flags) and returns the
status and the score interval with the same semantics as the compiled expressions.
It is deliberately plain and slow: one dict per firm, one tree walk per rule.
"""

from __future__ import annotations

import math
from typing import Any

from innopoints.engine.rules.compiler import EPS, data_col, has_col, neg_col
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
            return (
                sum(self.parts[n][0] for n in names),
                sum(self.parts[n][1] for n in names),
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
