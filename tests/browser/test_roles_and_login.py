"""Enterprise and bank users see only what is theirs; language switch; login throttling.

UI strings are English msgids translated through gettext. Where a test checks a
translated text, the expected text is taken from the catalogue itself (so the test holds
whether or not the Chinese catalogue has that string yet); language switching is checked
on `<html lang>`, on a heading whose English text is known, and on the data-standard
field labels, which are Chinese or English regardless of the gettext catalogue.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.conftest import uscc

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

CJK = re.compile(r"[\u4e00-\u9fff]")


def _zh(text: str) -> str:
    """The Chinese UI text of an English msgid (the msgid itself if not translated yet)."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def _first_yearly_label(page) -> str:
    return page.locator("#yearly-table tbody tr th").first.inner_text()


def test_default_language_is_chinese(new_page) -> None:
    """A browser asking for a language the site lacks gets zh-hans, as does a zh-CN one."""
    for locale in ("de-DE", "zh-CN"):
        page = new_page(locale=locale)
        page.goto("/accounts/login/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("button[data-lang='zh-hans'].current")).to_have_count(1)


def test_enterprise_user_sees_only_its_firm_and_switches_language(
    page, users, login, screenshot
) -> None:
    """Lands on its own firm; other firms (same or other zone) are 404; en ↔ zh switch."""
    own = uscc(1)
    login(page, "firm")
    expect(page).to_have_url(re.compile(rf"/enterprises/{own}/$"))
    expect(page.locator(".pagehead h1")).to_have_text("测试科技有限公司1")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert CJK.search(_first_yearly_label(page)), "field labels should be Chinese in zh-hans"
    # No registry, import or audit links for an enterprise user: only its own pages.
    links = page.locator("header nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert f"/enterprises/{own}/" in links
    assert not any(h.startswith(("/imports", "/audit", "/zones", "/export")) for h in links)
    assert "/enterprises/" not in links
    screenshot(page, "enterprise-own-firm")

    for other in (uscc(2), uscc(9)):  # same zone, other zone
        response = page.goto(f"/enterprises/{other}/")
        assert response is not None and response.status == 404, other
        expect(page.locator("body")).not_to_contain_text("测试科技有限公司")
    response = page.goto("/enterprises/")
    assert response is not None and response.status in (403, 404)

    page.goto(f"/enterprises/{own}/")
    with page.expect_navigation():
        page.click("button[data-lang='en']")
    expect(page).to_have_url(re.compile(rf"/enterprises/{own}/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h2", has_text="Yearly data")).to_be_visible()
    expect(page.locator("h2", has_text="Derived indicators")).to_be_visible()
    expect(page.locator("button[data-lang='en'].current")).to_have_count(1)
    label = _first_yearly_label(page)
    assert not CJK.search(label), f"field label not in English: {label!r}"
    screenshot(page, "enterprise-own-firm-en")

    # The choice sticks: the next page is English too.
    page.goto("/")
    expect(page).to_have_url(re.compile(rf"/enterprises/{own}/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    with page.expect_navigation():
        page.click("button[data-lang='zh-hans']")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h2", has_text=_zh("Yearly data"))).to_be_visible()
    assert CJK.search(_first_yearly_label(page))


def test_bank_user_sees_no_firm(page, users, login, screenshot) -> None:
    """Without consent a bank user sees no enterprise: empty workspace, 404 on firm URLs."""
    login(page, "banker")
    expect(page).to_have_url(re.compile(r"/$"))
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text(_zh("Bank workspace"))
    expect(main).to_contain_text(
        _zh(
            "No enterprise has granted your bank access to its data yet. "
            "Firms you may see will be listed here once they consent."
        )
    )
    expect(page.locator("a[href^='/enterprises/']")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("测试科技有限公司")
    links = page.locator("header nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links == ["/finance/", "/accounts/tokens/"]  # its finance desk and tokens only
    screenshot(page, "bank-home")

    for firm in (uscc(1), uscc(9)):
        response = page.goto(f"/enterprises/{firm}/")
        assert response is not None and response.status == 404, firm
        expect(page.locator("body")).not_to_contain_text("测试科技有限公司")
    for url in ("/enterprises/", "/export/", "/imports/"):
        response = page.goto(url)
        assert response is not None and response.status in (403, 404), url


def test_login_is_locked_after_five_failures(page, users, login, settings) -> None:
    """Five wrong passwords lock the username for this address, even with the right one."""
    assert settings.AXES_FAILURE_LIMIT == 5
    error = _zh("Your username and password didn't match. Please try again.")
    locked = _zh("Too many failed logins")
    for attempt in range(1, 6):
        login(page, "admin", f"wrong-{attempt}")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        if attempt < 5:
            expect(page.locator("main .error")).to_have_text(error)

    login(page, "admin")  # the right password
    expect(page.locator("main h1")).to_have_text(locked)
    expect(page.locator(".who")).to_have_count(0)
    response = page.goto("/enterprises/")
    assert response is not None
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    # The lock is per username and address: another user may still log in.
    login(page, "supervisor")
    expect(page).to_have_url(re.compile(r"/enterprises/$"))
    expect(page.locator(".who")).to_contain_text("supervisor")
