"""Outlier treatment as in COINr: skew/kurtosis-checked winsorisation with a log fallback.

Fitting runs once per indicator over the fit population (a loop over indicators, not
firms) and yields bounds; applying is a clip (or the log) as a Polars expression, so a
what-if firm is treated with the peers' bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl


def skewness(x: np.ndarray) -> float:
    """Sample skewness with the small-sample correction (e1071 type 2)."""
    n = x.size
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0:
        return 0.0
    g1 = float(np.mean(d**3)) / m2**1.5
    return g1 * math.sqrt(n * (n - 1)) / (n - 2)


def kurtosis(x: np.ndarray) -> float:
    """Sample excess kurtosis with the small-sample correction (e1071 type 2)."""
    n = x.size
    if n < 4:
        return math.nan
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0:
        return 0.0
    g2 = float(np.mean(d**4)) / m2**2 - 3.0
    return ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))


@dataclass(frozen=True)
class TreatmentFit:
    """Fitted treatment of one indicator: `kind` is none, winsorise or log."""

    kind: str
    low: float = -math.inf  # winsorise: lower clip bound
    high: float = math.inf  # winsorise: upper clip bound
    minimum: float = 0.0  # log: the fit population's min and max
    maximum: float = 0.0
    low_count: int = 0  # points changed at the low and high end
    high_count: int = 0

    def expr(self, value: pl.Expr) -> pl.Expr:
        """The treated value as an expression."""
        if self.kind == "winsorise":
            return value.clip(self.low, self.high)
        if self.kind == "log":
            shift = -self.minimum + 0.01 * (self.maximum - self.minimum)
            return (value + shift).log()
        return value


def fit_treatment(
    values: np.ndarray, skew_limit: float = 2.0, kurt_limit: float = 3.5, winmax: int = 5
) -> TreatmentFit:
    """Fit COINr's default treatment on one indicator's values (NaN = missing).

    Passes when |skew| < `skew_limit` or kurtosis < `kurt_limit`. While failing, every point
    equal to the extreme on the skewed side takes the next value inward; stops when it
    passes or when the latest step changed `winmax` points or more. Still failing: log.
    """
    x = values[~np.isnan(values)].astype(np.float64, copy=True)

    def fails(arr: np.ndarray) -> bool:
        sk, kt = skewness(arr), kurtosis(arr)
        return not (math.isnan(sk) or math.isnan(kt)) and abs(sk) >= skew_limit and kt >= kurt_limit

    if x.size < 4 or not fails(x):
        return TreatmentFit("none")
    while fails(x):
        if skewness(x) >= 0:
            extreme = x == x.max()
            if extreme.all():
                break
            x[extreme] = x[~extreme].max()
        else:
            extreme = x == x.min()
            if extreme.all():
                break
            x[extreme] = x[~extreme].min()
        if int(extreme.sum()) >= winmax:
            break
    if fails(x):
        orig = values[~np.isnan(values)]
        return TreatmentFit("log", minimum=float(orig.min()), maximum=float(orig.max()))
    orig = values[~np.isnan(values)]
    low, high = float(x.min()), float(x.max())
    low_count, high_count = int((orig < low).sum()), int((orig > high).sum())
    return TreatmentFit(
        "winsorise",
        low=low if low_count else -math.inf,
        high=high if high_count else math.inf,
        low_count=low_count,
        high_count=high_count,
    )
