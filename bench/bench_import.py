"""Import of 100,000 yearly rows (25,000 firms × 4 years) into a fresh SQLite database.

Measures the import action (read .xlsx/.csv, validate in Polars, diff, bulk write,
audit) for a first import and for a re-import of the same file (a no-op), and the
naive reference — one ORM get-or-create/update per row — on the same rows.
Run: `python -m bench.bench_import [--firms 25000] [--reference-rows 100000]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="innopoints-bench-import-"))
os.environ["INNOPOINTS_DATA_DIR"] = str(TMP / "data")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innopoints.site.settings")

import django  # noqa: E402

django.setup()

import polars as pl  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from bench.machine import describe, peak_rss_mb  # noqa: E402
from innopoints.demo.generator import generate_zone  # noqa: E402
from innopoints.enterprises.actions import do_import_file  # noqa: E402
from innopoints.enterprises.models import YEARLY_COLUMNS, Enterprise, YearlyData  # noqa: E402
from innopoints.standard import tabular  # noqa: E402
from innopoints.zones.models import Zone  # noqa: E402


def naive_import(zone: Zone, frame: pl.DataFrame) -> None:
    """The reference: one ORM round trip per enterprise and per yearly row."""
    ent_cols = ["name", "industry_code", "region_code", "registered_on"]
    with transaction.atomic():
        for row in frame.iter_rows(named=True):
            enterprise, _ = Enterprise.objects.get_or_create(
                uscc=row["uscc"],
                defaults={
                    "zone": zone,
                    **{c: row[c] or "" if c != "registered_on" else row[c] for c in ent_cols},
                },
            )
            values = {c: row[c] for c in YEARLY_COLUMNS if c in row and row[c] is not None}
            YearlyData.objects.update_or_create(
                enterprise=enterprise, year=row["year"], defaults=values
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=25_000)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    data = generate_zone(enterprises=args.firms, years=args.years, seed=7)
    frames = {"enterprises": data.enterprises.drop("zone", strict=False), "yearly": data.yearly}
    combined = data.yearly.join(frames["enterprises"], on="uscc", how="left")
    rows = combined.height
    csv_path = TMP / "bench.csv"
    xlsx_path = TMP / "bench.xlsx"
    tabular.write_tables(frames, csv_path, fmt="csv", headers="zh")
    tabular.write_tables(frames, xlsx_path, fmt="xlsx", headers="zh")

    results = []
    for label, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        zone = Zone.objects.create(code=f"B-{label}", name=f"bench {label}", region_code="130100")
        start = time.perf_counter()
        first = do_import_file(None, zone, path)
        first_s = time.perf_counter() - start
        assert first.errors == 0, first.issues[:3]
        start = time.perf_counter()
        again = do_import_file(None, zone, path)
        again_s = time.perf_counter() - start
        assert not again.batch.written
        results.append((label, first_s, again_s))
        Enterprise.objects.filter(zone=zone).delete()

    reference_rows = min(args.reference_rows, rows)
    zone = Zone.objects.create(code="B-naive", name="bench naive", region_code="130100")
    start = time.perf_counter()
    naive_import(zone, combined.head(reference_rows))
    naive_s = time.perf_counter() - start
    naive_per_row = naive_s / reference_rows

    print("## Import (issue 2)\n")
    print(
        f"Machine: {describe()}. Database: SQLite file. Data: {args.firms:,} generated firms ×"
        f" {args.years} years = {rows:,} yearly rows, one combined sheet, Chinese headers.\n"
    )
    print("| file | first import (all new) | re-import (no-op) | naive per-row ORM | ratio |")
    print("|---|---|---|---|---|")
    for label, first_s, again_s in results:
        naive_total = naive_per_row * rows
        print(
            f"| .{label} | {first_s:.1f} s | {again_s:.1f} s | {naive_total:.1f} s"
            f"{'' if reference_rows == rows else f' (from {reference_rows:,} rows)'} |"
            f" {naive_total / first_s:.1f}× |"
        )
    print(f"\nPeak memory of the process: {peak_rss_mb():.0f} MiB.")


if __name__ == "__main__":
    main()
