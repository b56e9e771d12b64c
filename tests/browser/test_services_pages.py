"""Zone services in the browser: the key-project charts draw, a firm sees its candidates
with the matching words highlighted and says it is interested."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.conftest import uscc

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_projects_chart_and_firm_interest(page, users, zone, firms, login, screenshot) -> None:
    from innopoints.services import actions

    admin = users["admin"]
    project = actions.do_create_project(
        admin,
        zone,
        firms[uscc(1)],
        name="动力电池产线",
        total_investment=12000,
        planned_this_year=2400,
        plan_year=dt.date.today().year,
        stage="signed",
        signed_on=dt.date(2026, 1, 5),
    )
    actions.do_record_investment(admin, project, dt.date.today().replace(day=1), 300)
    actions.do_create_supply(
        admin,
        zone,
        title="工业产品表面缺陷视觉检测系统",
        field="electronics",
        keywords="机器视觉、缺陷检测",
        description="在线识别划痕",
        owner="河北工业大学",
    )
    demand = actions.do_create_demand(
        admin, firms[uscc(1)], problem="玻璃盖板划痕检测", description="希望用机器视觉替代人工目检"
    )

    login(page, "admin")
    page.goto("/services/projects/")
    expect(page.locator("#project-totals")).to_contain_text("12,000")
    expect(page.locator('[data-chart="stages"] canvas')).to_have_count(1)
    screenshot(page, "services-projects")

    page.context.clear_cookies()
    login(page, "firm")
    page.goto(f"/services/demands/{demand.pk}/")
    # the title says 视觉, the keywords 机器视觉: both are marked
    expect(page.locator("#candidates mark").first).to_have_text("视觉")
    expect(page.locator("#candidates mark", has_text="机器视觉")).to_have_count(1)
    with page.expect_navigation():
        page.click("#candidates button[name=supply]")
    expect(page.locator("#candidates")).to_contain_text("✓")
    screenshot(page, "services-demand-candidates")
