"""Compile typed rule trees into Polars expressions (one columnar pass over all firms).

Values compile to an interval `[lo, hi]` of expressions: exact data give lo = hi; a
score part whose input is missing, or an expert-judged `range`, gives the lowest and
highest points still possible. A comparison is true when it holds for every value in
the intervals, false when it holds for none, and unknown (null) otherwise — so a score
test like "score ≥ 60" is decided whenever the missing data cannot change the answer.
Conditions combine with Kleene logic (Polars' `&`, `|`, `all_horizontal`, ...).

Evaluation runs in stages of `with_columns`, per criterion `i`: score parts
(`_r{i}_p{k}_lo/hi`), leaf conditions (`_r{i}_l{k}`), inner nodes (`_r{i}_n{k}`), and
then the outputs: status, score, reasons (the deciding leaves with their values, in
Chinese or English), missing fields and, on request, the near-miss.

Comparisons against a literal threshold tolerate a relative 1e-9, so a ratio that is
exactly on a boundary (60 ÷ 1000 = 6%) is on it despite floating point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import polars as pl

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
from innopoints.engine.rules.render import (
    NEGATE,
    OP_TEXT,
    field_name,
    fmt_expr,
    fmt_of,
    fmt_py,
    is_en,
    negative_names,
    qualification_name,
    threshold_text,
    value_text,
)
from innopoints.standard.catalogue import Kind

EPS = 1e-9
STATUS = ("eligible", "ineligible", "unknown")

# Ratio indicators whose shortfall can be told as a change of the numerator.
RATIO_PARTS: dict[str, tuple[str, str, bool]] = {
    "rd_intensity": ("rd_expense", "revenue", False),
    "rd_cost_ratio": ("rd_expense", "total_cost", False),
    "tech_staff_ratio": ("tech_staff", "staff_total", True),
    "rd_staff_ratio": ("rd_staff", "staff_total", True),
    "high_tech_revenue_ratio": ("high_tech_revenue", "revenue", False),
    "main_revenue_ratio": ("main_revenue", "revenue", False),
}


def data_col(code: str, lag: int = 0) -> str:
    """The column holding `code` of year − lag in a prepared frame."""
    return code if lag == 0 else f"{code}__y{lag}"


def has_col(kind: str, offset_days: int = 0) -> str:
    """The column telling whether a qualification is held (at 31 Dec + offset)."""
    return f"has_{kind}" if offset_days == 0 else f"_has_{kind}__d{offset_days}"


def neg_col(kind: str, within_years: int | None = None) -> str:
    """The column telling whether a negative record is active (or occurred in a window)."""
    return f"neg_{kind}" if not within_years else f"_neg_{kind}__w{within_years}"


@dataclass
class Needs:
    """What a compiled rule needs from the prepared frame."""

    lags: set[tuple[str, int]] = field(default_factory=set)  # (field, years back)
    scores: set[str] = field(default_factory=set)
    has: set[tuple[str, int]] = field(default_factory=set)
    negatives: set[tuple[str, int | None]] = field(default_factory=set)
    columns: set[str] = field(default_factory=set)  # plain columns (year 0)

    def update(self, other: Needs) -> None:
        """Merge another rule's needs into this one."""
        self.lags |= other.lags
        self.scores |= other.scores
        self.has |= other.has
        self.negatives |= other.negatives
        self.columns |= other.columns


@dataclass
class Val:
    """A compiled value: an interval of expressions and the columns it reads."""

    lo: pl.Expr
    hi: pl.Expr
    exact: bool
    cols: list[tuple[str, str]]  # (column, field code) read; for the missing list
    kind: str = "num"  # num | str | bool


@dataclass
class Leaf:
    """A leaf condition: its node, its status column and its reason parts."""

    index: int
    node: Node
    column: str
    polarity: bool  # True when under an odd number of `not`
    vals: list[Val]
    ancestors: list[tuple[str, str]] = field(default_factory=list)  # (status col, op) chain
    expr: pl.Expr | None = None


def _const(node: Node) -> float | None:
    if isinstance(node, Lit) and not isinstance(node.value, str | bool):
        return float(node.value)
    return None


class Compiler:
    """Compile one criterion (index `i` names its columns) to staged expressions."""

    def __init__(self, criterion: Criterion, index: int = 0) -> None:
        self.c = criterion
        self.i = index
        self.p = f"_r{index}_"
        self.needs = Needs()
        self.leaves: list[Leaf] = []
        self.inner: list[tuple[str, pl.Expr, int]] = []
        self.tree: dict[str, tuple[str, list[str]]] = {}  # inner col -> (op, child cols)
        self.part_names = [p.name for p in criterion.parts]
        self.part_exprs: list[tuple[str, pl.Expr]] = []
        self.part_cols: list[list[tuple[str, str]]] = []
        for k, part in enumerate(criterion.parts):
            v = self.value(part.value)
            self.part_cols.append(v.cols)
            self.part_exprs += [
                (f"{self.p}p{k}_lo", v.lo.cast(pl.Float64)),
                (f"{self.p}p{k}_hi", v.hi.cast(pl.Float64)),
            ]
        self.root_col, self.root_op = self.condition(criterion.rules, False, [])

    # ---------------------------------------------------------------- values
    def _col(self, code: str, lag: int = 0) -> tuple[pl.Expr, tuple[str, str]]:
        if lag == 0 and code in RATIO_PARTS:
            num, den, _ = RATIO_PARTS[code]
            self.needs.columns |= {num, den}
        name = data_col(code, lag)
        if lag:
            self.needs.lags.add((code, lag))
        else:
            self.needs.columns.add(code)
        return pl.col(name), (name, code)

    def value(self, node: Node) -> Val:
        """Compile a value node to an interval."""
        if isinstance(node, Ref):
            return self.value(node.body)
        if isinstance(node, Lit):
            e = pl.lit(node.value)
            kind = (
                "bool"
                if isinstance(node.value, bool)
                else ("str" if isinstance(node.value, str) else "num")
            )
            if kind == "num":
                e = pl.lit(float(node.value), dtype=pl.Float64)
            return Val(e, e, True, [], kind)
        if isinstance(node, FieldRef):
            e, c = self._col(node.code, -node.year)
            kind = "num"
            if node.kind in (Kind.TEXT, Kind.ENUM):
                kind = "str"
            elif node.kind == Kind.BOOL:
                kind = "bool"
            else:
                e = e.cast(pl.Float64)
            return Val(e, e, True, [c], kind)
        if isinstance(node, Window):
            back = -node.year
            if node.fn == "growth":
                now, c0 = self._col(node.code, back)
                base, c1 = self._col(node.code, back + node.years)
                now, base = now.cast(pl.Float64), base.cast(pl.Float64)
                ratio = now / base
                e = pl.when((base > 0) & (now >= 0)).then(
                    ratio - 1 if node.years == 1 else ratio.pow(1.0 / node.years) - 1
                )
                return Val(e, e, True, [c0, c1])
            cols = [self._col(node.code, back + k) for k in range(node.years)]
            total = cols[0][0].cast(pl.Float64)
            for e, _ in cols[1:]:
                total = total + e.cast(pl.Float64)
            if node.fn == "avg":
                total = total / node.years
            return Val(total, total, True, [c for _, c in cols])
        if isinstance(node, RangeLit):
            return Val(pl.lit(node.lo), pl.lit(node.hi), node.lo == node.hi, [])
        if isinstance(node, ScoreRef):
            self.needs.scores.add(node.column)
            name = f"score__{node.column}"
            e = pl.col(name)
            kind = "str" if node.column == "band" else "num"
            if kind == "num":
                e = e.cast(pl.Float64)
            return Val(e, e, True, [(name, f"score:{node.column}")], kind)
        if isinstance(node, PartRef):
            if node.name == "total":
                ks = range(len(self.part_names))
            else:
                ks = [self.part_names.index(node.name)]
            lo = pl.sum_horizontal([pl.col(f"{self.p}p{k}_lo") for k in ks])
            hi = pl.sum_horizontal([pl.col(f"{self.p}p{k}_hi") for k in ks])
            return Val(lo, hi, False, [c for k in ks for c in self.part_cols[k]])
        if isinstance(node, Arith):
            return self._arith(node)
        if isinstance(node, Segments):
            return self._segments(node)
        raise TypeError(f"not a value node: {node!r}")

    def _arith(self, node: Arith) -> Val:
        vs = [self.value(a) for a in node.args]
        cols = [c for v in vs for c in v.cols]
        exact = all(v.exact for v in vs)
        op = node.op
        if op == "+":
            lo, hi = vs[0].lo, vs[0].hi
            for v in vs[1:]:
                lo, hi = lo + v.lo, hi + v.hi
            return Val(lo, hi if not exact else lo, exact, cols)
        if op == "-":
            a, b = vs
            if exact:
                e = a.lo - b.lo
                return Val(e, e, True, cols)
            return Val(a.lo - b.hi, a.hi - b.lo, False, cols)
        if op in ("*", "/"):
            acc = vs[0]
            for b in vs[1:]:
                acc = self._muldiv(op, acc, b)
            acc.cols = cols
            return acc
        if op in ("min", "max"):
            los = [v.lo for v in vs]
            his = [v.hi for v in vs]
            any_null = pl.any_horizontal([e.is_null() for e in (*los, *his)])
            if op == "max":
                lo = pl.max_horizontal(los)  # the max is at least any known lower bound
                hi = pl.when(any_null).then(None).otherwise(pl.max_horizontal(his))
            else:
                hi = pl.min_horizontal(his)
                lo = pl.when(any_null).then(None).otherwise(pl.min_horizontal(los))
            return Val(lo, hi, False, cols)
        if op == "abs":
            (a,) = vs
            if a.exact:
                e = a.lo.abs()
                return Val(e, e, True, cols)
            lo = pl.when(a.lo >= 0).then(a.lo).when(a.hi <= 0).then(-a.hi).otherwise(0.0)
            hi = pl.max_horizontal(a.lo.abs(), a.hi.abs())
            hi = pl.when(a.lo.is_null() | a.hi.is_null()).then(None).otherwise(hi)
            return Val(lo, hi, False, cols)
        raise AssertionError(op)

    @staticmethod
    def _muldiv(op: str, a: Val, b: Val) -> Val:
        if a.exact and b.exact:
            e = a.lo * b.lo if op == "*" else pl.when(b.lo != 0).then(a.lo / b.lo)
            return Val(e, e, True, [])
        if op == "*":
            corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
            ok = pl.all_horizontal([x.is_not_null() for x in (a.lo, a.hi, b.lo, b.hi)])
        else:
            corners = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]
            ok = pl.all_horizontal([x.is_not_null() for x in (a.lo, a.hi, b.lo, b.hi)]) & (
                (b.lo > 0) | (b.hi < 0)
            )
        lo = pl.when(ok).then(pl.min_horizontal(corners))
        hi = pl.when(ok).then(pl.max_horizontal(corners))
        return Val(lo, hi, False, [])

    @staticmethod
    def _band_test(op: str, bounds: tuple[float, ...], v: pl.Expr) -> pl.Expr:
        if op == "between":
            lo, hi = bounds
            return (v >= lo - EPS * max(1.0, abs(lo))) & (v <= hi + EPS * max(1.0, abs(hi)))
        t = bounds[0]
        eps = EPS * max(1.0, abs(t))
        return {
            ">=": lambda: v >= t - eps,
            ">": lambda: v > t + eps,
            "<=": lambda: v <= t + eps,
            "<": lambda: v < t - eps,
            "==": lambda: (v - t).abs() <= eps,
            "!=": lambda: (v - t).abs() > eps,
        }[op]()

    def _segments(self, node: Segments) -> Val:
        of = self.value(node.of)
        all_points = [b.points for b in node.bands] + [node.otherwise]
        pmin = min(p[0] for p in all_points)
        pmax = max(p[1] for p in all_points)
        v = of.lo

        def chain(which: int) -> pl.Expr:
            first = node.bands[0]
            ch = pl.when(self._band_test(first.op, first.bounds, v)).then(
                pl.lit(first.points[which])
            )
            for b in node.bands[1:]:
                ch = ch.when(self._band_test(b.op, b.bounds, v)).then(pl.lit(b.points[which]))
            return ch.otherwise(pl.lit(node.otherwise[which]))

        known = v.is_not_null() if of.exact else (v.is_not_null() & (of.lo == of.hi))
        lo = pl.when(known).then(chain(0)).otherwise(pl.lit(pmin)).cast(pl.Float64)
        hi = pl.when(known).then(chain(1)).otherwise(pl.lit(pmax)).cast(pl.Float64)
        return Val(lo, hi, False, of.cols)

    # ---------------------------------------------------------------- conditions
    def condition(
        self, node: Node, polarity: bool, chain: list[tuple[str, str]]
    ) -> tuple[str, str]:
        """Compile a condition; returns (status column, op) and registers leaves/inner nodes."""
        if isinstance(node, Ref):
            return self.condition(node.body, polarity, chain)
        if isinstance(node, Logic):
            col = f"{self.p}n{len(self.inner)}"
            self.inner.append((col, pl.lit(None), len(chain)))  # placeholder, filled below
            slot = len(self.inner) - 1
            sub = [*chain, (col, node.op)]
            kids = [self.condition(a, polarity ^ (node.op == "not"), sub) for a in node.args]
            exprs = [pl.col(k) for k, _ in kids]
            if node.op == "all":
                e = pl.all_horizontal(exprs) if len(exprs) > 1 else exprs[0]
            elif node.op == "any":
                e = pl.any_horizontal(exprs) if len(exprs) > 1 else exprs[0]
            elif node.op == "possible":
                e = exprs[0].fill_null(True)
            else:
                e = ~exprs[0]
            self.inner[slot] = (col, e, len(chain))
            self.tree[col] = (node.op, [k for k, _ in kids])
            return col, node.op
        col = f"{self.p}l{len(self.leaves)}"
        leaf = Leaf(len(self.leaves), node, col, polarity, [], list(chain))
        leaf.expr = self._leaf_expr(node, leaf)
        self.leaves.append(leaf)
        return col, "leaf"

    def _leaf_expr(self, node: Node, leaf: Leaf) -> pl.Expr:
        if isinstance(node, BoolLit):
            return pl.lit(node.value, dtype=pl.Boolean)
        if isinstance(node, Judge):
            return pl.lit(None, dtype=pl.Boolean)
        if isinstance(node, BoolField):
            self.needs.columns.add(node.code)
            leaf.vals = [Val(pl.col(node.code), pl.col(node.code), True, [(node.code, node.code)])]
            return pl.col(node.code).cast(pl.Boolean)
        if isinstance(node, Has):
            self.needs.has.add((node.qualification, node.offset_days))
            name = has_col(node.qualification, node.offset_days)
            leaf.vals = [Val(pl.col(name), pl.col(name), True, [(name, name)], "bool")]
            return pl.col(name).cast(pl.Boolean)
        if isinstance(node, Negative):
            names = []
            for t in node.types:
                self.needs.negatives.add((t, node.within_years))
                names.append(neg_col(t, node.within_years))
            cols = [(n, n) for n in names]
            leaf.vals = [Val(pl.lit(None), pl.lit(None), True, cols, "bool")]
            exprs = [pl.col(n).cast(pl.Boolean) for n in names]
            return pl.any_horizontal(exprs) if len(exprs) > 1 else exprs[0]
        assert isinstance(node, Compare)
        vals = [self.value(a) for a in node.args]
        leaf.vals = vals
        if node.op == "in":
            (v,) = vals
            if v.kind == "num":
                return v.lo.is_in([float(x) for x in node.items]).cast(pl.Boolean)
            return v.lo.is_in(list(node.items))
        if node.op == "starts_with":
            (v,) = vals
            tests = [v.lo.str.starts_with(str(p)) for p in node.items]
            return pl.any_horizontal(tests) if len(tests) > 1 else tests[0]
        if node.op == "between":
            a, lo, hi = vals
            eps_lo = self._eps(node.args[1])
            eps_hi = self._eps(node.args[2])
            return _kleene_and(_cmp(">=", a, lo, eps_lo), _cmp("<=", a, hi, eps_hi))
        a, b = vals
        la, lb = node.args
        if a.kind == "str" or b.kind == "str":
            ordinal = next(
                (n for n in (la, lb) if isinstance(n, FieldRef) and n.ordinal and n.choices), None
            )
            if ordinal is not None and node.op not in ("==", "!="):
                mapping = {c: i for i, c in enumerate(ordinal.choices)}

                def rank(e: pl.Expr) -> pl.Expr:
                    return e.replace_strict(
                        list(mapping), list(mapping.values()), default=None, return_dtype=pl.Int64
                    ).cast(pl.Float64)

                ra, rb = rank(a.lo), rank(b.lo)
                return _cmp(node.op, Val(ra, ra, True, []), Val(rb, rb, True, []), 0.0)
            e = a.lo == b.lo if node.op == "==" else a.lo != b.lo
            return e
        if a.kind == "bool":
            return a.lo == b.lo if node.op == "==" else a.lo != b.lo
        eps = max(self._eps(la), self._eps(lb))
        return _cmp(node.op, a, b, eps)

    @staticmethod
    def _eps(node: Node) -> float:
        c = _const(node)
        return 0.0 if c is None else EPS * max(1.0, abs(c))

    # ---------------------------------------------------------------- stages
    def stages(self) -> list[list[pl.Expr]]:
        """The `with_columns` stages: parts, leaves, then inner nodes deepest first.

        Stage k of every criterion can run in the same `with_columns` (see `merge_stages`).
        """
        parts = [e.alias(n) for n, e in self.part_exprs]
        leaves = [leaf.expr.alias(leaf.column) for leaf in self.leaves]
        depth = max((d for _, _, d in self.inner), default=-1)
        out = [parts, leaves]
        for level in range(depth, -1, -1):
            out.append([e.alias(n) for n, e, d in self.inner if d == level])
        out.append([self._state_expr(leaf).alias(self.state_col(leaf)) for leaf in self.leaves])
        return out

    def state_col(self, leaf: Leaf) -> str:
        """The column of a leaf's display state: 0 not deciding, 1 ✓, 2 ✗, 3 ? (unknown)."""
        return f"{self.p}s{leaf.index}"

    def _state_expr(self, leaf: Leaf) -> pl.Expr:
        status = pl.col(leaf.column)
        good = ~status if leaf.polarity else status
        return (
            pl.when(~self.decisive(leaf))
            .then(pl.lit(0, dtype=pl.UInt8))
            .when(good)
            .then(pl.lit(1, dtype=pl.UInt8))
            .when(~good)
            .then(pl.lit(2, dtype=pl.UInt8))
            .otherwise(pl.lit(3, dtype=pl.UInt8))
        )

    def forced_root(self, column: str, value: bool) -> pl.Expr:
        """The root status if one leaf column were `value` (for the near-miss)."""

        def build(col: str) -> pl.Expr:
            if col == column:
                return pl.lit(value, dtype=pl.Boolean)
            if col not in self.tree:
                return pl.col(col)
            op, kids = self.tree[col]
            if column not in self._below(col):
                return pl.col(col)
            exprs = [build(k) for k in kids]
            if op == "all":
                return pl.all_horizontal(exprs)
            if op == "any":
                return pl.any_horizontal(exprs)
            return exprs[0].fill_null(True) if op == "possible" else ~exprs[0]

        return build(self.root_col)

    def _below(self, col: str) -> set[str]:
        if not hasattr(self, "_below_cache"):
            self._below_cache: dict[str, set[str]] = {}
        if col not in self._below_cache:
            out: set[str] = set()
            for k in self.tree.get(col, ("", []))[1]:
                out.add(k)
                out |= self._below(k)
            self._below_cache[col] = out
        return self._below_cache[col]

    def status_expr(self) -> pl.Expr:
        """eligible / ineligible / unknown."""
        root = pl.col(self.root_col)
        return (
            pl.when(root)
            .then(pl.lit("eligible"))
            .when(~root)
            .then(pl.lit("ineligible"))
            .otherwise(pl.lit("unknown"))
        )

    def decisive(self, leaf: Leaf) -> pl.Expr:
        """Whether a leaf decided the result: along its chain, each child agrees with its parent."""
        conds: list[pl.Expr] = []
        chain = [*leaf.ancestors, (leaf.column, "leaf")]
        for (parent, op), (child, _) in zip(chain, chain[1:], strict=False):
            if op in ("all", "any"):
                conds.append(pl.col(child).eq_missing(pl.col(parent)))
        return pl.all_horizontal(conds) if conds else pl.lit(True)

    def leaf_text(self, leaf: Leaf, lang: str) -> pl.Expr:
        """The reason text of one leaf: mark, what, the values used, the requirement."""
        en = is_en(lang)
        node = leaf.node
        status = pl.col(leaf.column)
        good = ~status if leaf.polarity else status
        mark = (
            pl.when(good).then(pl.lit("✓ ")).when(~good).then(pl.lit("✗ ")).otherwise(pl.lit("? "))
        )
        missing = self._missing_text(leaf, lang)
        if isinstance(node, Has | Negative | BoolField):
            yes, no = self.flag_words(node, lang)
            body = (
                pl.when(status)
                .then(pl.lit(yes))
                .when(~status)
                .then(pl.lit(no))
                .otherwise(pl.concat_str(pl.lit(yes if en else no), missing))
            )
            return pl.concat_str(mark, body)
        if isinstance(node, BoolLit):
            return pl.concat_str(mark, pl.lit(str(node.value).lower()))
        if isinstance(node, Judge):
            what = node.text.get("en" if en else "zh", "")
            return pl.lit(("? needs expert review: " if en else "? 需人工/专家核实：") + what)
        assert isinstance(node, Compare)
        left = node.args[0]
        fmt = fmt_of(left)
        name = value_text(left, lang, self.c.fields)
        a = leaf.vals[0]
        shown = self._val_text(a, fmt, lang)
        op = NEGATE.get(node.op, node.op) if leaf.polarity else node.op
        need = "required" if en else "要求"
        sep = ", " if en else "，"
        if node.op in ("in", "starts_with"):
            items = ", ".join(fmt_py(x, fmt, lang) for x in node.items)
            neg = ("not " if en else "不") if leaf.polarity else ""
            if node.op == "in":
                req = (
                    f"{sep}{need} {neg}in {{{items}}}" if en else f"{sep}{need}{neg}属于{{{items}}}"
                )
            else:
                req = (
                    f"{sep}{need} {neg}starting with {items}"
                    if en
                    else f"{sep}{need}{neg}以{items.replace(', ', '/')}开头"
                )
        elif node.op == "between":
            lo = threshold_text(node.args[1], fmt, lang, self.c.fields)
            hi = threshold_text(node.args[2], fmt, lang, self.c.fields)
            neg = ("outside " if en else "不在") if leaf.polarity else ""
            req = f"{sep}{need} {neg}{lo}–{hi}" if en else f"{sep}{need}{neg}{lo}–{hi}（含）"
        else:
            rhs = node.args[1]
            rt = threshold_text(rhs, fmt, lang, self.c.fields)
            if not isinstance(rhs, Lit):
                rv = self._val_text(leaf.vals[1], fmt_of(rhs), lang)
                req_e = pl.concat_str(
                    pl.lit(
                        f"{sep}{need} {OP_TEXT[op]} {rt}（"
                        if not en
                        else f"{sep}{need} {OP_TEXT[op]} {rt} ("
                    ),
                    rv.fill_null("?"),
                    pl.lit("）" if not en else ")"),
                )
                return pl.concat_str(
                    mark, pl.lit(f"{name}="), shown.fill_null("?"), req_e, missing.fill_null("")
                )
            req = f"{sep}{need} {OP_TEXT[op]} {rt}" if en else f"{sep}{need}{OP_TEXT[op]}{rt}"
        return pl.concat_str(
            mark, pl.lit(f"{name}="), shown.fill_null("?"), pl.lit(req), missing.fill_null("")
        )

    @staticmethod
    def _val_text(v: Val, fmt: str, lang: str) -> pl.Expr:
        lo = fmt_expr(v.lo, fmt, lang)
        if v.exact:
            return lo
        hi = fmt_expr(v.hi, fmt, lang)
        return (
            pl.when(v.lo.is_null() | v.hi.is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(v.lo == v.hi)
            .then(lo)
            .otherwise(pl.concat_str(fmt_expr(v.lo, "num", lang), pl.lit("–"), hi))
        )

    def _missing_cols(self, leaf: Leaf) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for v in leaf.vals:
            for name, code in v.cols:
                if name == code and code in RATIO_PARTS:
                    # a ratio is missing because its numerator or denominator is
                    num, den, _ = RATIO_PARTS[code]
                    seen.setdefault(num, num)
                    seen.setdefault(den, den)
                    continue
                seen.setdefault(name, code)
        return list(seen.items())

    def _missing_text(self, leaf: Leaf, lang: str) -> pl.Expr:
        cols = self._missing_cols(leaf)
        if not cols:
            return pl.lit("")
        parts = [
            pl.when(pl.col(name).is_null()).then(pl.lit(self._col_label(name, code, lang)))
            for name, code in cols
        ]
        joined = pl.concat_str(parts, separator=", " if is_en(lang) else "、", ignore_nulls=True)
        head = " (missing: " if is_en(lang) else "（缺少："
        tail = ")" if is_en(lang) else "）"
        return (
            pl.when(joined != "")
            .then(pl.concat_str(pl.lit(head), joined, pl.lit(tail)))
            .otherwise(pl.lit(""))
        )

    def _col_label(self, name: str, code: str, lang: str) -> str:
        if code.startswith("score:"):
            return value_text(ScoreRef("", code[6:]), lang)
        if "__y" in name:
            base, lag = name.split("__y")
            return value_text(FieldRef("", base, Kind.NUMBER, -int(lag)), lang, self.c.fields)
        if name.startswith("_has_"):
            return qualification_name(name[5:].split("__")[0], lang)
        if name.startswith("_neg_"):
            return negative_names((name[5:].split("__")[0],), lang)
        return field_name(code, lang, self.c.fields)

    def missing_expr(self) -> pl.Expr:
        """Comma-joined codes of the fields missing in the leaves that made the result unknown."""
        parts = []
        earlier: dict[str, list[pl.Expr]] = {}  # code -> conditions of its earlier entries
        for leaf in self.leaves:
            cols = self._missing_cols(leaf)
            if not cols:
                continue
            dec = pl.col(self.state_col(leaf)) == 3  # deciding and unknown
            for name, code in cols:
                cond = dec & pl.col(name).is_null()
                seen = earlier.setdefault(code, [])
                # a code is listed once, where it first applies (as split/unique did)
                shown = cond & ~pl.any_horizontal(seen).fill_null(False) if seen else cond
                parts.append(pl.when(shown).then(pl.lit(code)))
                seen.append(cond)
        if not parts:
            return pl.lit("", dtype=pl.String)
        return pl.concat_str(parts, separator=",", ignore_nulls=True)

    def score_exprs(self) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        """score (null unless exact), score_min, score_max."""
        if not self.part_names:
            n = pl.lit(None, dtype=pl.Float64)
            return n, n, n
        lo = pl.sum_horizontal([pl.col(f"{self.p}p{k}_lo") for k in range(len(self.part_names))])
        hi = pl.sum_horizontal([pl.col(f"{self.p}p{k}_hi") for k in range(len(self.part_names))])
        return pl.when(lo == hi).then(lo), lo, hi

    def _parts_segments(self, lang: str) -> list[tuple[str, Any]]:
        """`parts_text` as reason segments (literals by code, numbers as values)."""
        en = is_en(lang)
        bounds = [
            (pl.col(f"{self.p}p{k}_lo"), pl.col(f"{self.p}p{k}_hi"))
            for k in range(len(self.part_names))
        ]
        ok = pl.all_horizontal([e.is_not_null() for b in bounds for e in b])
        on = ok.cast(pl.UInt32)

        def span(lo: pl.Expr, hi: pl.Expr) -> list[tuple[str, Any]]:
            ne = ok & (lo != hi)
            return [
                ("val", pl.when(ok).then(_num(lo))),
                ("lit", (ne.cast(pl.UInt32), [None, "–"])),
                ("val", pl.when(ne).then(_num(hi))),
            ]

        _, lo, hi = self.score_exprs()
        segs: list[tuple[str, Any]] = [("lit", (on, [None, "score " if en else "评分"]))]
        segs += span(lo, hi)
        for k, part in enumerate(self.c.parts):
            joint = (" (" if en else "（") if k == 0 else " + "
            segs.append(("lit", (on, [None, joint + part.label(lang) + " "])))
            segs += span(*bounds[k])
        close = ")" if en else "）"
        if self.c.kind == "precheck" and self.c.judgement:
            close += ("; " if en else "；") + self.c.judgement.get("en" if en else "zh", "")
        segs.append(("lit", (on, [None, close])))
        return segs

    def parts_text(self, lang: str) -> pl.Expr:
        """'评分 72（科技人员 16 + 研发 40 + 知识产权 18）' or the possible range."""
        en = is_en(lang)
        items = []
        for k, part in enumerate(self.c.parts):
            lo, hi = pl.col(f"{self.p}p{k}_lo"), pl.col(f"{self.p}p{k}_hi")
            val = (
                pl.when(lo == hi)
                .then(_num(lo))
                .otherwise(pl.concat_str(_num(lo), pl.lit("–"), _num(hi)))
            )
            items.append(pl.concat_str(pl.lit(part.label(lang) + " "), val))
        _, lo, hi = self.score_exprs()
        total = (
            pl.when(lo == hi)
            .then(_num(lo))
            .otherwise(pl.concat_str(_num(lo), pl.lit("–"), _num(hi)))
        )
        head = "score " if en else "评分"
        inner = pl.concat_str(items, separator=" + ")
        text = pl.concat_str(
            pl.lit(head), total, pl.lit(" (" if en else "（"), inner, pl.lit(")" if en else "）")
        )
        if self.c.kind == "precheck" and self.c.judgement:
            note = self.c.judgement.get("en" if en else "zh", "")
            text = pl.concat_str(text, pl.lit(("; " if en else "；") + note))
        return text

    def reasons_expr(self, lang: str, staged_texts: bool = False) -> pl.Expr:
        """The reasons: the score line (scored criteria) and every deciding leaf (see
        `reasons_pieces`); same text as `reasons_text_expr` (the leaf-by-leaf build).

        `staged_texts`: the value texts are columns of `text_exprs(lang)`, computed once
        for all criteria of a pass that show the same value (see `evaluate`)."""
        sep = "; " if is_en(lang) else "；"
        pieces = self.reasons_pieces(lang, staged_texts)
        # every leaf starts with the separator: drop it before the first item
        return pl.concat_str(pieces, separator="", ignore_nulls=True).str.strip_prefix(sep)

    def text_exprs(self, lang: str) -> dict[str, pl.Expr]:
        """The value texts the reasons read when staged: column name → expression."""
        texts: dict[str, pl.Expr] = {}
        self.reasons_pieces(lang, True, texts)
        return texts

    def _shown(self, leaf: Leaf, fmt: str, lang: str, texts: dict[str, pl.Expr] | None) -> pl.Expr:
        text = self._val_text(leaf.vals[0], fmt, lang).fill_null("?")
        key = value_key(leaf.node.args[0]) if leaf.vals[0].exact else None  # type: ignore[attr-defined]
        if texts is None or key is None:
            return text
        name = "_t_" + hashlib.sha1(repr((key, fmt, lang)).encode()).hexdigest()[:16]
        texts[name] = text
        return pl.col(name)

    def reasons_pieces(
        self, lang: str, staged_texts: bool = False, texts: dict[str, pl.Expr] | None = None
    ) -> list[pl.Expr]:
        """The pieces of the reasons, in order, null where nothing is shown.

        Built for one flat `concat_str` per criterion with few, cheap pieces: the text is
        a sequence of value texts and literal texts. A literal piece is a small integer
        code per row (the leaf's staged display state, the pattern of missing columns)
        that picks its text from a table (`gather`, no `when` chains); consecutive
        literals (the requirement and missing fields of one leaf, the separator, mark
        and name of the next) are merged into one table.
        """
        sep = "; " if is_en(lang) else "；"
        segs: list[tuple[str, Any]] = []
        if self.part_names:
            segs += self._parts_segments(lang)
        if staged_texts and texts is None:
            texts = {}
        for leaf in self.leaves:
            segs += self._leaf_segments(leaf, lang, sep, texts)
        if not self.part_names and self.c.kind == "precheck" and self.c.judgement:
            note = self.c.judgement.get("en" if is_en(lang) else "zh", "")
            code = pl.col(self.root_col).fill_null(False).cast(pl.UInt32)
            segs.append(("lit", (code, [None, sep + note])))
        pieces: list[pl.Expr] = []
        pending: tuple[pl.Expr, list[str | None]] | None = None
        for kind, seg in segs:
            if kind == "lit":
                if pending is None:
                    pending = seg
                elif len(pending[1]) * len(seg[1]) > MAX_TABLE:
                    pieces.append(_table_expr(*pending))
                    pending = seg
                else:
                    pending = _merge_tables(pending, seg)
                continue
            if pending is not None:
                pieces.append(_table_expr(*pending))
                pending = None
            pieces.append(seg)
        if pending is not None:
            pieces.append(_table_expr(*pending))
        return pieces

    def _leaf_segments(
        self, leaf: Leaf, lang: str, sep: str, texts: dict[str, pl.Expr] | None = None
    ) -> list[tuple[str, Any]]:
        en = is_en(lang)
        node = leaf.node
        state = pl.col(self.state_col(leaf)).cast(pl.UInt32)  # 0 hidden, 1 ✓, 2 ✗, 3 ?
        dec = state > 0
        shown_code = dec.cast(pl.UInt32)
        marks = ("✓ ", "✗ ", "? ")

        def head(text: str) -> tuple[str, Any]:
            return ("lit", (state, [None, *(sep + m + text for m in marks)]))

        if isinstance(node, Judge):
            what = node.text.get("en" if en else "zh", "")
            text = sep + ("? needs expert review: " if en else "? 需人工/专家核实：") + what
            return [("lit", (shown_code, [None, text]))]
        if isinstance(node, BoolLit):
            return [head(str(node.value).lower())]
        if isinstance(node, Has | Negative | BoolField):
            yes, no = self.flag_words(node, lang)
            m_yes = marks[1] if leaf.polarity else marks[0]
            m_no = marks[0] if leaf.polarity else marks[1]
            unknown = sep + marks[2] + (yes if en else no)
            # state 1/2 is ✓/✗ of `good`; under `not` a true status shows ✗
            by_state = {1: sep + m_no + no, 2: sep + m_yes + yes}
            if not leaf.polarity:
                by_state = {1: sep + m_yes + yes, 2: sep + m_no + no}
            mask, texts = self._missing_mask(leaf, lang)
            if mask is None:  # many columns: the leaf's text as one value
                text = pl.concat_str(pl.lit(sep), self.leaf_text(leaf, lang))
                return [("val", pl.when(dec).then(text))]
            n = len(texts)
            table: list[str | None] = [None] * (4 * n)
            for m in range(n):
                table[1 * n + m] = by_state[1]
                table[2 * n + m] = by_state[2]
                table[3 * n + m] = unknown + texts[m]
            return [("lit", (state * n + mask, table))]
        assert isinstance(node, Compare)
        left = node.args[0]
        fmt = fmt_of(left)
        name = value_text(left, lang, self.c.fields)
        shown = pl.when(dec).then(self._shown(leaf, fmt, lang, texts))
        out: list[tuple[str, Any]] = [head(f"{name}="), ("val", shown)]
        req = self._requirement(leaf, lang)
        if isinstance(req, str):
            tail = req
        else:
            h, rv, tail = req
            out += [
                ("lit", (shown_code, [None, h])),
                ("val", pl.when(dec).then(rv.fill_null("?"))),
            ]
        mask, texts = self._missing_mask(leaf, lang)
        if mask is None:
            out += [
                ("lit", (shown_code, [None, tail])),
                ("val", pl.when(dec).then(self._missing_text(leaf, lang))),
            ]
        else:
            n = len(texts)
            out.append(("lit", (shown_code * n + mask, [None] * n + [tail + t for t in texts])))
        return out

    def _missing_mask(self, leaf: Leaf, lang: str) -> tuple[pl.Expr | None, list[str]]:
        """(bit mask of the leaf's missing columns, '（缺少：a、b）' per mask value)."""
        cols = self._missing_cols(leaf)
        if len(cols) > 5:
            return None, []
        if not cols:
            return pl.lit(0, dtype=pl.UInt32), [""]
        en = is_en(lang)
        labels = [self._col_label(name, code, lang) for name, code in cols]
        mask = pl.sum_horizontal(
            [pl.col(name).is_null().cast(pl.UInt32) * (1 << j) for j, (name, _) in enumerate(cols)]
        ).cast(pl.UInt32)
        texts = [""]
        for m in range(1, 1 << len(cols)):
            names = (", " if en else "、").join(lab for j, lab in enumerate(labels) if m >> j & 1)
            texts.append((" (missing: " if en else "（缺少：") + names + (")" if en else "）"))
        return mask, texts

    def flag_words(self, node: Node, lang: str) -> tuple[str, str]:
        """The (true, false) texts of a qualification, negative-record or yes/no leaf."""
        en = is_en(lang)
        if isinstance(node, Has):
            name = qualification_name(node.qualification, lang)
            return (
                (f"holds {name}", f"does not hold {name}")
                if en
                else (f"持有{name}资质", f"未持有{name}资质")
            )
        if isinstance(node, Negative):
            names = negative_names(node.types, lang)
            span = (
                (
                    f" in the last {node.within_years} year(s)"
                    if en
                    else f"（近{node.within_years}年）"
                )
                if node.within_years
                else ""
            )
            return (
                (f"{names} record{span}", f"no {names} record{span}")
                if en
                else (f"有{names}记录{span}", f"无{names}记录{span}")
            )
        assert isinstance(node, BoolField)
        name = field_name(node.code, lang, self.c.fields)
        return (f"{name}: yes", f"{name}: no") if en else (f"{name}：是", f"{name}：否")

    def _requirement(self, leaf: Leaf, lang: str) -> str | tuple[str, pl.Expr, str]:
        """The requirement after the value: a literal, or (head, value text, tail)."""
        en = is_en(lang)
        node = leaf.node
        assert isinstance(node, Compare)
        fmt = fmt_of(node.args[0])
        op = NEGATE.get(node.op, node.op) if leaf.polarity else node.op
        need = "required" if en else "要求"
        sep = ", " if en else "，"
        if node.op in ("in", "starts_with"):
            items = ", ".join(fmt_py(x, fmt, lang) for x in node.items)
            neg = ("not " if en else "不") if leaf.polarity else ""
            if node.op == "in":
                return (
                    f"{sep}{need} {neg}in {{{items}}}" if en else f"{sep}{need}{neg}属于{{{items}}}"
                )
            return (
                f"{sep}{need} {neg}starting with {items}"
                if en
                else f"{sep}{need}{neg}以{items.replace(', ', '/')}开头"
            )
        if node.op == "between":
            lo = threshold_text(node.args[1], fmt, lang, self.c.fields)
            hi = threshold_text(node.args[2], fmt, lang, self.c.fields)
            neg = ("outside " if en else "不在") if leaf.polarity else ""
            return f"{sep}{need} {neg}{lo}–{hi}" if en else f"{sep}{need}{neg}{lo}–{hi}（含）"
        rhs = node.args[1]
        rt = threshold_text(rhs, fmt, lang, self.c.fields)
        if not isinstance(rhs, Lit):
            rv = self._val_text(leaf.vals[1], fmt_of(rhs), lang)
            head = (
                f"{sep}{need} {OP_TEXT[op]} {rt}（"
                if not en
                else f"{sep}{need} {OP_TEXT[op]} {rt} ("
            )
            return head, rv, "）" if not en else ")"
        return f"{sep}{need} {OP_TEXT[op]} {rt}" if en else f"{sep}{need}{OP_TEXT[op]}{rt}"

    def reasons_text_expr(self, lang: str) -> pl.Expr:
        """The reasons built leaf by leaf (the former construction; kept for comparison)."""
        sep = "; " if is_en(lang) else "；"
        items = [
            pl.when(self.decisive(leaf)).then(self.leaf_text(leaf, lang)) for leaf in self.leaves
        ]
        if self.part_names:
            items.insert(0, self.parts_text(lang))
        elif self.c.kind == "precheck" and self.c.judgement:
            note = self.c.judgement.get("en" if is_en(lang) else "zh", "")
            items.append(pl.when(pl.col(self.root_col)).then(pl.lit(note)))
        return pl.concat_str(items, separator=sep, ignore_nulls=True)

    def parts_expr(self) -> pl.Expr:
        """A list of {part, min, max} structs (null for unscored criteria)."""
        dtype = pl.List(pl.Struct({"part": pl.String, "min": pl.Float64, "max": pl.Float64}))
        if not self.part_names:
            return pl.lit(None, dtype=dtype)
        return pl.concat_arr(
            [
                pl.struct(
                    pl.lit(name).alias("part"),
                    pl.col(f"{self.p}p{k}_lo").alias("min"),
                    pl.col(f"{self.p}p{k}_hi").alias("max"),
                )
                for k, name in enumerate(self.part_names)
            ]
        ).arr.to_list()  # concat_list of structs is ~50× slower


MAX_TABLE = 256  # most entries in one merged literal piece of the reasons


def _merge_tables(
    a: tuple[pl.Expr, list[str | None]], b: tuple[pl.Expr, list[str | None]]
) -> tuple[pl.Expr, list[str | None]]:
    """Two consecutive literal pieces as one: code a·|B| + b, texts concatenated."""
    (ca, ta), (cb, tb) = a, b
    table = [None if x is None and y is None else (x or "") + (y or "") for x in ta for y in tb]
    return ca * len(tb) + cb, table


def _table_expr(code: pl.Expr, table: list[str | None]) -> pl.Expr:
    """The text of each row's code (null for None entries)."""
    return pl.lit(pl.Series(table, dtype=pl.String)).gather(code)


def _num(e: pl.Expr) -> pl.Expr:
    return e.round(2).cast(pl.String).str.strip_suffix(".0")


def _kleene_and(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a & b


def _cmp(op: str, a: Val, b: Val, eps: float) -> pl.Expr:
    """Interval comparison: true if it holds everywhere, false if nowhere, else null."""
    if a.exact and b.exact:
        x, y = a.lo, b.lo
        return {
            ">=": lambda: x >= y - eps,
            ">": lambda: x > y + eps,
            "<=": lambda: x <= y + eps,
            "<": lambda: x < y - eps,
            "==": lambda: (x - y).abs() <= eps,
            "!=": lambda: (x - y).abs() > eps,
        }[op]()
    if op in (">=", ">"):
        if op == ">=":
            true, false = a.lo >= b.hi - eps, a.hi < b.lo - eps
        else:
            true, false = a.lo > b.hi + eps, a.hi <= b.lo + eps
    elif op in ("<=", "<"):
        if op == "<=":
            true, false = a.hi <= b.lo + eps, a.lo > b.hi + eps
        else:
            true, false = a.hi < b.lo - eps, a.lo >= b.hi - eps
    else:
        same = (a.lo == a.hi) & (b.lo == b.hi) & ((a.lo - b.lo).abs() <= eps)
        apart = (a.hi < b.lo - eps) | (a.lo > b.hi + eps)
        true, false = (same, apart) if op == "==" else (apart, same)
    return (
        pl.when(true)
        .then(pl.lit(True))
        .when(false)
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


def value_key(node: Node) -> tuple | None:
    """A structural key for values that read only the row (no score parts), else None:
    equal keys are equal values, so criteria can share them."""
    if isinstance(node, Ref):
        return value_key(node.body)
    if isinstance(node, Lit):
        return ("L", node.value.__class__.__name__, node.value)
    if isinstance(node, FieldRef):
        return ("F", node.code, node.year)
    if isinstance(node, Window):
        return ("W", node.fn, node.code, node.years, node.year)
    if isinstance(node, ScoreRef):
        return ("S", node.column)
    if isinstance(node, Arith):
        keys = [value_key(a) for a in node.args]
        return None if None in keys else ("A", node.op, *keys)
    return None


def compile_criterion(criterion: Criterion, index: int = 0) -> Compiler:
    """Compile a criterion; `index` keeps column names apart when many run together."""
    return Compiler(criterion, index)


def literal_threshold(node: Node) -> Any:
    """The literal on the right of a comparison, or None."""
    return _const(node)
