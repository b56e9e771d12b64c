"""The scoring engine: indicator models as data and the composite-indicator pipeline.

Public API (no Django):

- `load_model(name_or_path_or_mapping)` → `IndicatorModel` (raises `ModelValidationError`
  listing every problem), `validate_document(raw)` → problems, `model_hash`,
  `diff_models(a, b)`, `shipped_models()`.
- `score(frame, model, explain=...)` → `ScoreResult` (scores, explanation, hashes);
  `stages(frame, model)` → every intermediate stage.
- `fit(frame, model)` → `FittedModel` with `.apply(rows)` and `.what_if(rows, changes)`.
- `sensitivity(frame, model, ...)` → rank intervals and stability flags;
  `drop_one(frame, model)` → the effect of dropping each indicator.
"""

from innopoints.engine.scoring.model import (
    IndicatorModel,
    ModelValidationError,
    Problem,
    diff_models,
    load_model,
    model_hash,
    shipped_models,
    validate_document,
)
from innopoints.engine.scoring.pipeline import (
    DataError,
    FittedModel,
    ScoreResult,
    fit,
    frame_hash,
    score,
    stages,
)
from innopoints.engine.scoring.sensitivity import SensitivityResult, drop_one, sensitivity

__all__ = [
    "DataError",
    "FittedModel",
    "IndicatorModel",
    "ModelValidationError",
    "Problem",
    "ScoreResult",
    "SensitivityResult",
    "diff_models",
    "drop_one",
    "fit",
    "frame_hash",
    "load_model",
    "model_hash",
    "score",
    "sensitivity",
    "shipped_models",
    "stages",
    "validate_document",
]
