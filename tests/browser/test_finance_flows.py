"""Finance in the browser: a firm grants its bank access on its finance page, the bank then
opens the firm's portrait, and the firm sees who read its data; revoking ends access."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.conftest import uscc

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_consent_read_log_and_revoke(new_page, users, bank, login, screenshot) -> None:
    firm_page = new_page()
    login(firm_page, "firm")
    firm_page.goto("/finance/firm/")
    form = firm_page.locator("#consent-form")
    form.locator("select[name=bank]").select_option(str(bank.pk))
    today = dt.date.today()
    form.locator("input[name=valid_from]").fill(today.isoformat())
    form.locator("input[name=valid_until]").fill((today + dt.timedelta(days=30)).isoformat())
    form.locator("button[type=submit]").click()
    expect(firm_page.locator("#consents tbody")).to_contain_text(bank.name)
    screenshot(firm_page, "finance-firm-consent")

    bank_page = new_page()
    login(bank_page, "banker")
    response = bank_page.goto(f"/enterprises/{uscc(1)}/")
    assert response is not None and response.status == 200
    response = bank_page.goto(f"/enterprises/{uscc(2)}/")
    assert response is not None and response.status == 404

    firm_page.goto("/finance/firm/")
    expect(firm_page.locator("#reads tbody")).to_contain_text("banker")
    firm_page.locator("#consents tbody button").first.click()
    expect(firm_page.locator("#consents tbody button")).to_have_count(0)
    response = bank_page.goto(f"/enterprises/{uscc(1)}/")
    assert response is not None and response.status == 404
