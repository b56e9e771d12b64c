"""Rules engine benchmark: 300 rules × 10^6 firms with reasons, a per-row Python
reference on a sample, and one firm × 300 rules latency.

The 300 rules are variants of the shipped criteria with every numeric parameter
perturbed (×0.8–1.2, seeded). Run: `python -m bench.bench_rules [--firms 1000000]
[--years 4] [--reference-rows 2000] [--repeats 50]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import polars as pl

from bench.machine import describe, peak_rss_mb
from innopoints.demo.generator import generate_zone
from innopoints.engine.rules import load_criterion, prepare
from innopoints.engine.rules.compiler import compile_criterion
from innopoints.engine.rules.criteria import OFFICIAL
from innopoints.engine.rules.evaluate import _merged_stages, evaluate_wide, needs_of, output_exprs
from innopoints.engine.rules.reference import evaluate_row


def variants(n: int, seed: int = 11) -> list:
    """n criteria: the official ones with perturbed numeric parameters."""
    rng = random.Random(seed)
    base = [load_criterion(name) for name in OFFICIAL]
    out = []
    for i in range(n):
        c = base[i % len(base)]
        if i < len(base):
            out.append(c)
            continue
        params = {
            k: round(v * rng.uniform(0.8, 1.2), 4)
            for k, v in c.params.items()
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and k in c.document["params"]
            and c.document["params"][k].get("origin") is not None
        }
        shared = set(c.params) - set(c.document.get("params") or {})
        params = {k: v for k, v in params.items() if k not in shared}
        out.append(load_criterion(c.id, params))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--reference-rows", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    t0 = time.perf_counter()
    panel = generate_zone(enterprises=args.firms, years=args.years, seed=5).wide_panel()
    gen_s = time.perf_counter() - t0
    criteria = variants(args.rules)
    compilers = [compile_criterion(c, i) for i, c in enumerate(criteria)]
    year = int(panel["year"].max())

    t0 = time.perf_counter()
    prepared = prepare(panel, needs_of(compilers)).filter(pl.col("year") == year).collect()
    prep_s = time.perf_counter() - t0
    firms = prepared.height

    # all rules over all firms, with reasons, in batches of rules
    t0 = time.perf_counter()
    counts: dict[str, int] = {}
    reason_chars = 0
    for start in range(0, len(compilers), args.batch):
        batch = compilers[start : start + args.batch]
        staged = prepared.lazy()
        for exprs in _merged_stages(batch):
            staged = staged.with_columns(exprs)
        frame = staged.collect()
        for c in batch:
            res = frame.select(output_exprs(c, "zh"))
            reason_chars += int(res["reasons"].str.len_chars().sum())
            for s, n in res["status"].value_counts().iter_rows():
                counts[s] = counts.get(s, 0) + n
    all_s = time.perf_counter() - t0
    per_eval_ns = all_s / (firms * len(compilers)) * 1e9

    # per-row Python reference on a sample (status + score only, no reasons)
    sample = prepared.head(args.reference_rows).to_dicts()
    t0 = time.perf_counter()
    for row in sample:
        for c in criteria:
            evaluate_row(c, row)
    ref_s = time.perf_counter() - t0
    ref_per_eval_ns = ref_s / (len(sample) * len(criteria)) * 1e9

    # one firm × all rules (fresh prepare from the firm's panel rows each time)
    one = panel.filter(pl.col("uscc") == prepared["uscc"][0])
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        evaluate_wide(one, compilers, lang="zh")
        times.append(time.perf_counter() - t)
    times.sort()
    p50 = statistics.median(times) * 1000
    p95 = times[int(0.95 * (len(times) - 1))] * 1000

    print("## Rules\n")
    print(f"Machine: {describe()}.\n")
    print(
        f"Data: {firms:,} firms (generated, {args.years} years each for lags; generation "
        f"{gen_s:.1f} s, preparing lags {prep_s:.1f} s). Rules: {len(criteria)} = the "
        f"{len(OFFICIAL)} official criteria and perturbed variants "
        f"(parameters ×0.8–1.2), evaluated {args.batch} rules per pass.\n"
    )
    print("| measure | value |")
    print("|---|---|")
    print(f"| {len(criteria)} rules × {firms:,} firms with reasons (zh) | {all_s:.1f} s |")
    print(f"| per firm × rule, vectorised | {per_eval_ns:.0f} ns |")
    print(
        f"| per firm × rule, per-row Python reference ({len(sample):,} firms, no reasons) "
        f"| {ref_per_eval_ns:.0f} ns |"
    )
    print(f"| ratio (reference ÷ vectorised) | {ref_per_eval_ns / per_eval_ns:.0f}× |")
    print(
        f"| one firm × {len(criteria)} rules with reasons, p50 / p95 ({args.repeats} runs) "
        f"| {p50:.1f} ms / {p95:.1f} ms |"
    )
    print(f"| reasons produced | {reason_chars / 1e9:.2f} G characters |")
    print(f"\nStatus counts: {dict(sorted(counts.items()))}.")
    print(f"Peak memory of the process: {peak_rss_mb():.0f} MiB.")


if __name__ == "__main__":
    main()
