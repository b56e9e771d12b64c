"""The `innopoints` command line: import, export (incl. the wide panel), demo, users."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
from typer.testing import CliRunner

from innopoints.cli import app
from innopoints.enterprises.models import Enterprise
from innopoints.standard.catalogue import NEGATIVE_TYPES, QUALIFICATION_TYPES
from tests.conftest import uscc

runner = CliRunner()


def test_import_reports_counts_and_fails_on_errors_in_strict_mode(zone, firms, tmp_path):
    good = tmp_path / "good.csv"
    pl.DataFrame({"统一社会信用代码": [uscc(1)], "年度": [2024], "营业收入": [1234.0]}).write_csv(
        good
    )
    result = runner.invoke(app, ["import", str(good), "--zone", "Z1"])
    assert result.exit_code == 0, result.output
    assert "yearly: 1 rows, 0 new, 1 changed, 0 unchanged" in result.output
    bad = tmp_path / "bad.csv"
    pl.DataFrame(
        {"统一社会信用代码": [uscc(1)], "年度": [2024], "职工总数": [10], "科技人员数": [20]}
    ).write_csv(bad)
    result = runner.invoke(
        app, ["import", str(bad), "--zone", "Z1", "--report", str(tmp_path / "r.xlsx")]
    )
    assert result.exit_code == 1
    assert "第 2 行" in result.output and "Row 2" in result.output
    assert (tmp_path / "r.xlsx").exists()


def test_import_rejects_unknown_zone_and_missing_file(db, tmp_path):
    assert runner.invoke(app, ["import", str(tmp_path / "x.csv"), "--zone", "Z1"]).exit_code == 2
    path = tmp_path / "x.csv"
    path.write_text("uscc,year\n")
    result = runner.invoke(app, ["import", str(path), "--zone", "NOPE"])
    assert result.exit_code == 2 and "unknown zone" in result.output


def test_export_wide_panel_has_flags_per_year(zone, firms, tmp_path):
    out = tmp_path / "panel.parquet"
    result = runner.invoke(app, ["export", "--zone", "Z1", "--out", str(out), "--wide"])
    assert result.exit_code == 0, result.output
    panel = pl.read_parquet(out)
    assert panel.height == 6 and panel.select("uscc", "year").is_unique().all()
    assert {f"has_{t}" for t in QUALIFICATION_TYPES} <= set(panel.columns)
    assert {f"neg_{t}" for t in NEGATIVE_TYPES} <= set(panel.columns)
    held = panel.filter(pl.col("uscc") == uscc(1)).sort("year")["has_high_tech"].to_list()
    assert held == [True, True]  # certificate from 2023-11-01, held on 31 Dec 2023 and 2024


def test_demo_builds_once_and_reuses_the_database(db):
    from innopoints.demo.seed import build_demo

    first = build_demo(enterprises=40, years=2, seed=3, echo=lambda _: None)
    count = Enterprise.objects.count()
    second = build_demo(enterprises=40, years=2, seed=3, echo=lambda _: None)
    assert count == 40 and Enterprise.objects.count() == 40 and first == second
    from django.contrib.auth import get_user_model

    names = set(get_user_model().objects.values_list("username", flat=True))
    assert {"admin", "supervisor", "firm", "bank"} <= names


def test_demo_writes_files_without_a_database(tmp_path):
    result = runner.invoke(
        app, ["demo", "-n", "30", "-k", "2", "--to-file", str(tmp_path), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    panel = pl.read_csv(tmp_path / "panel.csv")
    assert panel.height > 30 and "has_high_tech" in panel.columns


def test_production_mode_requires_a_secret_key(tmp_path):
    env = {
        **os.environ,
        "INNOPOINTS_PRODUCTION": "1",
        "INNOPOINTS_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "innopoints.site.settings",
    }
    env.pop("SECRET_KEY", None)
    code = "import django; django.setup()"
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "SECRET_KEY must be set" in failed.stderr
    env["SECRET_KEY"] = "x" * 50
    check = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.DEBUG)"
    )
    ok = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    assert ok.stdout.strip() == "True False", ok.stderr
