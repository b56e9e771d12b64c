"""A zone admin logs in through the form and browses the enterprise registry."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import uscc

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def _table_names(page) -> list[str]:
    """The enterprise names in the list table, in order."""
    return page.locator("#enterprise-table tbody td:first-child a").all_inner_texts()


def test_admin_logs_in_and_browses_the_registry(page, users, login, screenshot) -> None:
    """Login form → list of the zone's firms only → name search → detail with yearly data."""
    login(page, "admin")
    expect(page).to_have_url(re.compile(r"/enterprises/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".who")).to_contain_text("admin")

    names = _table_names(page)
    assert names == ["测试科技有限公司1", "测试科技有限公司2", "测试科技有限公司3"]
    assert "测试科技有限公司9" not in page.locator("main").inner_text()
    expect(page.locator(".pagehead h1 small")).to_have_text("3")
    expect(page.locator("#enterprise-table")).to_contain_text(uscc(2))
    expect(page.locator("#enterprise-table")).not_to_contain_text(uscc(9))
    screenshot(page, "admin-enterprise-list")

    page.fill("input[name=q]", "公司2")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert _table_names(page) == ["测试科技有限公司2"]
    expect(page.locator(".pagehead h1 small")).to_have_text("1")

    # A search for a firm of the other zone finds nothing.
    page.fill("input[name=q]", "公司9")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert _table_names(page) == []
    expect(page.locator("#enterprise-table td.empty")).to_have_count(1)

    page.fill("input[name=q]", "公司2")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    with page.expect_navigation():
        page.click("#enterprise-table a:text-is('测试科技有限公司2')")
    expect(page).to_have_url(re.compile(rf"/enterprises/{uscc(2)}/$"))
    expect(page.locator(".pagehead h1")).to_have_text("测试科技有限公司2")
    expect(page.locator(".pagehead .mono")).to_have_text(uscc(2))

    yearly = page.locator("#yearly-table")
    years = yearly.locator("thead th.num").all_inner_texts()
    assert years == ["2023", "2024"]
    # Firm 2 (see tests/conftest.py): 100 staff, 22 tech staff, 2 invention patents.
    rows = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in yearly.locator("tbody tr").all()
    }
    assert ["100", "100"] in rows.values()
    assert ["22", "22"] in rows.values()
    # Revenue 2,000 / 2,100 (money, 2 decimals); R&D expense 120 both years.
    assert ["2,000.00", "2,100.00"] in rows.values()
    assert ["120.00", "120.00"] in rows.values()
    expect(page.locator("#derived-table tbody tr").first).to_be_visible()
    screenshot(page, "admin-enterprise-detail")


def test_admin_cannot_open_a_firm_of_another_zone(page, users, login) -> None:
    """The other zone's firm is "not found" for this zone's admin, even by URL."""
    login(page, "admin")
    response = page.goto(f"/enterprises/{uscc(9)}/")
    assert response is not None and response.status == 404
    response = page.goto(f"/enterprises/{uscc(1)}/")
    assert response is not None and response.status == 200
