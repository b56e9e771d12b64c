"""Stage schemes: the rule that puts each firm-year into a development stage.

A scheme is an ordered list of stages; each stage but the last has a condition, and the
first stage whose condition holds wins; the last stage takes every other row. The
conditions use the rule language's comparison forms (`{"<": [{"field": "age_years"}, 3]}`,
`all`, `any`, `not`), so a zone writes its own scheme (e.g. five revenue bands) as data.

The default is this project's **zone default** (the national guide names the three
stages but publishes no thresholds): 初创期 when the firm is under 3 years old or its
revenue is under 500万; 稳定期 when revenue is at least 2亿; 成长期 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

_COMPARISONS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _operand(node: Any) -> pl.Expr:
    if isinstance(node, dict) and set(node) == {"field"}:
        return pl.col(node["field"])
    if isinstance(node, bool | int | float | str):
        return pl.lit(node)
    raise ValueError(f"stage condition operand not understood: {node!r}")


def condition_expr(node: dict[str, Any]) -> pl.Expr:
    """A boolean expression for a stage condition (null when a needed value is missing)."""
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"stage condition must be an object with one key: {node!r}")
    ((op, args),) = node.items()
    if op == "all":
        return pl.all_horizontal([condition_expr(a) for a in args])
    if op == "any":
        return pl.any_horizontal([condition_expr(a) for a in args])
    if op == "not":
        return ~condition_expr(args)
    if op in _COMPARISONS:
        left, right = args
        return _COMPARISONS[op](_operand(left), _operand(right))
    raise ValueError(f"stage condition operator not understood: {op!r}")


@dataclass(frozen=True)
class Stage:
    """One stage of a scheme: its code, names, and the condition (None for the fallback)."""

    code: str
    zh: str
    en: str
    when: dict[str, Any] | None = None


@dataclass(frozen=True)
class StageScheme:
    """An ordered stage scheme; see the module docstring."""

    stages: tuple[Stage, ...]

    @classmethod
    def from_data(cls, data: list[dict[str, Any]]) -> StageScheme:
        """Build a scheme from its YAML/JSON form: a list of {code, zh, en, when}."""
        stages = tuple(
            Stage(
                str(s["code"]),
                str(s.get("zh", s["code"])),
                str(s.get("en", s["code"])),
                s.get("when"),
            )
            for s in data
        )
        if not stages or stages[-1].when is not None:
            raise ValueError("the last stage of a scheme is the fallback and has no `when`")
        if any(s.when is None for s in stages[:-1]):
            raise ValueError("every stage but the last needs a `when` condition")
        if len({s.code for s in stages}) != len(stages):
            raise ValueError("stage codes must be unique")
        return cls(stages)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.stages)

    def expr(self) -> pl.Expr:
        """The stage code of each row, as one expression."""
        *conditional, fallback = self.stages
        if not conditional:
            return pl.lit(fallback.code)
        chain = pl.when(condition_expr(conditional[0].when)).then(pl.lit(conditional[0].code))
        for stage in conditional[1:]:
            chain = chain.when(condition_expr(stage.when)).then(pl.lit(stage.code))
        return chain.otherwise(pl.lit(fallback.code))


DEFAULT_STAGE_SCHEME = StageScheme.from_data(
    [
        {
            "code": "startup",
            "zh": "初创期",
            "en": "Start-up",
            "when": {
                "any": [
                    {"<": [{"field": "age_years"}, 3]},
                    {"<": [{"field": "revenue"}, 500]},
                ]
            },
        },
        {
            "code": "mature",
            "zh": "稳定期",
            "en": "Mature",
            "when": {">=": [{"field": "revenue"}, 20000]},
        },
        {"code": "growth", "zh": "成长期", "en": "Growth"},
    ]
)
