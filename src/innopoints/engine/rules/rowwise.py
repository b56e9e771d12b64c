"""Row-wise evaluation of compiled criteria: the fast path for a handful of rows.

On one firm, Polars' per-expression planning dominates (the reasons of one criterion are
hundreds of expression nodes), so a few rows are evaluated here in plain Python instead:
the same compiled criterion (`Compiler`: its leaves, tree, values' exactness, missing
columns and reason texts), the leaf conditions and values of the per-row reference
(`reference._Row`), and number formatting that reproduces Polars' (`round(2)` half to
even, `cast(String)`, `strip_suffix(".0")`). The output — status, score interval,
reasons, missing — is identical to the vectorised engine's; `tests/rules` asserts it
on the official YAML cases and on generated firms.

Only for small panels: `evaluate` and `evaluate_wide` switch here below `ROW_LIMIT` rows
(near-misses always run vectorised).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import polars as pl

from innopoints.engine.rules.compiler import Compiler, Leaf, Needs, data_col, has_col, neg_col
from innopoints.engine.rules.language import (
    BoolField,
    BoolLit,
    Compare,
    Has,
    Judge,
    Lit,
    Negative,
    PartRef,
)
from innopoints.engine.rules.reference import (
    MEMO,
    _any,
    _leaf_fn,
    _value_fn,
    by_identity,
    intern_key,
    leaf_key,
    row_value_key,
    threshold_of,
)
from innopoints.engine.rules.render import (
    NEGATE,
    OP_TEXT,
    _unit,
    code_label,
    fmt_of,
    fmt_py,
    is_en,
    threshold_text,
    value_text,
)

ROW_LIMIT = 16  # panels with at most this many rows (after the year filter) go row-wise

_TOTAL = PartRef("", "total")
# (plan shape, *leaf statuses) -> (root value, deciding leaves); shared by all plans
_OUTCOMES: dict[tuple, tuple[bool | None, tuple[int, ...]]] = {}
_PRESENT = "present"  # the row memo's entry for the set of the row's non-null columns
_STATUS = {True: "eligible", False: "ineligible", None: "unknown"}
# the score block of a criterion without score parts: (parts, minima, maxima, low, high, text)
_NO_SCORE: tuple = ({}, None, None, None, None, None)
# (plan's parts key, part minima, part maxima) -> the score text
_PARTS_TEXTS: dict[tuple, str | None] = {}


# ----------------------------------------------------------------------------- formatting


def num_text(x: Any) -> str | None:
    """`expr.round(2).cast(pl.String).str.strip_suffix('.0')` for one value (memoised)."""
    if x is None:
        return None
    if not x:  # 0.0 and -0.0 share a dict key but not a text
        return _num_text(float(x))
    t = _NUM_TEXT.get(x)
    if t is not None:
        return t
    if len(_NUM_TEXT) > 100_000:
        _NUM_TEXT.clear()
    t = _NUM_TEXT[x] = _num_text(float(x))
    return t


_NUM_TEXT: dict[float, str] = {}


def _num_text(x: float) -> str:
    if math.isnan(x) or math.isinf(x):
        t = repr(x)
        return {"nan": "NaN", "inf": "inf", "-inf": "-inf"}.get(t, t)
    v = x * 100.0
    r = math.copysign(float(round(v)), v) / 100.0
    t = repr(r)
    return t[:-2] if t.endswith(".0") else t


def fmt_value(x: Any, fmt: str, lang: str) -> str | None:
    """`render.fmt_expr` for one value (null stays None)."""
    if x is None:
        return None
    if fmt == "text":
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, str):
            return code_label(x, lang)
        return repr(float(x)) if isinstance(x, float) else str(x)
    if fmt == "ratio":
        t = num_text(float(x) * 100)
        return None if t is None else t + "%"
    if fmt == "int":
        return str(int(round(float(x))))
    unit = _unit(fmt, lang)
    t = num_text(x)
    return t + unit if (unit and t is not None) else t


def _mark(st: bool | None, polarity: bool) -> str:
    """The mark of a leaf's text: whether the condition as written holds (a negated leaf
    holds when its comparison does not)."""
    good = (None if st is None else not st) if polarity else st
    return "✓ " if good is True else ("✗ " if good is False else "? ")


def _cat(*parts: str | None) -> str | None:
    """`pl.concat_str` without ignore_nulls: null if any part is null."""
    if any(p is None for p in parts):
        return None
    return "".join(parts)  # type: ignore[arg-type]


def _val_text(lo: Any, hi: Any, exact: bool, fmt: str, lang: str) -> str | None:
    if exact:
        return fmt_value(lo, fmt, lang)
    if lo is None or hi is None:
        return None
    if lo == hi:
        return fmt_value(lo, fmt, lang)
    return _cat(num_text(lo), "–", fmt_value(hi, fmt, lang))


def _missing_text(lp: _LeafPlan, row: dict[str, Any], en: bool) -> str:
    """ " (missing: …)" for a leaf that reads nullable fields (`lp.missing`)."""
    memo = row[MEMO]
    present = memo.get(_PRESENT)
    if present is None:
        present = memo[_PRESENT] = frozenset(k for k, v in row.items() if v is not None)
    if lp.missing_names <= present:  # most leaves miss nothing: one set test
        return ""
    labels = [label for n, _code, label in lp.missing if row.get(n) is None]
    if not labels:
        return ""
    head = " (missing: " if en else "（缺少："
    tail = ")" if en else "）"
    return head + (", " if en else "、").join(labels) + tail


def _result(
    status: str,
    score_min: float | None,
    score_max: float | None,
    reasons: str,
    missing: str = "",
    parts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One criterion's result on a row; the score is set when its bounds meet."""
    return {
        "status": status,
        "score": score_min if score_min == score_max else None,
        "score_min": score_min,
        "score_max": score_max,
        "reasons": reasons,
        "missing": missing,
        "parts": parts,
    }


# ----------------------------------------------------------------------------- plan


@dataclass
class _LeafPlan:
    leaf: Leaf
    kind: str  # flag | boollit | judge | compare
    chain: list[tuple[str, str]]  # (parent col, op) pairs where op in all/any, child col
    missing: list[tuple[str, str, str]]  # (column, code, label)
    text: tuple[Any, ...]
    fn: Any = None  # row, parts -> (status, left interval, right interval)
    col: str = ""
    text_key: int | None = None  # equal keys give equal texts on a row (memoised)
    threshold: Any = None  # `reference.threshold_of` of the leaf (None: not `value op literal`)
    missing_names: frozenset[str] = frozenset()  # the columns of `missing`
    marks: dict[bool | None, str] | None = None  # status -> "✓ " / "✗ " / "? " (polarity in)

    def __post_init__(self) -> None:
        self.col = self.leaf.column
        self.missing_names = frozenset(n for n, _code, _label in self.missing)
        self.marks = {st: _mark(st, self.leaf.polarity) for st in (True, False, None)}
        if self.kind == "compare":  # the mark and the value's name, joined once
            self.marks = {st: mark + self.text[0] for st, mark in self.marks.items()}
        key = leaf_key(self.leaf.node)
        if key is not None:
            self.text_key = intern_key(
                ("text", key, self.kind, self.text, self.leaf.polarity, *self.missing)
            )


class RowPlan:
    """A compiled criterion prepared for row-wise evaluation in one language."""

    def __init__(self, comp: Compiler, lang: str) -> None:
        self.comp = comp
        self.lang = lang
        en = is_en(lang)
        self.en = en
        c = comp.c
        self.sep = "; " if en else "；"
        self.inner = [
            (col, *comp.tree[col]) for col, _e, _d in sorted(comp.inner, key=lambda x: -x[2])
        ]
        self.leaves: list[_LeafPlan] = []
        for leaf in comp.leaves:
            chain = [*leaf.ancestors, (leaf.column, "leaf")]
            pairs = [
                (parent, child)
                for (parent, op), (child, _) in zip(chain, chain[1:], strict=False)
                if op in ("all", "any")
            ]
            cols = comp._missing_cols(leaf)
            missing = [(n, code, comp._col_label(n, code, lang)) for n, code in cols]
            kind, text = self._text_plan(leaf, lang)
            numeric = leaf.vals[0].kind == "num" if leaf.vals else False
            self.leaves.append(
                _LeafPlan(
                    leaf,
                    kind,
                    pairs,
                    missing,
                    text,
                    _leaf_fn(leaf.node, numeric),
                    threshold=threshold_of(leaf.node, numeric),
                )
            )
        self.part_fns = [(p.name, _value_fn(p.value)) for p in c.parts]
        self.leaf_cols = [lp.col for lp in self.leaves]
        # top-down order for the deciding flags: (node, parent, parent op) root first
        self.down: list[tuple[str, str, bool]] = []
        parent_of: dict[str, tuple[str, str]] = {}
        for col, (op, kids) in comp.tree.items():
            for k in kids:
                parent_of[k] = (col, op)
        order = [comp.root_col]
        for col in order:
            order.extend(comp.tree.get(col, ("", []))[1])
        for col in order[1:]:
            parent, op = parent_of[col]
            self.down.append((col, parent, op in ("all", "any")))
        # the same structure over integer node positions (the hot loop of `run`)
        position = {col: k for k, col in enumerate(order)}
        for col in self.leaf_cols:
            position.setdefault(col, len(position))
        self.n_nodes = len(position)
        self.root_pos = position[comp.root_col]
        self.leaf_pos = [position[col] for col in self.leaf_cols]
        op_code = {"all": 0, "any": 1, "possible": 2}
        self.inner_pos = [
            (position[col], op_code.get(op, 3), [position[k] for k in kids])
            for col, op, kids in self.inner
        ]
        self.down_pos = [
            (position[col], position[parent], check) for col, parent, check in self.down
        ]
        # plans of the same structure (the threshold variants of one criterion) share the
        # outcome of their tree for a tuple of leaf statuses: the root status and which
        # leaves decided it
        self.shape = intern_key(
            (
                "shape",
                self.n_nodes,
                self.root_pos,
                tuple(self.leaf_pos),
                tuple((k, op, tuple(kids)) for k, op, kids in self.inner_pos),
                tuple(self.down_pos),
            )
        )
        self.part_labels = [p.label(lang) for p in c.parts]
        self.note = None
        if c.kind == "precheck" and c.judgement:
            self.note = c.judgement.get("en" if en else "zh", "")
        # plans with the same part labels and note give the same score text for the same
        # part values (threshold variants of a criterion, across firms): shared memo
        self.parts_key = intern_key(("parts", en, tuple(self.part_labels), self.note))
        # when every part reads only the row, plans with the same parts (a criterion's
        # variants that keep its points tables) share the score block on a row
        part_keys = [row_value_key(p.value) for p in c.parts]
        self.block_key = None
        if c.parts and None not in part_keys:
            names = tuple(p.name for p in c.parts)
            self.block_key = intern_key(("block", self.parts_key, names, *part_keys))

    def _text_plan(self, leaf: Leaf, lang: str) -> tuple[str, tuple[Any, ...]]:
        en = is_en(lang)
        node = leaf.node
        fields = self.comp.c.fields
        if isinstance(node, Has | Negative | BoolField):
            yes, no = self.comp.flag_words(node, lang)
            return "flag", (yes, no, yes if en else no)
        if isinstance(node, BoolLit):
            return "boollit", (str(node.value).lower(),)
        if isinstance(node, Judge):
            what = node.text.get("en" if en else "zh", "")
            return "judge", (("? needs expert review: " if en else "? 需人工/专家核实：") + what,)
        assert isinstance(node, Compare)
        left = node.args[0]
        fmt = fmt_of(left)
        name = value_text(left, lang, fields)
        exact0 = leaf.vals[0].exact
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
            lo = threshold_text(node.args[1], fmt, lang, fields)
            hi = threshold_text(node.args[2], fmt, lang, fields)
            neg = ("outside " if en else "不在") if leaf.polarity else ""
            req = f"{sep}{need} {neg}{lo}–{hi}" if en else f"{sep}{need}{neg}{lo}–{hi}（含）"
        else:
            rhs = node.args[1]
            rt = threshold_text(rhs, fmt, lang, fields)
            if not isinstance(rhs, Lit):
                head = (
                    f"{sep}{need} {OP_TEXT[op]} {rt}（"
                    if not en
                    else f"{sep}{need} {OP_TEXT[op]} {rt} ("
                )
                tail = "）" if not en else ")"
                return "compare", (
                    f"{name}=",
                    fmt,
                    exact0,
                    None,
                    (head, tail, fmt_of(rhs), leaf.vals[1].exact),
                )
            req = f"{sep}{need} {OP_TEXT[op]} {rt}" if en else f"{sep}{need}{OP_TEXT[op]}{rt}"
        return "compare", (f"{name}=", fmt, exact0, req, None)

    # ------------------------------------------------------------------ evaluation
    def _leaf_text(
        self, lp: _LeafPlan, st: bool | None, a: Any, b: Any, row: dict[str, Any]
    ) -> str | None:
        if lp.kind == "compare":  # the common case first
            _name, fmt, exact0, req, rhs = lp.text
            memo = row[MEMO]
            a0, a1 = a
            vkey = (fmt, exact0, a0.__class__, a0, a1)  # a value shown by many criteria
            shown = memo.get(vkey, memo)
            if shown is memo:
                shown = memo[vkey] = _val_text(a0, a1, exact0, fmt, self.lang)
            text = lp.marks[st] + ("?" if shown is None else shown)  # type: ignore[index]
            if rhs is None:
                text += req
            else:
                head, tail, rfmt, rexact = rhs
                rv = _val_text(b[0], b[1], rexact, rfmt, self.lang)
                text += head + ("?" if rv is None else rv) + tail
            return text + _missing_text(lp, row, self.en) if lp.missing else text
        mark = lp.marks[st]  # type: ignore[index]
        if lp.kind == "flag":
            yes, no, unknown = lp.text
            if st is None:
                return mark + unknown + (_missing_text(lp, row, self.en) if lp.missing else "")
            return mark + (yes if st else no)
        if lp.kind == "boollit":
            return mark + lp.text[0]
        return lp.text[0]  # judge: the text says it needs review

    def _outcome(self, statuses: tuple[bool | None, ...]) -> tuple[bool | None, tuple[int, ...]]:
        """(root value, positions in `self.leaves` of the deciding leaves) for the leaves'
        statuses: the three-valued tree, then the deciding flags top-down (a child decides
        when its parent does and, under all/any, has the parent's value)."""
        vals: list[bool | None] = [None] * self.n_nodes
        for k, st in zip(self.leaf_pos, statuses, strict=True):
            vals[k] = st
        for k, op, kids in self.inner_pos:
            if op < 2:
                ks = [vals[j] for j in kids]
                if op == 0:
                    vals[k] = False if False in ks else (None if None in ks else True)
                else:
                    vals[k] = True if True in ks else (None if None in ks else False)
            elif op == 2:
                v = vals[kids[0]]
                vals[k] = True if v is None else v
            else:
                v = vals[kids[0]]
                vals[k] = None if v is None else not v
        dec = [False] * self.n_nodes
        dec[self.root_pos] = True
        for k, parent, check in self.down_pos:
            dec[k] = dec[parent] and (not check or vals[k] == vals[parent])
        deciding = tuple(i for i, k in enumerate(self.leaf_pos) if dec[k])
        return vals[self.root_pos], deciding

    def _block(self, row: dict[str, Any], memo: dict[Any, Any]) -> Any:
        """The row's score block: [parts, part minima, maxima, low, high, score text (None
        until asked)], shared on the row by plans with the same parts (`block_key`)."""
        block = _NO_SCORE if not self.part_fns else memo.get(self.block_key)
        if block is None:  # (a key of None is never in the memo)
            parts: dict[str, Any] = {}
            lows: list[float | None] = []
            highs: list[float | None] = []
            for name, fn in self.part_fns:
                lo, hi = parts[name] = fn(row, parts)
                lows.append(None if lo is None else float(lo))
                highs.append(None if hi is None else float(hi))
            low = sum([x for x in lows if x is not None])
            high = sum([x for x in highs if x is not None])
            # + the score text, when asked
            block = [parts, tuple(lows), tuple(highs), low, high, None]
            if self.block_key is not None:
                memo[self.block_key] = block
        return block

    def _score_text(self, block: Any) -> str | None:
        """The score text of a score block (remembered in the block and across rows)."""
        text = block[5]
        if text is None:
            _parts, los, his, score_min, score_max, _text = block
            pkey = (self.parts_key, los, his)
            text = _PARTS_TEXTS.get(pkey, _PARTS_TEXTS)
            if text is _PARTS_TEXTS:
                if len(_PARTS_TEXTS) > 100_000:
                    _PARTS_TEXTS.clear()
                text = _PARTS_TEXTS[pkey] = self._parts_text(
                    list(los), list(his), score_min, score_max
                )
            block[5] = text
        return text

    def run(self, row: dict[str, Any], shared: list[Any], place: _Place) -> dict[str, Any]:
        """status, score, score_min, score_max, reasons, missing and parts of one row
        prepared by `RowProgram.run`.

        `shared` holds the (status, value, threshold) of the program's row-only leaves and
        `place.pick` picks this plan's; its local leaves (they read score parts) are
        evaluated here in place of the placeholder the getter picks for them."""
        comp = self.comp
        memo = row[MEMO]
        block = self._block(row, memo)
        leaf_out = place.pick(shared)
        if place.local:
            parts = block[0]
            leaf_out = list(leaf_out)
            for k, f in place.local:
                leaf_out[k] = f(row, parts)
        key = (self.shape, *[out[0] for out in leaf_out])
        outcome = _OUTCOMES.get(key)
        if outcome is None:
            if len(_OUTCOMES) > 200_000:
                _OUTCOMES.clear()
            outcome = _OUTCOMES[key] = self._outcome(key[1:])
        root, deciding = outcome
        status = _STATUS[root]
        items: list[str | None] = []
        parts_out = None
        score_min = score_max = None
        if comp.part_names:
            _parts, los, his, score_min, score_max, _text = block
            parts_out = [
                {"part": n, "min": a, "max": b}
                for n, a, b in zip(comp.part_names, los, his, strict=True)
            ]
            items.append(self._score_text(block))
        missing: list[str] = []
        leaves = self.leaves
        leaf_text = self._leaf_text
        for i in deciding:
            lp = leaves[i]
            st, a, b = leaf_out[i]
            tk = lp.text_key
            if tk is None:
                items.append(leaf_text(lp, st, a, b, row))
            else:
                text = memo.get(tk)
                if text is None:
                    text = memo[tk] = leaf_text(lp, st, a, b, row)
                items.append(text)
            if st is None:
                for n, code, _label in lp.missing:
                    if row.get(n) is None and code not in missing:
                        missing.append(code)
        if not comp.part_names and self.note is not None and root is True:
            items.append(self.note)
        reasons = self.sep.join([t for t in items if t is not None])
        return _result(status, score_min, score_max, reasons, ",".join(missing), parts_out)

    def run_fast(
        self,
        row: dict[str, Any],
        statuses: list[bool | None],
        texts: list[str | None] | None,
        fast: _Place,
    ) -> dict[str, Any]:
        """`run` for the one-firm output (`full=False`: no missing, no parts) from the
        program's leaf statuses and texts by position (`RowProgram.run`; `texts` None: no
        reasons). The tree's outcome for a tuple of leaf statuses is remembered per plan
        with a getter of its deciding leaves' texts, so a plan costs a few lookups."""
        block = self._block(row, row[MEMO]) if self.part_fns else _NO_SCORE
        sts = fast.pick(statuses)
        local_out: dict[int, Any] | None = None
        if fast.local:  # leaves that read score parts: evaluated here
            parts = block[0]
            changed = list(sts)
            local_out = {}
            for k, f in fast.local:
                out = local_out[k] = f(row, parts)
                changed[k] = out[0]
            sts = tuple(changed)
        entry = fast.outcomes.get(sts)
        if entry is None:
            entry = fast.outcome(self, sts)
        status, root, deciding, gather = entry
        score_min = score_max = None
        items: list[str | None] = []
        if self.part_fns:
            score_min, score_max = block[3], block[4]
            if texts is not None:
                items.append(self._score_text(block))
        if texts is None:
            reasons = ""
        else:
            if gather is not None:
                items += gather(texts)
            else:  # a deciding leaf reads score parts
                for i in deciding:
                    if local_out is not None and i in local_out:
                        st, a, b = local_out[i]
                        items.append(self._leaf_text(self.leaves[i], st, a, b, row))
                    else:
                        items.append(texts[fast.text_pos[i]])
            if self.note is not None and not self.part_fns and root is True:
                items.append(self.note)
            if None in items:
                items = [t for t in items if t is not None]
            reasons = self.sep.join(items)  # type: ignore[arg-type]
        return _result(status, score_min, score_max, reasons)

    def _parts_text(
        self, los: list[float | None], his: list[float | None], lo: float, hi: float
    ) -> str | None:
        def span(a: float | None, b: float | None) -> str | None:
            if a is not None and b is not None and a == b:
                return num_text(a)
            return _cat(num_text(a), "–", num_text(b))

        items = [
            _cat(label + " ", span(a, b))
            for label, a, b in zip(self.part_labels, los, his, strict=True)
        ]
        inner = None if any(i is None for i in items) else " + ".join(items)  # type: ignore[arg-type]
        text = _cat(
            "score " if self.en else "评分",
            span(lo, hi),
            " (" if self.en else "（",
            inner,
            ")" if self.en else "）",
        )
        if text is not None and self.note is not None:
            text += ("; " if self.en else "；") + self.note
        return text


def plan_of(comp: Compiler, lang: str) -> RowPlan:
    """The row plan of a compiled criterion (cached on the compiler, per language)."""
    cache = comp.__dict__.setdefault("_row_plans", {})
    plan = cache.get(lang)
    if plan is None:
        plan = cache[lang] = RowPlan(comp, lang)
    return plan


def evaluate_rows(
    rows: Sequence[dict[str, Any]],
    compilers: Sequence[Compiler],
    lang: str = "zh",
    *,
    full: bool = True,
    texts: bool = True,
) -> list[list[dict[str, Any]]]:
    """For each prepared row, the result of every compiled criterion (in order);
    `full=False` leaves out `missing` and `parts` (the one-firm wide output), and
    `texts=False` with it leaves out the reasons too (statuses and scores only)."""
    program = program_of(compilers, lang)
    return [program.run(row, full, texts) for row in rows]


class _Place:
    """A plan's place in a `RowProgram`: the getter of its leaves' outcomes (statuses in
    the fast path), its local leaves (they read score parts), its leaves' text positions
    and, for the fast path, its remembered outcomes."""

    def __init__(self, picks: list[int], local: list[tuple[int, Any]], text_pos: list[Any]):
        self.pick = _getter(picks)
        self.local = local
        self.text_pos = text_pos  # position in the program's texts per leaf, None if local
        # leaf statuses -> (status word, root value, deciding leaves, getter of their texts)
        self.outcomes: dict[tuple, tuple[str, bool | None, tuple[int, ...], Any]] = {}
        self.gathers: dict[tuple[int, ...], Any] = {}  # deciding leaves -> their texts' getter

    def outcome(self, plan: RowPlan, sts: tuple) -> tuple[str, bool | None, tuple[int, ...], Any]:
        """The plan's outcome for a tuple of leaf statuses, remembered."""
        key = (plan.shape, *sts)
        shared = _OUTCOMES.get(key)
        if shared is None:
            if len(_OUTCOMES) > 200_000:
                _OUTCOMES.clear()
            shared = _OUTCOMES[key] = plan._outcome(sts)
        root, deciding = shared
        gather = self.gathers.get(deciding, self.gathers)  # few per plan: kept apart
        if gather is self.gathers:
            positions = [self.text_pos[i] for i in deciding]
            gather = self.gathers[deciding] = None if None in positions else _getter(positions)
        if len(self.outcomes) > 4096:
            self.outcomes.clear()
        entry = self.outcomes[sts] = (_STATUS[root], root, deciding, gather)
        return entry


class RowProgram:
    """Several criteria's plans evaluated together on a row: each distinct row-only leaf
    (the same condition with the same text) is evaluated once into a shared slot, and
    every plan reads its leaves' outcomes from the slots. Conditions `value op literal`
    of the same value and op (the threshold variants of a criterion) are tested together
    (`_ThresholdGroup`): the value is read and shown once, the thresholds are cut by
    bisection, and their texts are joined in one pass."""

    def __init__(self, plans: Sequence[RowPlan]) -> None:
        self.plans = list(plans)
        self.lang = self.plans[0].lang if self.plans else "zh"
        distinct: dict[int, _LeafPlan] = {}
        for plan in self.plans:
            for lp in plan.leaves:
                if lp.text_key is not None:
                    distinct.setdefault(lp.text_key, lp)
        grouped: dict[tuple, list[_LeafPlan]] = {}
        single: list[_LeafPlan] = []
        for lp in distinct.values():
            if _ThresholdGroup.takes(lp):
                op, left = lp.threshold[:2]
                _name, fmt, exact0, _req, _rhs = lp.text
                grouped.setdefault((op, left, fmt, exact0, *lp.missing), []).append(lp)
            else:
                single.append(lp)
        position: dict[int, int] = {}
        self.groups = [_ThresholdGroup(members, self.lang) for members in grouped.values()]
        for group in self.groups:
            for lp in group.members:
                position[lp.text_key] = len(position)  # type: ignore[index]
        for lp in single:
            position[lp.text_key] = len(position)  # type: ignore[index]
        self.singles = single
        self.placeholder = len(position)  # the slot after the last: a local leaf's place
        self.places: list[_Place] = []
        for plan in self.plans:
            picks = [
                self.placeholder if lp.text_key is None else position[lp.text_key]
                for lp in plan.leaves
            ]
            local = [(k, lp.fn) for k, lp in enumerate(plan.leaves) if lp.text_key is None]
            text_pos = [
                None if lp.text_key is None else position[lp.text_key] for lp in plan.leaves
            ]
            self.places.append(_Place(picks, local, text_pos))

    def run(self, row: dict[str, Any], full: bool = True, texts: bool = True) -> list[Any]:
        """Every plan's result (`RowPlan.run`) on one prepared row; `full=False` takes
        the fast path (`RowPlan.run_fast`, where `texts=False` leaves reasons empty)."""
        r = {**row, MEMO: {}}
        if not full:
            return self._run_fast(r, texts)
        shared: list[Any] = []
        for group in self.groups:
            shared += group.outcomes(r)
        shared += [lp.fn(r, _NO_PARTS) for lp in self.singles]
        shared.append(None)  # the placeholder of local leaves
        return [p.run(r, shared, place) for p, place in zip(self.plans, self.places, strict=True)]

    def _run_fast(self, r: dict[str, Any], texts: bool) -> list[dict[str, Any]]:
        statuses: list[bool | None] = []
        leaf_texts: list[str | None] | None = [] if texts else None
        for group in self.groups:
            group.fill(r, statuses, leaf_texts)
        if self.singles:
            leaf_text = self.plans[0]._leaf_text  # texts depend only on the language
            for lp in self.singles:
                st, a, b = lp.fn(r, _NO_PARTS)
                statuses.append(st)
                if leaf_texts is not None:
                    leaf_texts.append(leaf_text(lp, st, a, b, r))
        statuses.append(None)  # the placeholder of local leaves
        return [
            p.run_fast(r, statuses, leaf_texts, f)
            for p, f in zip(self.plans, self.places, strict=True)
        ]


class _ThresholdGroup:
    """Leaves `value op t` of one value, op, format and missing fields (the threshold
    variants of a criterion), tested together: `reference._threshold_fn` for each
    (same cuts t ∓ eps, same None/NaN behaviour: a comparison with NaN is false, so
    neither true nor false: unknown). The members are ordered by cut, so the outcomes
    are three runs found by bisection (true, unknown, false; false first for <= and <)."""

    @staticmethod
    def takes(lp: _LeafPlan) -> bool:
        """Whether a leaf can join a group: `value op literal`, shown as a comparison."""
        return lp.threshold is not None and lp.kind == "compare" and lp.text[4] is None

    def __init__(self, members: list[_LeafPlan], lang: str) -> None:
        op = members[0].threshold[0]
        low = op in (">=", "<")  # the cut is t - eps, else t + eps

        def cut(lp: _LeafPlan) -> float:
            t, eps = lp.threshold[3], lp.threshold[4]
            return t - eps if low else t + eps

        self.members = sorted(members, key=cut)
        self.cuts = [cut(lp) for lp in self.members]
        self.bs = [(lp.threshold[3], lp.threshold[3]) for lp in self.members]
        self.fa = members[0].threshold[2]
        self.n = len(self.members)
        # >= and <: a value equal to a cut is on the cut's upper side (bisect right)
        self.bisect = bisect_right if low else bisect_left
        self.true_first = op in (">=", ">")
        first = self.members[0]
        _name, self.fmt, self.exact0, _req, _rhs = first.text
        self.heads = {st: [lp.marks[st] for lp in self.members] for st in (True, False, None)}  # type: ignore[index]
        self.reqs = [lp.text[3] for lp in self.members]
        self.missing_of = first if first.missing else None
        self.lang = lang
        self.en = is_en(lang)

    def runs(self, a: Any) -> tuple[tuple[bool | None, int], ...]:
        """(status, end) of the three runs of outcomes for the value interval `a`."""
        a0, a1 = a
        n = self.n
        i0 = self.bisect(self.cuts, a0) if a0 is not None and a0 == a0 else 0
        i1 = self.bisect(self.cuts, a1) if a1 is not None and a1 == a1 else n
        if self.true_first:  # true where the cut is below the low end, false above the high
            return (True, i0), (None, max(i0, i1)), (False, n)
        return (False, min(i0, i1)), (None, i1), (True, n)

    def outcomes(self, row: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
        """(status, value, threshold) of each member, in order."""
        a = self.fa(row, _NO_PARTS)
        out: list[tuple[Any, Any, Any]] = []
        start = 0
        bs = self.bs
        for st, end in self.runs(a):
            out += [(st, a, b) for b in bs[start:end]]
            start = end
        return out

    def fill(
        self, row: dict[str, Any], statuses: list[bool | None], texts: list[str | None] | None
    ) -> None:
        """Append each member's status (and text, unless `texts` is None), in order."""
        a = self.fa(row, _NO_PARTS)
        runs = self.runs(a)
        start = 0
        for st, end in runs:
            statuses += [st] * (end - start)
            start = end
        if texts is None:
            return
        shown = _val_text(a[0], a[1], self.exact0, self.fmt, self.lang)
        if shown is None:
            shown = "?"
        if self.missing_of is not None:
            missing = _missing_text(self.missing_of, row, self.en)
            reqs = [q + missing for q in self.reqs] if missing else self.reqs
        else:
            reqs = self.reqs
        start = 0
        for st, end in runs:
            if end > start:
                heads = self.heads[st]
                texts += [heads[k] + shown + reqs[k] for k in range(start, end)]
            start = end


def _getter(picks: list[int]) -> Any:
    """`shared -> tuple(shared[k] for k in picks)` as one C call."""
    if not picks:
        return lambda shared: ()
    if len(picks) == 1:
        k = picks[0]
        return lambda shared: (shared[k],)
    return itemgetter(*picks)


_NO_PARTS: dict[str, Any] = {}


_PROGRAMS: dict[tuple, tuple[list[Compiler], RowProgram]] = {}


def program_of(compilers: Sequence[Compiler], lang: str) -> RowProgram:
    """The row program of a list of compiled criteria, remembered for the last few lists
    (the live path evaluates the same pools for one firm after another)."""
    return by_identity(
        _PROGRAMS, compilers, lambda: RowProgram([plan_of(c, lang) for c in compilers]), lang
    )


# ----------------------------------------------------------------------------- prepare


def prepare_rows(
    panel: pl.DataFrame,
    needs: Needs,
    *,
    year: int | None = None,
    scores: pl.DataFrame | None = None,
) -> list[dict[str, Any]] | None:
    """`evaluate.prepare` for a small, derived panel, in Python: the rows (of `year`) with
    lag, score and window columns. None when the rules need the registry tables (the
    caller then uses the Polars `prepare`)."""
    names = set(panel.columns)
    if "uscc" not in names or "year" not in names:
        return None
    for kind, offset in needs.has:
        if offset != 0 or has_col(kind) not in names:
            return None
    windows: dict[str, set[int]] = {}
    for kind, within in needs.negatives:
        if neg_col(kind) not in names:
            return None
        if within:
            windows.setdefault(kind, set()).add(within)
    if needs.scores and (scores is None or any(c not in scores.columns for c in needs.scores)):
        return None
    rows = panel.to_dicts()
    by_key = {(r["uscc"], r["year"]): r for r in rows}
    out_rows = rows if year is None else [r for r in rows if r["year"] == year]
    plain = [c for c in needs.columns if c not in names]
    lags = sorted(needs.lags, key=lambda x: (x[1], x[0]))
    score_rows: dict[tuple[Any, Any], dict[str, Any]] = {}
    if needs.scores and scores is not None:
        cols = sorted(needs.scores)
        for s in scores.select("uscc", "year", *cols).iter_rows(named=True):
            score_rows.setdefault((s["uscc"], s["year"]), s)
    out = []
    for r in out_rows:
        row = dict(r)
        for c in plain:
            row[c] = None
        uscc, y = r["uscc"], r["year"]
        for code, lag in lags:
            old = by_key.get((uscc, y - lag))
            row[data_col(code, lag)] = None if old is None else old.get(code)
        for kind, ws in windows.items():
            col = neg_col(kind)
            for w in ws:
                vals = [r.get(col)]
                for k in range(1, w):
                    old = by_key.get((uscc, y - k))
                    v = None if old is None else old.get(col)
                    vals.append(False if v is None else v)
                row[neg_col(kind, w)] = _any(vals)
        if needs.scores:
            s = score_rows.get((uscc, y))
            for c in needs.scores:
                row[f"score__{c}"] = None if s is None else s[c]
        out.append(row)
    return out
