"""Research–demand matching quality on the labelled set shipped with the services app
(`src/innopoints/services/data/`: 68 supply items, 64 demands with their relevant items).

Reports precision@5, recall@10 and MRR of the jieba + BM25 matcher (unfiltered, with
the technology-field filter, with the industry filter) against the plain baseline that
counts the supply item's keywords found verbatim in the demand, and the time per query.
Run: `python -m bench.bench_matching`.
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench.machine import describe
from innopoints.services.matching import (
    Matcher,
    keyword_overlap_rank,
    load_eval_set,
    precision_recall,
)


def mrr(ranked, relevant) -> float:
    out = []
    for ids, rel in zip(ranked, relevant, strict=True):
        out.append(next((1 / (i + 1) for i, x in enumerate(ids) if x in rel), 0.0))
    return float(np.mean(out))


def main() -> None:
    supply, demands = load_eval_set()
    queries = [d["problem"] + " " + d["description"] for d in demands]
    relevant = [d["relevant"] for d in demands]
    t0 = time.perf_counter()
    matcher = Matcher(supply)
    build = time.perf_counter() - t0
    runs = {
        "jieba + BM25": lambda d, q: [c.id for c in matcher.rank(q, k=10)],
        "jieba + BM25, same industry": lambda d, q: [
            c.id for c in matcher.rank(q, section=d["industry_section"], k=10)
        ],
        "jieba + BM25, same field": lambda d, q: [
            c.id for c in matcher.rank(q, field=d["field"], k=10)
        ],
        "keyword overlap (baseline)": lambda d, q: [
            c.id for c in keyword_overlap_rank(q, supply, 10)
        ],
    }
    ceiling = float(np.mean([min(len(r), 5) / 5 for r in relevant]))
    print("## Research–demand matching (issue 8)\n")
    print(f"`python -m bench.bench_matching` — load average {os.getloadavg()[0]:.1f}.\n")
    print(f"Machine: {describe()}.\n")
    print(
        f"Labelled set: {len(supply)} supply items, {len(demands)} demands, "
        f"{sum(len(r) for r in relevant)} relevant pairs (1–2 per demand, so precision@5 "
        f"cannot exceed {ceiling:.3f}). Index built in {build * 1000:.0f} ms "
        "(including jieba's dictionary load).\n"
    )
    print("| ranking | precision@5 | recall@10 | MRR | ms per query |")
    print("|---|---:|---:|---:|---:|")
    for name, fn in runs.items():
        t = time.perf_counter()
        ranked = [fn(d, q) for d, q in zip(demands, queries, strict=True)]
        per_query = (time.perf_counter() - t) * 1000 / len(queries)
        p5, r10 = precision_recall(ranked, relevant)
        print(f"| {name} | {p5:.3f} | {r10:.3f} | {mrr(ranked, relevant):.3f} | {per_query:.2f} |")


if __name__ == "__main__":
    main()
