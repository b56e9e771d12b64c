"""The later stages of a fitted model for one firm, in plain Python floats.

A one-firm what-if spends most of its time planning and running the ≈ 250 small Polars
expressions of the normalise → aggregate → points → total layers on a single row (about
45 µs an expression, whatever the row count). `RowScorer` evaluates the same arithmetic
for one row directly: the same operations in the same order on IEEE doubles, with
Polars' null rules (null in → null out, `sum_across` counts nulls as zero, `when(null)` takes
the `otherwise` branch) and IEEE results where Python would raise (x / 0, log 0). The
tests compare it bit for bit with the Polars layers on the shipped models and on models
using every method and aggregation; `FittedModel` uses it only for a single row without
an explanation, and keeps the Polars layers when `supports` says no.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from innopoints.engine.scoring.model import IndicatorModel, Node
from innopoints.engine.scoring.pipeline import (
    STAGE_INDEX,
    _levels,
    _plans,
    _stage_constant,
    col,
    weighted_children,
)

Value = float | None
_NAN = float("nan")
_INF = float("inf")


def _div(a: Value, b: Value) -> Value:
    """a / b with IEEE results for a zero divisor (Polars never raises)."""
    if a is None or b is None:
        return None
    if b == 0:
        if a == 0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)
    return a / b


def _log(a: Value) -> Value:
    if a is None:
        return None
    if a > 0:
        return math.log(a) if a != _INF else _INF
    return -_INF if a == 0 else _NAN


def _exp(a: Value) -> Value:
    if a is None:
        return None
    try:
        return math.exp(a)
    except OverflowError:
        return _INF


def _pow(a: Value, p: float) -> Value:
    """Polars' float `pow`: a square root for ½, repeated products for the integer
    exponents 1–9, the C library's pow otherwise (the tests pin this down)."""
    if a is None:
        return None
    if p == 0.5:
        return math.sqrt(a) if a >= 0 else (_NAN if a == a else a)
    if p == int(p) and 1 <= p <= 9:
        result = a
        for _ in range(int(p) - 1):
            result *= a
        return result
    try:
        result = math.pow(a, p)
    except (ValueError, OverflowError):  # negative base with a fractional exponent, 0 ** −p
        if a == 0:
            return _INF
        return _NAN if a < 0 else _INF
    return result


def _clip(a: Value, lower: float | None, upper: float | None) -> Value:
    if a is None or a != a:
        return a
    if lower is not None and a < lower:
        a = lower
    if upper is not None and a > upper:
        a = upper
    return a


def _mul(a: Value, b: Value) -> Value:
    return None if a is None or b is None else a * b


def _add(a: Value, b: Value) -> Value:
    return None if a is None or b is None else a + b


def _sum(values: list[Value]) -> float:
    """`sum_across`: nulls count as zero, added left to right (0.0 for no values)."""
    total: float | None = None
    for v in values:
        v = 0.0 if v is None else v
        total = v if total is None else total + v
    return 0.0 if total is None else total


def _finite(a: Value) -> bool:
    return a is not None and math.isfinite(a)


def _float(value: Any) -> Value:
    """`cast(pl.Float64)` of a stored field value (bools become 1.0/0.0)."""
    if value is None:
        return None
    return float(value)


class RowScorer:
    """Normalised scores, aggregation, top-down points, bonus, negative items and total
    of one row, given the row after the input stages and peer lookups (a dict of its
    columns); `supports` says whether a model can use it."""

    def __init__(self, model: IndicatorModel) -> None:
        self.model = model
        self._methods = [self._method(plan) for plan in _plans(model)]
        levels = _levels(model)  # root first
        # bottom-up: each node's score from its children's
        self._aggregates = [
            (col("nrm", node.id), _aggregator(model, node))
            for level in reversed(levels)
            for node in level
        ]
        # top-down points: each node with all its children and their weights
        self._families = [
            (node.id, [(kid.id, _weight(model, kid)) for kid in model.children(node.id)])
            for level in levels
            for node in level
        ]
        self._bonus = [(item, _weight(model, item)) for item in model.doc.bonus]
        self.scale = 100.0 if model.doc.scale == "open" else float(model.doc.scale)

    @staticmethod
    def supports(model: IndicatorModel) -> bool:
        """Whether every node has children (the Polars layers define the rest)."""
        return all(model.children(node.id) for node in model.doc.nodes)

    # ------------------------------------------------------------------ methods

    def _method(self, plan: Any) -> tuple[str, Callable[[dict[str, Any], int | None], Value]]:
        """One indicator's normalised score (`_method_score` + missing policy + cast)."""
        ind, method = plan.ind, plan.ind.method
        ident, kind = ind.id, method.kind
        trt, directed = col("trt", ident), col("dir", ident)

        def stat(name: str) -> str:
            return col(f"st_{name}", ident)

        fn: Callable[[dict[str, Any], int | None], Value]
        if kind == "reference":
            reference = _per_stage(self.model, method.reference)  # type: ignore[arg-type]
            constant = _stage_constant(self.model, method.reference)  # type: ignore[arg-type]
            if ind.direction == 1 and constant is not None:
                inverse = 1.0 / constant  # a constant divisor: × its reciprocal, as Polars

                def fn(row: dict[str, Any], stage: int | None) -> Value:
                    return _clip(_mul(row[trt], inverse), 0.0, 1.0)

            elif ind.direction == 1:

                def fn(row: dict[str, Any], stage: int | None) -> Value:
                    return _clip(_div(row[trt], reference(stage)), 0.0, 1.0)

            else:

                def fn(row: dict[str, Any], stage: int | None) -> Value:
                    value, ref = row[trt], reference(stage)
                    if value is None or ref is None:
                        return None
                    return 1.0 if value <= ref else _div(ref, value)

        elif kind == "segments":
            segments = method.segments or []
            top = max(float(s.points) for s in segments)
            table = [
                (
                    None if s.lower is None else float(s.lower),
                    None if s.upper is None else float(s.upper),
                    float(s.points) / top,
                )
                for s in segments
            ]

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                value = row[trt]
                if value is None:
                    return None
                for lower, upper, points in table:
                    if (lower is None or value >= lower) and (upper is None or value < upper):
                        return points
                return 0.0

        elif kind == "goalposts":
            worst, best = float(method.worst), float(method.best)  # type: ignore[arg-type]
            inverse_span = 1.0 / (best - worst)

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                value = row[trt]
                return None if value is None else _clip((value - worst) * inverse_span, 0.0, 1.0)

        elif kind == "ordinal":
            ordinal = col("ord", ident)  # computed by the Polars input layers

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                return row[ordinal]

        elif kind == "percentile":
            below_half, count = stat("below_half"), stat("n")

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                return _div(row[below_half], row[count])

        elif kind == "rank":
            below, count = stat("below"), stat("n")

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                n = row[count]
                if n is not None and n > 1:
                    return _div(row[below], n - 1)
                return None if row[directed] is None else 1.0

        elif kind == "minmax":
            low, high = stat("min"), stat("max")

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                lo, hi, d = row[low], row[high], row[directed]
                if lo is not None and hi is not None and hi > lo:
                    return _clip(_div(None if d is None else d - lo, hi - lo), 0.0, 1.0)
                return None if d is None else 0.5

        elif kind == "zscore":
            mean_col, std_col = stat("mean"), stat("std")
            inverse_width = 1.0 / (2.0 * method.clip)

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                mean, std, d = row[mean_col], row[std_col], row[directed]
                if std is not None and std > 0:
                    z = _div(None if d is None or mean is None else d - mean, std)
                    return _clip(None if z is None else 0.5 + z * inverse_width, 0.0, 1.0)
                return None if d is None else 0.5

        else:  # pragma: no cover - the model is validated
            raise ValueError(f"unknown method {kind}")
        if plan.missing.policy == "zero":
            score = fn

            def fn(row: dict[str, Any], stage: int | None) -> Value:
                value = score(row, stage)
                return 0.0 if value is None else value

        return col("nrm", ident), fn

    # ------------------------------------------------------------------ run

    def run(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's `nrm:*`, `pts:*`, bonus/negative columns, base, bonus, deducted and total."""
        model = self.model
        stage = row.get(STAGE_INDEX)
        out: dict[str, Any] = {}
        values = dict(row)
        for name, fn in self._methods:
            values[name] = out[name] = fn(values, stage)
        for name, aggregate in self._aggregates:
            values[name] = out[name] = aggregate(values, stage)
        root = model.root
        pts = {root.id: _mul(values[col("nrm", root.id)], self.scale)}
        for node_id, kids in self._families:
            shares = [_mul(_fill(values[col("nrm", k)]), weight(stage)) for k, weight in kids]
            per_unit = _div(_fill(pts[node_id]), _sum(shares))
            finite = _finite(per_unit)
            for (kid, _), share in zip(kids, shares, strict=True):
                pts[kid] = _mul(per_unit, share) if finite else 0.0
        out.update({col("pts", ident): value for ident, value in pts.items()})
        bonus_terms = []
        for item, weight in self._bonus:
            value = _float(row[item.field])
            value = 0.0 if value is None else value
            points = weight(stage)
            term = _mul(value, points) if item.per_unit else (points if value > 0 else 0.0)
            if item.max is not None:
                term = _clip(term, None, float(item.max))
            out[col("bonus", item.id)] = term
            bonus_terms.append(term)
        active = {}
        for item in model.doc.negative:
            value = row[item.field]
            active[item.id] = out[col("neg", item.id)] = value is not None and bool(value)
        bonus = _sum(bonus_terms)
        deducted = _sum(
            [
                float(i.points) if active[i.id] else 0.0  # type: ignore[arg-type]
                for i in model.doc.negative
                if i.action == "deduct"
            ]
        )
        base = pts[root.id]
        out.update(
            base_points=base,
            bonus_points=bonus,
            deducted_points=deducted,
            total=self._total(base, bonus, deducted, active),
        )
        return out

    def _total(self, base: Value, bonus: float, deducted: float, active: dict[str, bool]) -> Value:
        """`total_expr`: base + bonus − deductions within [0, scale], then caps and zeros."""
        if base is None:
            return None
        doc = self.model.doc
        total = _clip(base + bonus - deducted, 0.0, None)
        if doc.scale != "open":
            total = _clip(total, None, float(doc.scale))
        for item in doc.negative:
            if item.action == "cap" and active[item.id]:
                total = _clip(total, None, float(item.cap))  # type: ignore[arg-type]
        for item in doc.negative:
            if item.action == "zero" and active[item.id]:
                total = 0.0
        return total


def _fill(value: Value) -> float:
    return 0.0 if value is None else value


def _per_stage(
    model: IndicatorModel, value: float | dict[str, float]
) -> Callable[[int | None], Value]:
    """`stage_value` for one row: the number in the row's stage (a stage index; null for
    an unknown stage when the number varies)."""
    constant = _stage_constant(model, value)
    if constant is not None:
        return lambda stage: constant
    values = [float(value[code]) for code in model.stage_codes]  # type: ignore[index]
    return lambda stage: None if stage is None else values[stage]


def _weight(model: IndicatorModel, item: Any) -> Callable[[int | None], Value]:
    """`item_weight` for one row: the weight (or bonus points) in the row's stage."""
    return _per_stage(model, {code: model.weight(item, code) for code in model.stage_codes})


def _aggregator(model: IndicatorModel, node: Node) -> Callable[[dict[str, Any], int | None], Value]:
    """`_aggregate_steps` for one row: the node's score from its children's scores."""
    agg = node.aggregation
    kids = weighted_children(model, node)
    weights = [_weight(model, kid) for kid in kids]
    names = [col("nrm", k.id) for k in kids]
    shift, min_share, method = float(agg.shift), float(agg.min_share), agg.method
    p = float(agg.p) if agg.p is not None else None
    inverse_p = 1.0 / p if p else None

    def aggregate(values: dict[str, Any], stage: int | None) -> Value:
        if not kids:
            return None
        ws = [weight(stage) for weight in weights]
        pairs = list(zip([values[name] for name in names], ws, strict=True))
        avail = _sum([None if w is None else w * (s is not None) for s, w in pairs])
        total_weight = _sum(ws)
        if method == "arithmetic":
            value = _div(_sum([_mul(s, w) for s, w in pairs]), avail)
        elif method == "geometric":
            logs = _sum([_mul(_log(_add(s, shift)), w) for s, w in pairs])
            value = _add(_exp(_div(logs, avail)), -shift)
        elif method == "harmonic":
            inverse = _sum([_div(w, _add(s, shift)) for s, w in pairs])
            value = _add(_div(avail, inverse), -shift)
        else:
            powered = _sum([_mul(_pow(_add(s, shift), p), w) for s, w in pairs])  # type: ignore[arg-type]
            value = _add(_pow(_div(powered, avail), inverse_p), -shift)  # type: ignore[arg-type]
        ok = avail > 0 and avail >= min_share * total_weight - 1e-12
        return _clip(value, 0.0, 1.0) if ok else None

    return aggregate
