"""Cultivation pools in the running platform: computing the pools of a 10^4-firm zone,
and one firm × 300 pools.

A fresh SQLite database gets two generated zones (imported through `apply_registry`),
each with one scoring run (the shipped national-18 model):

- zone A (10^4 firms), the seven default pools: `do_compute_pools` (both languages,
  with and without near-misses, stored in bulk, audited), and the vectorised status pass
  against the per-row Python reference (`evaluate_row`) over every firm;
- zone B (500 firms), 300 pools: the seven defaults and 293 whose criteria are the
  official ones with perturbed thresholds (every numeric parameter of the criterion
  ×0.8–1.2, seeded; stored as the pools' parameter overrides and validated like any
  pool), computed with `do_compute_pools`. One firm × 300 pools is then timed
  (a) as the platform serves it, `GET /api/pools/firms/<uscc>` through the whole Django
  stack (session, access, the stored results of the vectorised pass), (b) evaluated
  live through the engine's one-firm path (`pools.live.evaluate_firm` →
  `evaluate_wide`), and (c) by `evaluate_row` on the same prepared row.

Run: `python -m bench.bench_pools [--firms 10000] [--small-firms 500] [--pools 300]`.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="innopoints-bench-pools-"))
os.environ["INNOPOINTS_DATA_DIR"] = str(TMP / "data")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innopoints.site.settings")
os.environ.setdefault("INNOPOINTS_JOBS_INLINE", "1")

import django  # noqa: E402

django.setup()

import polars as pl  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from bench.machine import describe, peak_rss_mb  # noqa: E402
from innopoints.accounts.actions import do_create_user  # noqa: E402
from innopoints.demo.generator import generate_zone  # noqa: E402
from innopoints.engine.rules import load_criterion, prepare  # noqa: E402
from innopoints.engine.rules.compiler import compile_criterion  # noqa: E402
from innopoints.engine.rules.evaluate import needs_of  # noqa: E402
from innopoints.engine.rules.reference import evaluate_row  # noqa: E402
from innopoints.enterprises.access import enterprise_ids  # noqa: E402
from innopoints.enterprises.actions import apply_registry  # noqa: E402
from innopoints.enterprises.models import Enterprise, ImportBatch  # noqa: E402
from innopoints.enterprises.panel import zone_derived  # noqa: E402
from innopoints.pools.actions import (  # noqa: E402
    DEFAULT_POOLS,
    criterion_of,
    do_compute_pools,
    do_create_default_pools,
    do_create_pool,
    evaluate_pools,
    latest_run,
    scores_frame,
)
from innopoints.pools.live import compiled_pools, evaluate_firm  # noqa: E402
from innopoints.pools.models import Pool, PoolMembership  # noqa: E402
from innopoints.scoring.actions import (  # noqa: E402
    do_activate_model_version,
    do_register_shipped_models,
    do_start_scoring_run,
)
from innopoints.site.runtime import settle_heap  # noqa: E402
from innopoints.zones.models import Zone  # noqa: E402


def own_params(name: str) -> set[str]:
    """Parameters declared by the criterion file itself (not the shared sub-rules)."""
    import yaml

    from innopoints.engine.rules.criteria import resolve_path

    doc = yaml.safe_load(resolve_path(name).read_text(encoding="utf-8"))
    return set((doc.get("params") or {}).keys())


def make_zone(code: str, firms: int, years: int, seed: int, year: int) -> tuple[Zone, float, float]:
    """A generated zone imported through `apply_registry`, scored once for `year`."""
    zone = Zone.objects.create(code=code, name=f"基准高新区{code}", region_code="130100")
    t0 = time.perf_counter()
    data = generate_zone(enterprises=firms, years=years, seed=seed, zone_code=code, last_year=year)
    batch = ImportBatch.objects.create(
        zone=zone, file_name="bench", sha256="-" * 64, mode=ImportBatch.Mode.STRICT
    )
    frames = {
        "enterprises": data.enterprises.drop("zone", strict=False),
        "yearly": data.yearly,
        "qualifications": data.qualifications,
        "negatives": data.negatives,
    }
    apply_registry(None, zone, frames, batch)
    zone.refresh_from_db()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    versions = do_register_shipped_models(None, zone)
    national = next(v for v in versions if v.model_id == "national-18")
    do_activate_model_version(None, zone, year, national)
    run = do_start_scoring_run(None, zone, year)
    assert run.status == "done", run.error
    return zone, load_s, time.perf_counter() - t0


def add_variants(zone: Zone, total: int, seed: int = 11) -> float:
    """Pools with perturbed official criteria until the zone has `total` pools."""
    rng = random.Random(seed)
    names = [code for code, *_ in DEFAULT_POOLS] + ["little_giant_precheck"]
    t0 = time.perf_counter()
    i = 0
    have = Pool.objects.filter(zone=zone).count()
    while have < total:
        name = names[i % len(names)]
        mine = own_params(name)
        crit = load_criterion(name)
        params = {
            k: round(v * rng.uniform(0.8, 1.2), 4)
            for k, v in crit.params.items()
            if k in mine and isinstance(v, int | float) and not isinstance(v, bool)
        }
        do_create_pool(
            None,
            zone,
            code=f"v{i:03d}-{name}"[:40],
            name_zh=f"变体{i}",
            name_en=f"Variant {i}",
            criterion=name,
            params=params,
            order=1000 + i,
        )
        i += 1
        have += 1
    return time.perf_counter() - t0


def percentiles(times: list[float]) -> tuple[float, float]:
    """(p50, p95) in ms."""
    times = sorted(times)
    return statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--small-firms", type=int, default=500)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--pools", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--live-repeats", type=int, default=3)
    args = parser.parse_args()
    year = 2025
    call_command("migrate", verbosity=0)
    settle_heap()  # as the server does at start-up (`innopoints.site.runtime`)

    # ------------------------------------------------------------- zone A: 7 pools × 10^4
    zone, load_s, score_s = make_zone("BENCH-A", args.firms, args.years, 7, year)
    do_create_default_pools(None, zone)
    run = latest_run(zone, year)
    panel = zone_derived(zone)
    scores = scores_frame(run, year)
    defaults = list(Pool.objects.filter(zone=zone, active=True).select_related("zone"))
    t0 = time.perf_counter()
    status_only = evaluate_pools(panel, defaults, year, scores, near_miss=False)
    vector_s = time.perf_counter() - t0
    firms = status_only["uscc"].n_unique()
    criteria = [criterion_of(p) for p in defaults]
    needs = needs_of([compile_criterion(c, k) for k, c in enumerate(criteria)])
    prepared = prepare(panel, needs, scores=scores).filter(pl.col("year") == year).collect()
    t0 = time.perf_counter()
    ref_rows = [[evaluate_row(c, r)[0] for c in criteria] for r in prepared.iter_rows(named=True)]
    zone_ref_s = time.perf_counter() - t0
    expected = {
        (u, f"pool{p.pk}"): s
        for u, statuses in zip(prepared["uscc"], ref_rows, strict=True)
        for p, s in zip(defaults, statuses, strict=True)
    }
    zone_agree = sum(
        expected.get((u, p)) == s
        for u, p, s in status_only.select("uscc", "pool", "status").iter_rows()
    )
    t0 = time.perf_counter()
    do_compute_pools(None, zone, year, run, near_miss=False)
    compute_s = time.perf_counter() - t0
    stored = PoolMembership.objects.filter(pool__zone=zone, year=year).count()
    t0 = time.perf_counter()
    with_near = do_compute_pools(None, zone, year, run, near_miss=True)
    compute_near_s = time.perf_counter() - t0
    near_rows = (
        PoolMembership.objects.filter(pool__zone=zone, year=year).exclude(near_miss="").count()
    )
    members = {code: c["members"] for code, c in with_near.counts.items()}

    # ------------------------------------------------------------- zone B: 300 pools
    small, small_load_s, _ = make_zone("BENCH-B", args.small_firms, args.years, 9, year)
    do_create_default_pools(None, small)
    create_s = add_variants(small, args.pools)
    pools = list(Pool.objects.filter(zone=small, active=True).select_related("zone"))
    t0 = time.perf_counter()
    do_compute_pools(None, small, year, near_miss=False)
    compute_300_s = time.perf_counter() - t0
    small_firms = len(enterprise_ids(small))
    big_rows = PoolMembership.objects.filter(pool__zone=small, year=year).count()
    firm = Enterprise.objects.select_related("zone").filter(zone=small).order_by("uscc").first()
    gc.collect()  # the batch work above ends as a job does (`jobs.tasks._run`): collected
    admin = do_create_user(None, "bench-admin", "pw-bench-admin", "zone_admin", zones=[small])
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    url = f"/api/pools/firms/{firm.uscc}?year={year}"
    body = client.get(url).json()
    assert len(body["pools"]) == len(pools), (len(body["pools"]), len(pools))
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200
    api_p50, api_p95 = percentiles(times)

    # live: every pool evaluated now on the firm's current data, with reasons (zh), through
    # the running platform's endpoint, for `repeats` different firms (first call warms)
    firms_b = list(
        Enterprise.objects.filter(zone=small, years__year=year)
        .order_by("uscc")
        .values_list("uscc", flat=True)[: args.repeats]
    )
    client.get(f"/api/pools/firms/{firms_b[0]}/live?year={year}")
    api_live_times, api_live_cpu = [], []
    for code in firms_b:
        t, c = time.perf_counter(), time.thread_time()
        response = client.get(f"/api/pools/firms/{code}/live?year={year}")
        api_live_times.append(time.perf_counter() - t)
        api_live_cpu.append(time.thread_time() - c)
        assert response.status_code == 200 and len(response.json()) == len(pools)
    api_live_p50, api_live_p95 = percentiles(api_live_times)
    # the CPU time of the serving thread leaves out what the host takes away (another
    # tenant's work on a shared vCPU shows in the wall time only)
    cpu_live_p50, cpu_live_p95 = percentiles(api_live_cpu)

    compiled = compiled_pools(pools)
    live_times, live_reason_times = [], []
    for _ in range(args.live_repeats):
        t = time.perf_counter()
        live = evaluate_firm(firm, year, "zh", pools, reasons=False)
        live_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    evaluate_firm(firm, year, "zh", pools, reasons=True)
    live_reason_times.append(time.perf_counter() - t)
    live_p50 = statistics.median(live_times) * 1000
    stored_status = {r["pool"]: r["status"] for r in body["pools"]}
    live_agree = sum(stored_status.get(r.pool.code) == r.status for r in live)

    all_criteria = [criterion_of(p) for p in pools]
    firm_needs = needs_of([m for _p, m, _pt in compiled.items])
    one = zone_derived(small).filter(pl.col("uscc") == firm.uscc)
    small_scores = scores_frame(latest_run(small, year), year)
    ref_times = []
    for _ in range(max(5, args.repeats // 5)):
        t = time.perf_counter()
        frame = prepare(one, firm_needs, scores=small_scores).filter(pl.col("year") == year)
        row = frame.collect().to_dicts()[0]
        ref = [evaluate_row(c, row)[0] for c in all_criteria]
        ref_times.append(time.perf_counter() - t)
    ref_ms = statistics.median(ref_times) * 1000
    ref_agree = sum(stored_status.get(p.code) == s for p, s in zip(pools, ref, strict=True))

    print("## Pools\n")
    print(f"`python -m bench.bench_pools` — {describe()}. Database: SQLite file.\n")
    print(
        f"Zone A: {args.firms:,} generated firms × {args.years} years, imported through "
        f"`apply_registry` ({load_s:.1f} s), one scoring run ({score_s:.1f} s), the seven "
        f"default pools. Zone B: {args.small_firms:,} firms ({small_load_s:.1f} s), "
        f"{len(pools)} pools = the 7 defaults + variants of the official criteria with every "
        f"numeric threshold ×0.8–1.2 (seeded), created and validated through "
        f"`do_create_pool` ({create_s:.1f} s).\n"
    )
    print("| measure | value |")
    print("|---|---|")
    print(
        f"| A: `do_compute_pools`, 7 pools × {firms:,} firms, statuses + reasons zh/en, "
        f"no near-misses, {stored:,} memberships stored + audit | **{compute_s:.1f} s** |"
    )
    print(
        f"| A: `do_compute_pools` with near-misses (zh + en) | **{compute_near_s:.1f} s** "
        f"({near_rows:,} rows with a near-miss text) |"
    )
    print(
        f"| A: vectorised pass alone (`evaluate_pools`, no near-miss, zh + en) | {vector_s:.2f} s |"
    )
    print(
        f"| A: per-row Python reference, statuses only, 7 × {prepared.height:,} | "
        f"{zone_ref_s:.2f} s (reference ÷ vectorised {zone_ref_s / vector_s:.1f}×; statuses "
        f"agree {zone_agree:,}/{len(expected):,}) |"
    )
    print(
        f"| B: `do_compute_pools`, {len(pools)} pools × {small_firms:,} firms, no near-misses, "
        f"{big_rows:,} rows | {compute_300_s:.1f} s |"
    )
    print(
        f"| B: one firm × {len(pools)} pools as the platform serves it: "
        f"`GET /api/pools/firms/<uscc>` (Django stack, stored results), p50 / p95 over "
        f"{args.repeats} | **{api_p50:.1f} ms / {api_p95:.1f} ms** |"
    )
    print(
        f"| B: one firm × {len(pools)} pools **evaluated live with reasons (zh)** as the "
        f"platform serves it: `GET /api/pools/firms/<uscc>/live` (Django stack, "
        f"{len(firms_b)} different firms), p50 / p95 | "
        f"**{api_live_p50:.1f} ms / {api_live_p95:.1f} ms** (CPU time of the thread "
        f"{cpu_live_p50:.1f} / {cpu_live_p95:.1f} ms) |"
    )
    print(
        f"| B: one firm × {len(pools)} pools evaluated live through the engine's one-firm "
        f"path (`evaluate_firm` → `evaluate_one_firm`), statuses only, median of "
        f"{args.live_repeats} | {live_p50:,.0f} ms (agree with stored {live_agree}/{len(pools)}) |"
    )
    print(f"| B: the same with reasons (zh), one call | {live_reason_times[0] * 1000:,.0f} ms |")
    print(
        f"| B: one firm × {len(pools)} pools, per-row Python reference (`prepare` on the "
        f"firm's rows + `evaluate_row`, statuses + scores, no reasons), median | "
        f"{ref_ms:.1f} ms (reference ÷ live engine {ref_ms / live_p50:.1f}×; agree "
        f"{ref_agree}/{len(pools)}) |"
    )
    print(f"\nMembers per default pool in zone A, {year}: {members}.")
    print(f"Peak memory of the process: {peak_rss_mb():.0f} MiB.")


if __name__ == "__main__":
    main()
