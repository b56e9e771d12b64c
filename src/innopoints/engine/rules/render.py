"""Render rule trees as Chinese or English sentences, and format values for reasons.

`sentence(node, lang)` turns a typed tree into the text the UI shows zone staff
(“同时满足：①职工总数 ≤ 500；②…”). `value_text` names a value, `fmt_of` picks how a
value is shown (percent, 万元, count, points), and `fmt_py` / `fmt_expr` format one
number in Python or a whole column in Polars the same way.
"""

from __future__ import annotations

import polars as pl

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
from innopoints.standard.catalogue import NEGATIVE_TYPES, QUALIFICATION_TYPES, STANDARD_FIELDS, Kind
from innopoints.standard.catalogue import Field as CatalogueField

OP_TEXT = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
SCORE_NAMES = {
    "total": ("积分总分", "points total"),
    "band": ("积分档次", "points band"),
    "pct_stage": ("阶段内百分位", "percentile within stage"),
    "pct_overall": ("全区百分位", "overall percentile"),
    "pct_zone": ("园区内百分位", "percentile within zone"),
    "pct_industry": ("行业内百分位", "percentile within industry"),
    "rank_stage": ("阶段内排名", "rank within stage"),
    "rank_overall": ("全区排名", "overall rank"),
}


def is_en(lang: str) -> bool:
    """Whether `lang` asks for English."""
    return lang.startswith("en")


def _label(node: Node, lang: str) -> str | None:
    if node.label:
        return node.label.get("en" if is_en(lang) else "zh") or next(iter(node.label.values()))
    return None


def field_name(code: str, lang: str, fields: dict[str, CatalogueField] | None = None) -> str:
    """A field's display name (catalogue, has_/neg_ flags, or the code itself)."""
    f = (fields or STANDARD_FIELDS).get(code) or STANDARD_FIELDS.get(code)
    if f is not None:
        return f.label(lang)
    for prefix, table in (("has_", QUALIFICATION_TYPES), ("neg_", NEGATIVE_TYPES)):
        if code.startswith(prefix) and code[4:] in table:
            zh, en = table[code[4:]]
            return en if is_en(lang) else zh
    return code


def year_suffix(year: int, lang: str) -> str:
    """'' for the evaluation year, '（上一年）' / ' (year −1)' for earlier years."""
    if year == 0:
        return ""
    if is_en(lang):
        return f" (year {year})"
    return "（上一年）" if year == -1 else f"（{-year}年前）"


def fmt_of(node: Node) -> str:
    """How a value is shown: ratio, money, int, num, points or text."""
    if isinstance(node, Ref):
        return fmt_of(node.body)
    if isinstance(node, FieldRef):
        return {
            Kind.RATIO: "ratio",
            Kind.MONEY: "money",
            Kind.INT: "int",
            Kind.TEXT: "text",
            Kind.ENUM: "text",
            Kind.BOOL: "text",
        }.get(node.kind, "num")
    if isinstance(node, Window):
        if node.fn == "growth":
            return "ratio"
        base = {Kind.RATIO: "ratio", Kind.MONEY: "money"}.get(node.kind, "num")
        return "num" if node.fn == "avg" and base == "int" else base
    if isinstance(node, Arith):
        kinds = {fmt_of(a) for a in node.args if not isinstance(a, Lit)}
        if node.op in ("+", "-", "min", "max", "abs") and len(kinds) == 1:
            return kinds.pop()
        if node.op in ("*", "/") and len(kinds) == 1 and any(isinstance(a, Lit) for a in node.args):
            return kinds.pop()
        if node.op == "/" and len(node.args) == 2 and kinds <= {"money", "int"} and kinds:
            return "ratio"
        return "num"
    if isinstance(node, Segments | PartRef | RangeLit):
        return "points"
    if isinstance(node, ScoreRef):
        # percentiles of a scoring run are already 0–100: shown as plain numbers, not as
        # ratios (which would print 95 as 9500%)
        return "text" if node.column == "band" else "num"
    if isinstance(node, Lit):
        return "text" if isinstance(node.value, str) else "num"
    return "num"


def _unit(fmt: str, lang: str) -> str:
    if fmt == "money":
        return " (10k CNY)" if is_en(lang) else "万元"
    if fmt == "points":
        return " pts" if is_en(lang) else "分"
    return ""


def _trim(number: float, digits: int = 2) -> str:
    text = f"{round(number, digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# Codes of the standard's enumerations and the default bands, as Chinese reasons show them
# (English reasons show the codes, which are English words).
CODE_LABELS_ZH = {
    "none": "无",
    "municipal": "市级",
    "provincial": "省级",
    "national": "国家级",
    "lead": "领跑",
    "chase": "竞跑",
    "rise": "进取",
}


def code_label(value: str, lang: str) -> str:
    """A code as reasons show it: its Chinese label in Chinese, else the code."""
    return value if is_en(lang) else CODE_LABELS_ZH.get(value, value)


def fmt_py(value: object, fmt: str, lang: str) -> str:
    """Format one value as reasons show it (Python side, for literals and thresholds)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return ("yes" if value else "no") if is_en(lang) else ("是" if value else "否")
    if isinstance(value, str):
        return code_label(value, lang)
    if fmt == "ratio":
        return _trim(float(value) * 100) + "%"
    if fmt == "int":
        return str(round(float(value)))
    return _trim(float(value)) + _unit(fmt, lang)


def fmt_expr(expr: pl.Expr, fmt: str, lang: str) -> pl.Expr:
    """Format a column of values as `fmt_py` does (null stays null)."""
    if fmt == "text":
        text = expr.cast(pl.String)
        return text if is_en(lang) else text.replace(CODE_LABELS_ZH)
    if fmt == "ratio":
        return pl.concat_str(_num_text(expr.cast(pl.Float64) * 100), pl.lit("%"))
    if fmt == "int":
        return expr.cast(pl.Float64).round(0).cast(pl.Int64).cast(pl.String)
    unit = _unit(fmt, lang)
    text = _num_text(expr.cast(pl.Float64))
    return pl.concat_str(text, pl.lit(unit)) if unit else text


def _num_text(expr: pl.Expr) -> pl.Expr:
    """Two decimals at most, trailing zeros dropped."""
    text = expr.round(2).cast(pl.String)
    return text.str.strip_suffix(".0")


def value_text(node: Node, lang: str, fields: dict[str, CatalogueField] | None = None) -> str:
    """A value's name or literal as shown in sentences and reasons."""
    en = is_en(lang)
    label = _label(node, lang)
    if label:
        return label
    if isinstance(node, Ref):
        return value_text(node.body, lang, fields)
    if isinstance(node, Lit):
        text = fmt_py(node.value, "num" if not isinstance(node.value, str) else "text", lang)
        return text
    if isinstance(node, FieldRef):
        return field_name(node.code, lang, fields) + year_suffix(node.year, lang)
    if isinstance(node, Window):
        name = field_name(node.code, lang, fields)
        shift = year_suffix(node.year, lang)
        if node.fn == "growth":
            if node.years == 1:
                return f"{name} growth{shift}" if en else f"{name}增长率{shift}"
            return (
                f"{name} {node.years}-year CAGR{shift}"
                if en
                else f"{name}{node.years}年复合增长率{shift}"
            )
        word = {"sum": ("sum", "合计"), "avg": ("average", "平均")}[node.fn]
        if en:
            return f"{node.years}-year {word[0]} of {name}{shift}"
        return f"{name}近{node.years}年{word[1]}{shift}"
    if isinstance(node, Arith):
        parts = [value_text(a, lang, fields) for a in node.args]
        if node.op == "abs":
            return f"|{parts[0]}|"
        if node.op in ("min", "max"):
            if en:
                return f"{'lower' if node.op == 'min' else 'higher'} of ({', '.join(parts)})"
            return f"{'、'.join(parts)}中{'较小' if node.op == 'min' else '较大'}者"
        sym = {"*": "×", "/": "÷"}.get(node.op, node.op)
        return "(" + f" {sym} ".join(parts) + ")"
    if isinstance(node, Segments):
        inner = value_text(node.of, lang, fields)
        return f"points for {inner}" if en else f"{inner}得分"
    if isinstance(node, ScoreRef):
        zh, en_name = SCORE_NAMES.get(node.column, (node.column, node.column))
        return en_name if en else zh
    if isinstance(node, PartRef):
        return ("score" if en else "评分") if node.name == "total" else node.name
    if isinstance(node, RangeLit):
        return f"{_trim(node.lo)}–{_trim(node.hi)}"
    return "?"


def threshold_text(node: Node, peer_fmt: str, lang: str, fields=None) -> str:
    """A comparison's right-hand side: formatted like the left side when it is a literal."""
    if isinstance(node, Lit) and not isinstance(node.value, str | bool):
        return fmt_py(node.value, peer_fmt, lang)
    return value_text(node, lang, fields)


def qualification_name(kind: str, lang: str) -> str:
    """The display name of a qualification type."""
    zh, en = QUALIFICATION_TYPES.get(kind, (kind, kind))
    return en if is_en(lang) else zh


def negative_names(types: tuple[str, ...], lang: str) -> str:
    """Display names of negative record types, joined."""
    names = [NEGATIVE_TYPES.get(t, (t, t))[1 if is_en(lang) else 0] for t in types]
    return (" / " if is_en(lang) else "、").join(names)


def condition_text(node: Node, lang: str, fields=None) -> str:
    """A one-line sentence for a leaf or a whole condition (no status)."""
    return sentence(node, lang, fields, nested=False)


def sentence(node: Node, lang: str = "zh", fields=None, nested: bool = False) -> str:
    """A condition as a readable sentence in Chinese (default) or English."""
    en = is_en(lang)
    label = _label(node, lang)
    if label and not isinstance(node, Logic):
        return label
    if isinstance(node, Ref):
        return label or sentence(node.body, lang, fields, nested)
    if isinstance(node, BoolLit):
        return ("always" if node.value else "never") if en else ("总是" if node.value else "从不")
    if isinstance(node, BoolField):
        return field_name(node.code, lang, fields)
    if isinstance(node, Logic):
        if node.op == "not":
            inner = sentence(node.args[0], lang, fields, True)
            return f"not ({inner})" if en else f"不满足（{inner}）"
        if node.op == "possible":
            inner = sentence(node.args[0], lang, fields, True)
            return f"possibly ({inner})" if en else f"可能满足（{inner}）"
        items = [sentence(a, lang, fields, True) for a in node.args]
        if en:
            head = "all of" if node.op == "all" else "any of"
            body = f"{head}: " + "; ".join(f"({i + 1}) {t}" for i, t in enumerate(items))
        else:
            head = "同时满足" if node.op == "all" else "满足其一"
            marks = [CIRCLED[i] if i < len(CIRCLED) else f"({i + 1})" for i in range(len(items))]
            body = f"{head}：" + "；".join(f"{m}{t}" for m, t in zip(marks, items, strict=True))
        if label:
            body = f"{label}（{body}）" if not en else f"{label} ({body})"
        return f"[{body}]" if nested else body
    if isinstance(node, Compare):
        left = node.args[0]
        lt = value_text(left, lang, fields)
        f = fmt_of(left)
        if node.op == "between":
            lo = threshold_text(node.args[1], f, lang, fields)
            hi = threshold_text(node.args[2], f, lang, fields)
            return (
                f"{lt} between {lo} and {hi} (inclusive)" if en else f"{lt}介于{lo}与{hi}之间（含）"
            )
        if node.op == "in":
            items = ", ".join(fmt_py(i, f, lang) for i in node.items)
            return f"{lt} in {{{items}}}" if en else f"{lt}属于{{{items}}}"
        if node.op == "starts_with":
            items = ", ".join(str(i) for i in node.items)
            return f"{lt} starts with {items}" if en else f"{lt}以{items}开头"
        rt = threshold_text(node.args[1], f, lang, fields)
        return f"{lt} {OP_TEXT[node.op]} {rt}"
    if isinstance(node, Judge):
        what = node.text.get("en" if en else "zh", "")
        return f"expert review: {what}" if en else f"专家评审：{what}"
    if isinstance(node, Has):
        name = qualification_name(node.qualification, lang)
        when = ""
        if node.offset_days:
            when = (
                f" ({node.offset_days:+d} days from 31 Dec)"
                if en
                else f"（以12月31日{node.offset_days:+d}天为准）"
            )
        return f"holds a valid {name} qualification{when}" if en else f"持有有效的{name}资质{when}"
    if isinstance(node, Negative):
        names = negative_names(node.types, lang)
        if node.within_years:
            return (
                f"has a {names} record in the last {node.within_years} year(s)"
                if en
                else f"近{node.within_years}年内有{names}记录"
            )
        return f"has an active {names} record" if en else f"有未解除的{names}记录"
    return value_text(node, lang, fields)
