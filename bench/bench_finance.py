"""Credit-line benchmark: a product's grade table over 10^5–10^6 firms in one Polars pass
(`innopoints.engine.credit.credit_lines`) against the per-row Python loop
(`credit_line_row` over `iter_rows`, the rows materialised inside the timing) on the same data, with the ratio and a check that both agree.

Run: `python -m bench.bench_finance [--firms 100000 1000000] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import polars as pl

from bench.machine import describe, peak_rss_mb
from innopoints.engine.credit import DEFAULT_TABLE, credit_line_row, credit_lines, parse_table


def synthetic(n: int, seed: int = 7) -> pl.DataFrame:
    """n firms with band, percentile, revenue, tax, debt, negative records, stage, eligibility."""
    rng = np.random.default_rng(seed)
    pct = rng.uniform(0, 100, n)
    band = np.where(
        pct >= 95, "lead", np.where(pct >= 90, "chase", np.where(pct >= 80, "rise", None))
    )
    revenue = rng.lognormal(7, 1.5, n)
    return pl.DataFrame(
        {
            "uscc": [f"F{i:07d}" for i in range(n)],
            "band": band.tolist(),
            "pct": pct,
            "revenue": np.where(rng.random(n) < 0.05, np.nan, revenue),
            "tax_paid": revenue * rng.uniform(0.01, 0.08, n),
            "debt": np.where(rng.random(n) < 0.3, rng.uniform(0, 500, n), 0.0),
            "negative": rng.random(n) < 0.03,
            "stage": rng.choice(["startup", "growth", "mature"], n),
            "eligibility": rng.choice(["eligible", "eligible", "unknown", "ineligible"], n),
        }
    ).with_columns(
        pl.col("revenue").fill_nan(None),
        pl.when(pl.col("band") != "").then(pl.col("band")).alias("band"),
    )


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    table = parse_table(DEFAULT_TABLE)
    print("## Finance: credit lines\n")
    print(f"Machine: {describe()}; load average at start {os.getloadavg()[0]:.2f}\n")
    print("| firms | Polars (one pass) | per-row Python loop | ratio | lines agree |")
    print("|---:|---:|---:|---:|---|")
    for n in args.firms:
        frame = synthetic(n)
        polars_s, lines = timed(lambda f=frame: credit_lines(f, table, 1000.0), args.repeats)
        loop_s, ref = timed(
            lambda f=frame: [
                credit_line_row(row, table, 1000.0) for row in f.iter_rows(named=True)
            ],
            1,
        )
        got = lines.get_column("line").to_list()
        agree = all(
            (a is None and b["line"] is None)
            or (a is not None and b["line"] is not None and abs(a - b["line"]) <= 0.011)
            for a, b in zip(got, ref, strict=True)
        )
        print(
            f"| {n:,} | {polars_s:.3f} s | {loop_s:.2f} s | {loop_s / polars_s:.0f}× | {agree} |",
            flush=True,
        )
    print(f"\nLoad average at end {os.getloadavg()[0]:.2f}; peak RSS {peak_rss_mb():.0f} MB.")


if __name__ == "__main__":
    main()
