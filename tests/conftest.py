"""Shared fixtures: two zones, one user per role, a few enterprises with yearly data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from innopoints.standard.codes import make_uscc


def uscc(n: int) -> str:
    """A valid USCC numbered n (for fixtures)."""
    return make_uscc(f"9113010{n:010d}")


@pytest.fixture(autouse=True)
def fresh_process_caches():
    """Forget the per-process caches keyed by database ids between tests: ids and data
    versions repeat after each test's rollback, so a cached zone frame or pool list of an
    earlier test could otherwise be served to a later one."""
    from innopoints.enterprises import panel
    from innopoints.pools import live

    def clear() -> None:
        panel._CACHE.clear()
        live._ACTIVE.clear()
        live._COMPILED.clear()

    clear()
    yield
    clear()


@pytest.fixture
def zone(db):
    from innopoints.zones.models import Zone

    return Zone.objects.create(code="Z1", name="测试高新区", region_code="130100")


@pytest.fixture
def other_zone(db):
    from innopoints.zones.models import Zone

    return Zone.objects.create(code="Z2", name="另一高新区", region_code="420100")


@pytest.fixture
def bank(db, zone):
    from innopoints.zones.models import Bank, Partnership

    bank = Bank.objects.create(code="b1", name="测试银行")
    Partnership.objects.create(bank=bank, zone=zone, since=dt.date(2024, 1, 1))
    return bank


def registry_frames(numbers: list[int], years=(2023, 2024)) -> dict[str, pl.DataFrame]:
    """Small typed registry frames for enterprises numbered `numbers`."""
    ids = [uscc(n) for n in numbers]
    enterprises = pl.DataFrame(
        {
            "uscc": ids,
            "name": [f"测试科技有限公司{n}" for n in numbers],
            "industry_code": ["C3971" if n % 2 else "I6513" for n in numbers],
            "region_code": ["130100"] * len(ids),
            "registered_on": [dt.date(2015 + n % 8, 3, 1) for n in numbers],
            "registered_capital": [1000.0] * len(ids),
            "listing_status": ["none"] * len(ids),
            "niche_years": [3.0] * len(ids),
        }
    )
    rows = []
    for n, u in zip(numbers, ids, strict=True):
        for i, y in enumerate(years):
            rows.append(
                {
                    "uscc": u,
                    "year": y,
                    "revenue": 1000.0 * n + 100 * i,
                    "rd_expense": 60.0 * n,
                    "staff_total": 100,
                    "tech_staff": 20 + n,
                    "invention_patents": n,
                }
            )
    yearly = pl.DataFrame(
        rows,
        schema_overrides={
            "staff_total": pl.Int64,
            "tech_staff": pl.Int64,
            "invention_patents": pl.Int64,
        },
    )
    qualifications = pl.DataFrame(
        {
            "uscc": ids[:1],
            "type": ["high_tech"],
            "certificate_no": ["GR202313000001"],
            "valid_from": [dt.date(2023, 11, 1)],
            "valid_until": [dt.date(2026, 10, 31)],
        }
    )
    negatives = pl.DataFrame(
        schema={"uscc": pl.String, "type": pl.String, "occurred_on": pl.Date, "cleared_on": pl.Date}
    )
    return {
        "enterprises": enterprises,
        "yearly": yearly,
        "qualifications": qualifications,
        "negatives": negatives,
    }


def load(zone, numbers: list[int], actor=None):
    """Write enterprises numbered `numbers` into `zone` through the import action."""
    from innopoints.enterprises.actions import apply_registry
    from innopoints.enterprises.models import ImportBatch

    batch = ImportBatch.objects.create(
        zone=zone, file_name="fixture", sha256="0" * 64, mode="strict"
    )
    return apply_registry(actor, zone, registry_frames(numbers), batch)


@pytest.fixture
def firms(zone, other_zone):
    """Three firms in `zone` (1, 2, 3) and one in `other_zone` (9)."""
    from innopoints.enterprises.models import Enterprise

    load(zone, [1, 2, 3])
    load(other_zone, [9])
    return {e.uscc: e for e in Enterprise.objects.all()}


def make_user(username: str, role: str, *, zones=(), enterprise=None, bank=None):
    from innopoints.accounts.actions import do_create_user

    return do_create_user(
        None, username, "pw-" + username, role, zones=zones, enterprise=enterprise, bank=bank
    )


@pytest.fixture
def users(zone, other_zone, firms, bank):
    """One user per role, plus an admin of the other zone."""
    own_firm = firms[uscc(1)]
    return {
        "admin": make_user("admin", "zone_admin", zones=[zone]),
        "other_admin": make_user("other_admin", "zone_admin", zones=[other_zone]),
        "supervisor": make_user("supervisor", "supervisor", zones=[zone]),
        "enterprise": make_user("firm", "enterprise", enterprise=own_firm),
        "bank": make_user("banker", "bank", bank=bank),
    }


@pytest.fixture
def client_for(client, users):
    """A logged-in test client for a role name (or None for anonymous)."""

    def login(role: str | None):
        client.logout()
        if role is not None:
            client.force_login(users[role], backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login
