"""The services demo seeds every registry through the actions and reproduces the seed
zone's figures where they are fixed by construction."""

from __future__ import annotations

import datetime as dt

import pytest

from innopoints.services import stats
from innopoints.services.demo import seed_services
from innopoints.services.models import (
    Conversion,
    IncomeEntry,
    KeyProject,
    ProjectInvestment,
    ProjectMilestone,
    ResearchResult,
    SupplyItem,
)

pytestmark = pytest.mark.django_db


def test_seed_services_on_a_small_zone(zone, firms):
    seed_services(zone, echo=lambda *_: None)
    assert SupplyItem.objects.filter(zone=zone).count() == 68
    results = ResearchResult.objects.filter(zone=zone)
    conv = stats.conversion_stats(results, Conversion.objects.all(), IncomeEntry.objects.all())
    assert conv["converted"] == 42 and conv["share_in_zone"] == pytest.approx(0.8, abs=0.02)
    projects = KeyProject.objects.filter(zone=zone)
    _t, totals, _m = stats.project_table(
        projects,
        ProjectInvestment.objects.all(),
        ProjectMilestone.objects.all(),
        dt.date(2026, 12, 1),
    )
    assert totals["projects"] == 123
    assert totals["total_investment"] == 3_898_000.0 and totals["planned_this_year"] == 843_000.0
    assert seed_services(zone, echo=lambda *_: None) == "services: already seeded"
