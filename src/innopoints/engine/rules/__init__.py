"""The rules engine: a safe rule language, official criteria, vectorised evaluation.

Public API (no Django):

- `load_criterion(name_or_path_or_mapping, params=...)` → `Criterion` (raises `RuleError`
  whose `problems` carry node paths); `official_criteria()`, `shipped_criteria()`.
- `load_rule(tree)` / `validate_rule(tree)` for a bare condition (a pool's or a policy's
  rule): the latter returns the problems for save-time validation.
- `evaluate(panel, criteria, year=..., lang=..., scores=..., near_miss=...)` → one row
  per firm-year and criterion: status (eligible / ineligible / unknown), score,
  score_min, score_max, reasons, missing, parts (+ near_miss, near_miss_blocked).
- `sentence(criterion.rules, lang)` renders a rule as a sentence.
- `evaluate_row(criterion, row)` is the per-row Python reference (tests, benchmarks).
"""

from innopoints.engine.rules.criteria import (
    OFFICIAL,
    Criterion,
    Part,
    load_criterion,
    load_rule,
    official_criteria,
    shipped_criteria,
    validate_rule,
)
from innopoints.engine.rules.evaluate import (
    DataError,
    evaluate,
    evaluate_one_firm,
    evaluate_wide,
    prepare,
)
from innopoints.engine.rules.language import Problem, RuleError
from innopoints.engine.rules.render import sentence

__all__ = [
    "OFFICIAL",
    "Criterion",
    "DataError",
    "Part",
    "Problem",
    "RuleError",
    "evaluate",
    "evaluate_one_firm",
    "evaluate_wide",
    "load_criterion",
    "load_rule",
    "official_criteria",
    "prepare",
    "sentence",
    "shipped_criteria",
    "validate_rule",
]
