"""Server time of the portrait page and the ranking page on PostgreSQL, 10^4 firms × 4 years.

A fresh PostgreSQL database (`innopoints_bench` on the server of `DATABASE_URL`, default
the local one) gets one generated zone written through `apply_registry`, the seven
default pools, the shipped national-18 model activated for the four years and one
scoring run per year (each run recomputes the pools), and the newest year's ranking
published. Then, through the whole Django stack in-process (`django.test.Client`, a
logged-in zone admin, caches warmed by one request):

- `GET /portrait/<uscc>/<year>/` over different firms;
- `GET /portal/rankings/` over different pages, scopes, filters and sorts, and the
  published (frozen) ranking `GET /portal/publications/<id>/` the same way;
- the SQL queries of every request (`CaptureQueriesContext`, a separate pass so the
  timed requests carry no capture overhead);
- a naive reference for the ranking page: the same rows built with per-firm ORM queries
  (the whole zone: one query per firm for its score, sorted in Python; and the page
  alone: the scores of the page with one query per row for the firm, the N+1 pattern).

The database is dropped at the end. Run: `python -m bench.bench_portal [--firms 10000]
[--requests 60]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TMP = Path(tempfile.mkdtemp(prefix="innopoints-bench-portal-"))
BASE_URL = os.environ.get(
    "DATABASE_URL", "postgres://innopoints:innopoints@127.0.0.1:5432/innopoints"
)
BENCH_DB = os.environ.get("INNOPOINTS_BENCH_DB", "innopoints_bench")


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_conninfo(url: str) -> str:
    """A libpq URL on the maintenance database of the same server (for CREATE/DROP)."""
    return _with_db(url, "postgres").replace("postgres://", "postgresql://", 1)


def create_database() -> None:
    """Create the bench database afresh (dropping a leftover one)."""
    import psycopg

    with psycopg.connect(_admin_conninfo(BASE_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f"CREATE DATABASE \"{BENCH_DB}\" ENCODING 'UTF8' TEMPLATE template0")


def drop_database() -> None:
    """Drop the bench database (Django's connections are closed first)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_admin_conninfo(BASE_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


os.environ["INNOPOINTS_DATA_DIR"] = str(TMP / "data")
os.environ["DATABASE_URL"] = _with_db(BASE_URL, BENCH_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innopoints.site.settings")
os.environ.setdefault("INNOPOINTS_JOBS_INLINE", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.machine import describe, peak_rss_mb  # noqa: E402
from innopoints.accounts.actions import do_create_user  # noqa: E402
from innopoints.demo.generator import generate_zone  # noqa: E402
from innopoints.enterprises.actions import apply_registry  # noqa: E402
from innopoints.enterprises.models import Enterprise, ImportBatch  # noqa: E402
from innopoints.pools.actions import do_create_default_pools  # noqa: E402
from innopoints.pools.models import PoolMembership  # noqa: E402
from innopoints.portal.actions import do_publish_ranking  # noqa: E402
from innopoints.scoring.actions import (  # noqa: E402
    do_activate_model_version,
    do_register_shipped_models,
    do_start_scoring_run,
    model_of,
)
from innopoints.scoring.models import FirmScore, ScoringRun  # noqa: E402
from innopoints.scoring.results import stage_labels  # noqa: E402
from innopoints.zones.models import Zone  # noqa: E402

PORTRAIT_P95_MS = 100.0
RANKING_P95_MS = 150.0
PAGE_SIZE = 50  # the ranking pages' page size (portal.views.PAGE_SIZE)


@contextmanager
def timed(out: list[float], cpu: list[float] | None = None) -> Iterator[None]:
    """Append the wall time of the block (seconds) to `out`, its CPU time to `cpu`."""
    start, start_cpu = time.perf_counter(), time.process_time()
    yield
    out.append(time.perf_counter() - start)
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)


@contextmanager
def counting_queries() -> Iterator[list[int]]:
    """Count the SQL statements executed in the block: `with counting_queries() as n: ...;
    n[0]` (an execute wrapper: no query log, so no 9,000-query limit)."""
    count = [0]

    def wrapper(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def stats(times: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) in ms (p95: nearest rank)."""
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


def build_zone(firms: int, years: int, last_year: int) -> tuple[Zone, dict[str, float], list]:
    """The generated zone, imported, with default pools and one national-18 run per year."""
    timings: dict[str, float] = {}
    zone = Zone.objects.create(code="BENCH-P", name="基准高新区", region_code="130100")
    t0 = time.perf_counter()
    data = generate_zone(
        enterprises=firms, years=years, seed=7, zone_code=zone.code, last_year=last_year
    )
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
    timings["import"] = time.perf_counter() - t0
    do_create_default_pools(None, zone)
    versions = do_register_shipped_models(None, zone)
    national = next(v for v in versions if v.model_id == "national-18")
    runs = []
    t0 = time.perf_counter()
    for year in range(last_year - years + 1, last_year + 1):
        do_activate_model_version(None, zone, year, national)
        run = do_start_scoring_run(None, zone, year)
        assert run.status == ScoringRun.Status.DONE, run.error
        runs.append(run)
    timings["scoring"] = time.perf_counter() - t0
    return zone, timings, runs


def measure(
    client: Client, urls: list[str], *, check: Callable[[object], None] | None = None
) -> tuple[list[float], list[float], list[int]]:
    """Wall and CPU times of GET `urls` (no query capture), then the query count of each
    (a second pass with `CaptureQueriesContext`)."""
    times: list[float] = []
    cpu: list[float] = []
    for url in urls:
        with timed(times, cpu):
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if check is not None:
            check(response)
    counts = []
    for url in urls:
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        counts.append(len(captured.captured_queries))
    return times, cpu, counts


def ranking_urls(zone: Zone, year: int, run: ScoringRun, n: int, seed: int = 3) -> list[str]:
    """`n` ranking queries: pages of every scope, filters by stage/section/band, sorts, search."""
    rng = random.Random(seed)
    stages = sorted(set(FirmScore.objects.filter(run=run).values_list("stage", flat=True)))
    sections = sorted(
        set(FirmScore.objects.filter(run=run).values_list("industry_section", flat=True))
    )
    bands = sorted(set(FirmScore.objects.filter(run=run).values_list("band", flat=True)) - {""})
    pages = -(-FirmScore.objects.filter(run=run).count() // PAGE_SIZE)
    base = f"zone={zone.pk}&year={year}"
    urls = []
    for i in range(n):
        kind = i % 6
        scope = ("zone", "stage", "industry")[i % 3]
        page = rng.randint(1, pages)
        if kind == 0:
            query = f"scope={scope}&page={page}"
        elif kind == 1:
            query = f"scope=stage&stage={rng.choice(stages)}&page={rng.randint(1, 20)}"
        elif kind == 2:
            query = f"scope=industry&section={rng.choice(sections)}&page=1"
        elif kind == 3:
            query = f"band={rng.choice(bands)}&sort=-total&page={rng.randint(1, 3)}"
        elif kind == 4:
            query = f"sort={rng.choice(['name', '-rank', 'total'])}&page={page}"
        else:
            query = f"q={rng.choice(['科技', '智能', '9113', '生物'])}&page=1"
        urls.append(f"?{base}&{query}")
    return urls


def naive_zone_rows(zone: Zone, run: ScoringRun, page: int, lang: str = "zh") -> list[tuple]:
    """Reference: one ORM query per firm for its score in the run, ranked in Python."""
    stage_names = dict(stage_labels(model_of(run.model_version), lang))
    rows = []
    for enterprise in Enterprise.objects.filter(zone=zone):
        score = FirmScore.objects.filter(run=run, enterprise=enterprise).first()
        if score is None:
            continue
        rows.append(
            (
                score.rank_zone if score.rank_zone is not None else 10**9,
                enterprise.uscc,
                enterprise.name,
                stage_names.get(score.stage, score.stage),
                score.industry_section,
                score.total,
                score.band,
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]


def naive_page_rows(run: ScoringRun, page: int, lang: str = "zh") -> list[tuple]:
    """Reference: the page's scores, then one query per row for its firm (N+1)."""
    stage_names = dict(stage_labels(model_of(run.model_version), lang))
    scores = FirmScore.objects.filter(run=run).order_by("rank_zone", "pk")[
        (page - 1) * PAGE_SIZE : page * PAGE_SIZE
    ]
    return [
        (
            s.rank_zone,
            s.enterprise.uscc,
            s.enterprise.name,
            stage_names.get(s.stage, s.stage),
            s.industry_section,
            s.total,
            s.band,
        )
        for s in scores
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--naive-zone-repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    last_year = 2025
    load_start = os.getloadavg()
    create_database()
    try:
        report = run_bench(args, last_year, load_start)
    finally:
        if not args.keep:
            drop_database()
    print(report)


def run_bench(args: argparse.Namespace, year: int, load_start: tuple[float, ...]) -> str:
    """Build the zone, measure, and return the Markdown section."""
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - t0
    zone, timings, runs = build_zone(args.firms, args.years, year)
    run = runs[-1]
    scored = FirmScore.objects.filter(run=run).count()
    memberships = PoolMembership.objects.filter(pool__zone=zone, year=year).count()
    admin = do_create_user(None, "bench-admin", "pw-bench-admin", "zone_admin", zones=[zone])
    publication = do_publish_ranking(admin, run)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-CN")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    # ------------------------------------------------------------------ portrait
    firms = list(
        FirmScore.objects.filter(run=run)
        .order_by("enterprise__uscc")
        .values_list("enterprise__uscc", flat=True)
    )
    rng = random.Random(5)
    sample = rng.sample(firms, min(args.requests + 1, len(firms)))
    cold: list[float] = []
    with timed(cold):
        first = client.get(f"/portrait/{sample[0]}/{year}/")
    assert first.status_code == 200, first.status_code
    portrait_urls = [f"/portrait/{u}/{year}/" for u in sample[1:]]

    def has_guidance(response) -> None:
        assert b'id="guidance"' in response.content

    portrait_times, portrait_cpu, portrait_queries = measure(
        client, portrait_urls, check=has_guidance
    )

    # ------------------------------------------------------------------ rankings
    urls = ranking_urls(zone, year, run, args.requests)
    live_base, published_base = "/portal/rankings/", f"/portal/publications/{publication.pk}/"
    warm: list[float] = []
    with timed(warm):
        client.get(live_base + urls[0])
    ranking_times, ranking_cpu, ranking_queries = measure(client, [live_base + u for u in urls])
    client.get(published_base + urls[0])
    published_times, published_cpu, published_queries = measure(
        client, [published_base + u for u in urls]
    )

    # ------------------------------------------------------------------ naive references
    pages = max(1, scored // PAGE_SIZE)  # full pages only
    nrng = random.Random(9)
    zone_times: list[float] = []
    for _ in range(args.naive_zone_repeats):
        page = nrng.randint(1, pages)
        with counting_queries() as counted, timed(zone_times):
            rows = naive_zone_rows(zone, run, page)
        assert len(rows) == PAGE_SIZE
    naive_zone_queries = counted[0]
    page_times: list[float] = []
    for _ in range(args.requests):
        page = nrng.randint(1, pages)
        with timed(page_times):
            rows = naive_page_rows(run, page)
        assert len(rows) == PAGE_SIZE
    with counting_queries() as counted:
        naive_page_rows(run, 1)
    naive_page_queries = counted[0]
    # The same rows as the page (page 1 of the zone ranking) from both references.
    assert [r[1] for r in naive_zone_rows(zone, run, 1)] == [r[1] for r in naive_page_rows(run, 1)]
    load_end = os.getloadavg()

    p50, p95, top = stats(portrait_times)
    r50, r95, rtop = stats(ranking_times)
    q50, q95, qtop = stats(published_times)
    z50 = statistics.median(zone_times) * 1000
    n50, n95, _ntop = stats(page_times)

    def verdict(p95_ms: float, target: float) -> str:
        return "**met**" if p95_ms <= target else "**missed**"

    def cpu(times: list[float]) -> str:
        c50, c95, _ = stats(times)
        return f"{c50:.1f} / {c95:.1f} ms"

    def qrange(counts: list[int]) -> str:
        return f"{min(counts)}–{max(counts)}" if min(counts) != max(counts) else str(counts[0])

    lines = [
        "## Portal",
        "",
        f"`python -m bench.bench_portal` (issue 5) — {describe()}. Load average at the start "
        f"{load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f}, at the end "
        f"{load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f} (1 / 5 / 15 min).",
        "",
        f"Database: PostgreSQL (`{connection.pg_version // 10000}`), a fresh database "
        f"`{BENCH_DB}` created for the run and dropped after it (migrations {migrate_s:.1f} s). "
        f"Data: {args.firms:,} generated firms × {args.years} years written through "
        f"`apply_registry` ({timings['import']:.1f} s); the seven default pools; the shipped "
        f"national-18 model activated for {year - args.years + 1}–{year} and one scoring "
        f"run per year, each recomputing the pools ({timings['scoring']:.1f} s for the four); "
        f"{scored:,} firms scored in {year}, {memberships:,} pool memberships in {year}; the "
        f"{year} ranking published. Server time = `django.test.Client` in-process (the whole "
        f"stack: middleware, session, access, queries, template), a logged-in zone admin, "
        f"Chinese. The query counts come from a second pass over the same URLs "
        f"(`CaptureQueriesContext`).",
        "",
        "| page | requests | p50 | p95 | max | target (p95) | Django process CPU p50 / p95 "
        "| SQL queries per request |",
        "|---|---|---|---|---|---|---|---|",
        f"| portrait `/portrait/<uscc>/{year}/`, different firms | {len(portrait_times)} | "
        f"{p50:.1f} ms | **{p95:.1f} ms** | {top:.1f} ms | ≤ {PORTRAIT_P95_MS:.0f} ms: "
        f"{verdict(p95, PORTRAIT_P95_MS)} | {cpu(portrait_cpu)} | {qrange(portrait_queries)} |",
        f"| ranking `/portal/rankings/` (live run): pages of each scope, stage / section / "
        f"band filters, sorts, search | {len(ranking_times)} | {r50:.1f} ms | "
        f"**{r95:.1f} ms** | {rtop:.1f} ms | ≤ {RANKING_P95_MS:.0f} ms: "
        f"{verdict(r95, RANKING_P95_MS)} | {cpu(ranking_cpu)} | {qrange(ranking_queries)} |",
        f"| published ranking `/portal/publications/<id>/`, the same queries | "
        f"{len(published_times)} | {q50:.1f} ms | {q95:.1f} ms | {qtop:.1f} ms | "
        f"(≤ {RANKING_P95_MS:.0f} ms) {verdict(q95, RANKING_P95_MS)} | {cpu(published_cpu)} | "
        f"{qrange(published_queries)} |",
        "",
        f"First portrait request after the runs (cold: the run's context — the scores "
        f"frame, fitted peers and the sensitivity analysis — is built and cached): "
        f"{cold[0] * 1000:,.0f} ms. First ranking request: {warm[0] * 1000:.1f} ms.",
        "",
        "Naive reference for the ranking page's rows (rank, USCC, name, stage, section, "
        "points, band of one page of 50):",
        "",
        "| reference | queries | time | reference ÷ ranking page (p50) |",
        "|---|---|---|---|",
        f"| per-firm ORM: every firm of the zone, one query for its score, ranked in Python "
        f"(median of {len(zone_times)}) | {naive_zone_queries:,} | {z50:,.0f} ms | "
        f"**{z50 / r50:.0f}×** |",
        f"| N+1 on the page: the 50 scores, then one query per row for the firm "
        f"({len(page_times)} pages, p50 / p95) | {naive_page_queries} | {n50:.1f} / "
        f"{n95:.1f} ms | {n50 / r50:.2f}× (the page's time includes the whole request and "
        f"the template; the reference is the rows only) |",
        "",
        f"Peak memory of the process: {peak_rss_mb():.0f} MiB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
