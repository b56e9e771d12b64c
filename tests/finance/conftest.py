"""Finance fixtures: a scored zone, a points-credit product, an IP-pledge product."""

from __future__ import annotations

import datetime as dt

import pytest

from innopoints.engine.credit import DEFAULT_TABLE


@pytest.fixture(autouse=True)
def fresh_caches():
    from django.core.cache import cache

    from innopoints.enterprises import panel
    from innopoints.pools import actions

    panel._CACHE.clear()
    actions._CRITERIA.clear()
    cache.clear()
    yield
    panel._CACHE.clear()
    actions._CRITERIA.clear()


@pytest.fixture
def scored(users, zone):
    from tests.scoring.helpers import scored_zone

    return scored_zone(zone, users["admin"])


@pytest.fixture
def product(users, bank):
    from innopoints.finance.actions import do_save_product

    table = {
        "grade_by": "percentile",
        "grades": [
            {"min_pct": 80, "base": "revenue", "multiple": 0.3, "uplift": 0.15},
            {"min_pct": 0, "base": "fixed", "amount": 50},
        ],
        "caps": {"revenue_share": 0.5, "minus_debt": True},
        "blocks": {"negative_records": True},
    }
    return do_save_product(
        users["bank"],
        bank,
        {
            "code": "jfd",
            "name": "积分贷",
            "kind": "points_credit",
            "amount_min": 10,
            "amount_max": 1000,
            "term_min_months": 6,
            "term_max_months": 36,
            "rate_min": 3.0,
            "rate_max": 6.0,
            "credit_table": table,
            "eligibility": None,
            "ltv_max": {},
            "active": True,
        },
    )


@pytest.fixture
def pledge_product(users, bank):
    from innopoints.finance.actions import do_save_product

    return do_save_product(
        users["bank"],
        bank,
        {
            "code": "zscq",
            "name": "知识产权质押贷",
            "kind": "ip_pledge",
            "amount_min": 10,
            "amount_max": 2000,
            "term_min_months": 6,
            "term_max_months": 36,
            "rate_min": 3.0,
            "rate_max": 6.0,
            "credit_table": DEFAULT_TABLE,
            "ltv_max": {"invention_patent": 0.25, "utility_model": 0.15, "trademark": 0.5},
            "active": True,
        },
    )


def today() -> dt.date:
    from innopoints.finance.access import today as t

    return t()
