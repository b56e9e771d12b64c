"""Rules engine benchmark: 300 rules × 10^6 firms with reasons, a per-row Python
reference on a sample, and one firm × 300 rules latency.

The 300 rules are variants of the shipped criteria with every numeric parameter
perturbed (×0.8–1.2, seeded). Run: `python -m bench.bench_rules [--firms 1000000]
[--rules 300] [--batch 10] [--years 4] [--reference-rows 300] [--repeats 100]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import polars as pl

from bench.machine import describe, peak_rss_mb
from innopoints.demo.generator import generate_zone
from innopoints.engine.rules import load_criterion, prepare
from innopoints.engine.rules.compiler import compile_criterion
from innopoints.engine.rules.criteria import OFFICIAL
from innopoints.engine.rules.evaluate import (
    _merged_stages,
    evaluate_one_firm,
    needs_of,
    output_exprs,
)
from innopoints.engine.rules.reference import evaluate_row
from innopoints.engine.rules.rowwise import evaluate_rows
from innopoints.standard.derived import derive
from innopoints.standard.panel import rows_of, uscc_index


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
    parser.add_argument("--reference-rows", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    load_before = os.getloadavg()

    t0 = time.perf_counter()
    panel = generate_zone(enterprises=args.firms, years=args.years, seed=5).wide_panel()
    gen_s = time.perf_counter() - t0
    criteria = variants(args.rules)
    compilers = [compile_criterion(c, i) for i, c in enumerate(criteria)]
    year = int(panel["year"].max())

    t0 = time.perf_counter()
    derived = derive(panel.lazy()).collect()
    prepared = (
        prepare(derived, needs_of(compilers), run_derive=False)
        .filter(pl.col("year") == year)
        .collect()
    )
    prep_s = time.perf_counter() - t0
    firms = prepared.height

    # all rules over all firms, with reasons: `evaluate`'s passes (stages, shared value
    # texts, every output of the pass in one select); each pass's result is counted and
    # dropped (300 × 10^6 reasons do not fit in memory at once)
    t0, c0 = time.perf_counter(), time.process_time()
    counts: dict[str, int] = {}
    reason_chars = 0
    for start in range(0, len(compilers), args.batch):
        batch = compilers[start : start + args.batch]
        staged = prepared.lazy()
        for exprs in _merged_stages(batch, "zh"):
            staged = staged.with_columns(exprs)
        frame = staged.collect()
        wide = frame.select(
            e.name.suffix(f"\x00{k}")
            for k, c in enumerate(batch)
            for e in output_exprs(c, "zh", staged_texts=True)
        )
        for k in range(len(batch)):
            reason_chars += int(wide[f"reasons\x00{k}"].str.len_chars().sum())
            for s, n in wide[f"status\x00{k}"].value_counts().iter_rows():
                counts[s] = counts.get(s, 0) + n
        del frame, wide
    all_s, all_cpu = time.perf_counter() - t0, time.process_time() - c0
    per_eval_ns = all_s / (firms * len(compilers)) * 1e9

    # per-row Python on a sample: the reference (status + score) and the row path
    # (status, score, reasons — identical to the vectorised output)
    sample = prepared.head(args.reference_rows).to_dicts()
    t0 = time.perf_counter()
    for row in sample:
        for c in criteria:
            evaluate_row(c, row)
    ref_s = time.perf_counter() - t0
    ref_per_eval_ns = ref_s / (len(sample) * len(criteria)) * 1e9
    evaluate_rows(sample[:1], compilers)  # plans are built once per compiled criterion
    t0 = time.perf_counter()
    evaluate_rows(sample, compilers)
    row_s = time.perf_counter() - t0
    row_per_eval_ns = row_s / (len(sample) * len(criteria)) * 1e9

    # one firm × all rules as the platform runs it (pools/live.py): the firm's rows of
    # the derived panel through the cached uscc index, compiled rules cached,
    # `evaluate_one_firm` → row-wise path, with reasons
    index = uscc_index(derived)
    usccs = prepared["uscc"].head(args.repeats).to_list()
    evaluate_one_firm(rows_of(derived, index, usccs[0]), compilers, year=year)
    times, cpus, engine = [], [], []
    for uscc in usccs:
        t, c = time.perf_counter(), time.thread_time()
        one = rows_of(derived, index, uscc)
        t1 = time.perf_counter()
        evaluate_one_firm(one, compilers, lang="zh", year=year)
        t2 = time.perf_counter()
        cpus.append(time.thread_time() - c)
        times.append(t2 - t)
        engine.append(t2 - t1)
    p50, p95 = _pct(times, 0.5) * 1000, _pct(times, 0.95) * 1000
    c50, c95 = _pct(cpus, 0.5) * 1000, _pct(cpus, 0.95) * 1000
    e50, e95 = _pct(engine, 0.5) * 1000, _pct(engine, 0.95) * 1000
    load_after = os.getloadavg()

    print("## Rules\n")
    print(f"Machine: {describe()}.")
    print(f"Load average (1/5/15 min) before {_load(load_before)}, after {_load(load_after)}.\n")
    print(
        f"Data: {firms:,} firms (generated, {args.years} years each for lags; generation "
        f"{gen_s:.1f} s, derive + lags {prep_s:.1f} s). Rules: {len(criteria)} = the "
        f"{len(OFFICIAL)} official criteria and perturbed variants "
        f"(parameters ×0.8–1.2), {args.batch} rules per pass.\n"
    )
    print("| measure | value |")
    print("|---|---|")
    print(
        f"| {len(criteria)} rules × {firms:,} firms with reasons (zh) | {all_s:.1f} s "
        f"(CPU {all_cpu:.1f} s) |"
    )
    print(f"| per firm × rule, vectorised | {per_eval_ns:.0f} ns |")
    print(
        f"| per firm × rule, per-row Python reference ({len(sample):,} firms, no reasons) "
        f"| {ref_per_eval_ns:.0f} ns ({ref_per_eval_ns / per_eval_ns:.0f}× vectorised) |"
    )
    print(
        f"| per firm × rule, row-wise path with reasons ({len(sample):,} firms) "
        f"| {row_per_eval_ns:.0f} ns ({row_per_eval_ns / per_eval_ns:.0f}× vectorised) |"
    )
    print(
        f"| one firm × {len(criteria)} rules with reasons (live path), p50 / p95 wall, "
        f"{len(times)} firms | {p50:.1f} ms / {p95:.1f} ms (CPU {c50:.1f} / {c95:.1f} ms) |"
    )
    print(
        f"| of which `evaluate_one_firm` (without finding the firm's rows in the "
        f"{derived.height:,}-row panel), p50 / p95 | {e50:.1f} ms / {e95:.1f} ms |"
    )
    print(f"| reasons produced | {reason_chars / 1e9:.3f} G characters |")
    print(f"\nStatus counts: {dict(sorted(counts.items()))}.")
    print(f"Peak memory of the process: {peak_rss_mb():.0f} MiB.")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if q != 0.5 else statistics.median(values)


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)


if __name__ == "__main__":
    main()
