"""Benchmark of the scoring engine (not part of the test suite).

10^6 firms × 40 indicators × 3 stages: percentile within stage × industry-section peer
groups, 3-level aggregation (indicators → 8 pillars → 3 classes → total) with per-stage
weights, ranks (overall, stage, industry) and bands. Compared with a straightforward
pandas implementation of the same computation on the same data, in the same run. Each
measurement runs in a fresh subprocess so peak memory (ru_maxrss) is its own.
Also: one firm's what-if against 10^5 fitted peers (p95 latency).

    .venv/bin/python bench/bench_scoring.py [--firms 1000000] [--runs 3] [--pandas-runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import polars as pl

N_INDICATORS = 40
N_PILLARS = 8
STAGES = ("startup", "growth", "mature")
SECTIONS = tuple("ABCDEFGHIJKLMNOPQRST")


def bench_model() -> dict:
    """The benchmark model: 40 percentile indicators, 8 pillars, 3 classes, per-stage weights."""
    rng = np.random.default_rng(1)
    classes = ["tech", "growth", "aux"]
    nodes = [{"id": "total", "name": {"zh": "总分", "en": "Total"}}]
    for k, cls in enumerate(classes):
        weights = {
            s: float(w)
            for s, w in zip(STAGES, ([50, 45, 40], [35, 40, 45], [15, 15, 15])[k], strict=True)
        }
        nodes.append(
            {"id": cls, "parent": "total", "name": {"zh": cls, "en": cls}, "weight": weights}
        )
    for p in range(N_PILLARS):
        nodes.append(
            {
                "id": f"pillar{p}",
                "parent": classes[p % 3],
                "name": {"zh": f"p{p}", "en": f"p{p}"},
                "weight": {s: float(rng.integers(1, 5)) for s in STAGES},
            }
        )
    indicators = [
        {
            "id": f"ind{i}",
            "parent": f"pillar{i % N_PILLARS}",
            "name": {"zh": f"i{i}", "en": f"i{i}"},
            "field": f"x{i}",
            "weight": {s: float(rng.integers(1, 10)) for s in STAGES},
            "method": {"kind": "percentile"},
        }
        for i in range(N_INDICATORS)
    ]
    return {
        "id": "bench-40",
        "version": "1",
        "name": {"zh": "基准", "en": "Benchmark"},
        "effective_from": "2024-01-01",
        "reference": "bench",
        "scale": 100,
        "custom_fields": [
            {"code": f"x{i}", "name": {"zh": f"x{i}", "en": f"x{i}"}} for i in range(N_INDICATORS)
        ],
        "defaults": {"missing": "zero", "peer_group": ["stage", "industry_section"]},
        "ranking": {"overall": [], "stage": ["stage"], "industry": ["industry_section"]},
        "bands": {"group": "stage"},
        "nodes": nodes,
        "indicators": indicators,
    }


def make_data(n_firms: int, seed: int = 42) -> pl.DataFrame:
    """Synthetic firms: lognormal indicator values with 5 % missing, stage and section."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        "uscc": pl.Series(np.char.add("91", np.char.zfill(np.arange(n_firms).astype(str), 16))),
        "year": np.full(n_firms, 2024, dtype=np.int64),
        "stage": pl.Series(rng.choice(np.array(STAGES), n_firms)),
        "industry_section": pl.Series(rng.choice(np.array(SECTIONS), n_firms)),
    }
    for i in range(N_INDICATORS):
        values = rng.lognormal(rng.uniform(0, 5), rng.uniform(0.5, 2), n_firms)
        values = np.round(values, 2)  # ties, as in real data
        values[rng.random(n_firms) < 0.05] = np.nan
        columns[f"x{i}"] = pl.Series(values, nan_to_null=True)
    frame = pl.DataFrame(columns)
    return frame  # in key order, as loaded from the database (ORDER BY uscc, year)


def run_polars(frame: pl.DataFrame, model) -> pl.DataFrame:
    from innopoints.engine.scoring import score

    return score(frame, model, hash_data=False).scores


def to_pandas(frame: pl.DataFrame):
    """The same data as a pandas DataFrame (numpy-backed; no pyarrow needed)."""
    import pandas as pd

    return pd.DataFrame({name: frame.get_column(name).to_numpy() for name in frame.columns})


def run_pandas(df, doc: dict):
    """A straightforward pandas implementation of the same computation."""
    import pandas as pd

    df = df.sort_values(["uscc", "year"], kind="stable").reset_index(drop=True)
    groups = ["stage", "industry_section"]
    xs = [f"x{i}" for i in range(N_INDICATORS)]
    grouped = df.groupby(groups)[xs]
    ranks = grouped.rank(method="average")
    counts = grouped.transform("count")
    scores = ((ranks - 0.5) / counts).fillna(0.0)
    stage = df["stage"]

    def weight_series(item: dict) -> pd.Series:
        return stage.map(item["weight"]).astype(float)

    node_scores: dict[str, pd.Series] = {}
    children: dict[str, list[tuple[str, dict]]] = {}
    for item in doc["indicators"]:
        children.setdefault(item["parent"], []).append(("ind", item))
    for item in doc["nodes"]:
        if "parent" in item:
            children.setdefault(item["parent"], []).append(("node", item))

    def node_score(node_id: str) -> pd.Series:
        num = pd.Series(0.0, index=df.index)
        den = pd.Series(0.0, index=df.index)
        for kind, item in children[node_id]:
            s = scores[item["field"]] if kind == "ind" else node_score(item["id"])
            w = weight_series(item)
            num += (s * w).fillna(0.0)
            den += w.where(s.notna(), 0.0)
        result = num / den
        node_scores[node_id] = result
        return result

    total = (node_score("total") * 100).clip(0, 100)
    out = df[["uscc", "year", "stage", "industry_section"]].copy()
    out["total"] = total
    out["rank_overall"] = total.rank(method="min", ascending=False)
    for name, cols in (("stage", ["stage"]), ("industry", ["industry_section"])):
        out[f"rank_{name}"] = out.groupby(cols)["total"].rank(method="min", ascending=False)
        out[f"n_{name}"] = out.groupby(cols)["total"].transform("count")
    top = out["rank_stage"] / out["n_stage"]
    out["band"] = np.select(
        [top <= 0.05, top <= 0.10, top <= 0.20], ["lead", "chase", "rise"], None
    )
    return out


def child(kind: str, n_firms: int, runs: int) -> None:
    """Run one implementation in this process; print timings and peak memory as JSON."""
    from innopoints.engine.scoring import load_model

    doc = bench_model()
    model = load_model(doc)
    load_start = os.getloadavg()[0]
    frame = make_data(n_firms)
    data = frame if kind == "polars" else to_pandas(frame)
    times, cpu_times = [], []
    result = None
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = run_polars(data, model) if kind == "polars" else run_pandas(data, doc)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    if kind == "pandas":
        result = pl.DataFrame(
            {
                "uscc": result["uscc"].to_numpy(),
                "total": result["total"].to_numpy(),
                "rank_overall": result["rank_overall"].to_numpy(),
                "band": [b if isinstance(b, str) else None for b in result["band"]],
            }
        )
    checksum = {
        "total_sum": float(result.get_column("total").sum()),
        "rank_first": result.sort("uscc")
        .get_column("rank_overall")
        .head(5)
        .cast(pl.Int64)
        .to_list(),
        "bands": result.get_column("band").value_counts().sort("band").rows(),
    }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "times": times,
                "cpu": cpu_times,
                "peak_mb": peak_mb,
                "load_start": load_start,
                "load": load,
                "check": checksum,
            },
            default=str,
        )
    )


def child_what_if(n_peers: int, trials: int) -> None:
    """Fit on n_peers firms, then time single-firm what-ifs (one value changed)."""
    from innopoints.engine.scoring import fit, load_model

    model = load_model(bench_model())
    frame = make_data(n_peers)
    start = time.perf_counter()
    fitted = fit(frame, model)
    fit_seconds = time.perf_counter() - start
    load_start = os.getloadavg()[0]
    rng = np.random.default_rng(3)
    rows = frame.sample(trials, seed=5)
    times = []
    for k in range(trials):
        row = rows.slice(k, 1)
        change = {f"x{int(rng.integers(N_INDICATORS))}": float(rng.lognormal(3, 1))}
        start = time.perf_counter()
        fitted.what_if(row, change)
        times.append(time.perf_counter() - start)
    times_ms = np.array(times[5:]) * 1000  # first calls warm caches
    print(
        json.dumps(
            {
                "fit_seconds": fit_seconds,
                "p50_ms": float(np.percentile(times_ms, 50)),
                "p95_ms": float(np.percentile(times_ms, 95)),
                "max_ms": float(times_ms.max()),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "load_start": load_start,
                "load": os.getloadavg()[0],
            }
        )
    )


def _spawn(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pandas-runs", type=int, default=1)
    parser.add_argument("--peers", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=105)
    parser.add_argument("--child", choices=["polars", "pandas", "what_if"])
    args = parser.parse_args()
    if args.child == "what_if":
        child_what_if(args.peers, args.trials)
        return
    if args.child:
        child(args.child, args.firms, args.runs if args.child == "polars" else args.pandas_runs)
        return
    ours = _spawn("--child", "polars", "--firms", str(args.firms), "--runs", str(args.runs))
    print("polars", json.dumps(ours), flush=True)
    theirs = _spawn(
        "--child", "pandas", "--firms", str(args.firms), "--pandas-runs", str(args.pandas_runs)
    )
    print("pandas", json.dumps(theirs), flush=True)
    what_if = _spawn("--child", "what_if", "--peers", str(args.peers), "--trials", str(args.trials))
    ours_median = statistics.median(ours["times"])
    pandas_median = statistics.median(theirs["times"])
    ours_cpu, pandas_cpu = statistics.median(ours["cpu"]), statistics.median(theirs["cpu"])
    same = ours["check"]["rank_first"] == theirs["check"]["rank_first"] and abs(
        ours["check"]["total_sum"] - theirs["check"]["total_sum"]
    ) < 1e-6 * abs(theirs["check"]["total_sum"])
    try:
        from bench.machine import describe

        machine = describe()
    except ImportError:
        machine = "see lscpu"
    runs = ", ".join(f"{t:.2f}" for t in ours["times"])
    print(
        f"""
## Scoring engine

`python -m bench.bench_scoring` — {args.firms:,} firms × {N_INDICATORS} indicators × {len(STAGES)} stages,
percentile within stage × industry-section peer groups, 3-level aggregation, ranks, bands.
Machine: {machine}; 1-min load average {ours["load_start"]:.1f}→{ours["load"]:.1f} (engine),
{theirs["load_start"]:.1f}→{theirs["load"]:.1f} (pandas), {what_if["load_start"]:.1f}→{what_if["load"]:.1f} (what-if)
(start→end of each measurement).

| | engine (Polars) | pandas reference | ratio |
|---|---|---|---|
| median wall time | {ours_median:.2f} s ({runs}) | {pandas_median:.2f} s | {pandas_median / ours_median:.1f}× |
| median CPU time | {ours_cpu:.2f} s | {pandas_cpu:.2f} s | {pandas_cpu / ours_cpu:.1f}× |
| peak memory (process) | {ours["peak_mb"]:.0f} MB | {theirs["peak_mb"]:.0f} MB | |
| same totals, ranks, bands | {same} | | |

What-if, one firm against {args.peers:,} fitted peers: fit {what_if["fit_seconds"]:.2f} s, p50
{what_if["p50_ms"]:.1f} ms, p95 {what_if["p95_ms"]:.1f} ms, max {what_if["max_ms"]:.1f} ms.
"""
    )


if __name__ == "__main__":
    main()
