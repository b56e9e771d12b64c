"""The portal end to end in Chromium: an admin imports, scores, publishes and opens a
portrait with its PDF; an enterprise sees only its own portrait and guidance, files an
objection with an attachment and reads its portrait in English; a bank user without
consent sees nothing of the firm.

Each test builds its zone cheaply (~30 fixture firms written through the import action);
the enterprise and bank tests score and publish in setup through the actions, the admin
test does every step through the pages. Screenshots: `var/screenshots/dashboard.png` and
`var/screenshots/portrait.png`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import load, uscc
from tests.scoring.helpers import TINY_MODEL, scored_zone

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

YEAR = 2024
# Firms 1, 2, 3 come with the `users` fixture; 9 is the other zone's firm.
MORE_FIRMS = [n for n in range(4, 32) if n != 9]
CJK = re.compile(r"[\u4e00-\u9fff]")
# A 1×1 transparent PNG (a real image, not just the signature).
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b40000"
    "000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Panel and portrait caches are keyed by zone pk and data version: start clean."""
    from innopoints.enterprises import panel
    from innopoints.portrait.results import clear_cache
    from innopoints.scoring.results import clear_explanation_cache

    for clear in (panel._CACHE.clear, clear_cache, clear_explanation_cache):
        clear()
    yield
    for clear in (panel._CACHE.clear, clear_cache, clear_explanation_cache):
        clear()


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path: Path) -> Path:
    """Objection attachments go to a per-test directory (the live server shares settings)."""
    settings.PRIVATE_FILES_DIR = tmp_path / "private"
    return settings.PRIVATE_FILES_DIR


@pytest.fixture
def zone_firms(users, zone):
    """About 30 firms in the zone (the three of `users` and 27 more), two years each."""
    load(zone, MORE_FIRMS)
    zone.refresh_from_db()
    return zone


@pytest.fixture
def published(zone_firms, users):
    """The 2024 ranking scored with the tiny test model and published (5-day period)."""
    from innopoints.portal.actions import do_publish_ranking

    run = scored_zone(zone_firms, users["admin"], YEAR, TINY_MODEL)
    assert run.status == "done", run.error
    return do_publish_ranking(users["admin"], run)


def _status(page: Page, url: str) -> int:
    response = page.goto(url)
    assert response is not None, url
    return response.status


def _edited_registry(zone, path: Path, firm: str, revenue: float) -> Path:
    """The zone's registry exported as .xlsx (Chinese headers) with one 2024 revenue changed."""
    from innopoints.enterprises.exporting import write_registry

    (written,) = write_registry(zone, path, fmt="xlsx")
    workbook = openpyxl.load_workbook(written)
    sheet = workbook["年度数据"]
    headers = [cell.value for cell in sheet[1]]
    column = next(i for i, h in enumerate(headers, 1) if h and h.startswith("营业收入"))
    row = next(
        r
        for r in range(2, sheet.max_row + 1)
        if sheet.cell(r, 1).value == firm and sheet.cell(r, 2).value == YEAR
    )
    sheet.cell(row, column).value = revenue
    workbook.save(written)
    return written


# ---------------------------------------------------------------------------- admin


def test_admin_imports_scores_publishes_and_downloads_a_portrait(
    page: Page, zone_firms, login, screenshot, tmp_path: Path
) -> None:
    """Import → activate a model → score → publish → portrait → PDF, all through pages."""
    firm = uscc(2)
    login(page, "admin")

    # 1. Import a file: one changed revenue cell.
    path = _edited_registry(zone_firms, tmp_path / "registry-2024.xlsx", firm, 123_456)
    page.goto("/imports/")
    page.set_input_files("#import-form input[type=file]", str(path))
    page.select_option("#import-form select[name=mode]", "strict")
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("#result .good")).to_be_visible()
    expect(page.locator(".pagehead h1")).to_contain_text("registry-2024.xlsx")

    # 2. Activate the shipped national-18 model for the year on its model page.
    page.goto("/scoring/models/")
    page.locator("#versions tbody tr", has_text="national-18").locator("a").first.click()
    page.wait_for_url(re.compile(r"/scoring/models/\d+/$"))
    page.fill("#activate-form input[name=year]", str(YEAR))
    with page.expect_navigation():
        page.click("#activate-form button[type=submit]")
    page.goto("/scoring/models/")
    expect(page.locator("#activations tbody tr", has_text=str(YEAR))).to_contain_text("national-18")

    # 3. Start a run from the runs page; the progress box moves on to the run's page.
    page.goto("/scoring/")
    page.fill("#run-form input[name=year]", str(YEAR))
    with page.expect_navigation():
        page.click("#run-form button[type=submit]")
    page.wait_for_url(re.compile(r"/scoring/runs/\d+/$"))
    run_id = int(re.search(r"/runs/(\d+)/$", page.url).group(1))
    page.goto("/scoring/")
    row = page.locator("#runs tbody tr", has_text=f"#{run_id}")
    expect(row.locator(".good")).to_be_visible()
    expect(row).to_contain_text("national-18")

    # 4. Publish the ranking from the rankings page.
    page.goto(f"/portal/rankings/?zone={zone_firms.pk}&year={YEAR}")
    expect(page.locator("#publish-form")).to_be_visible()
    expect(page.locator("#publish-form input[name=run]")).to_have_value(str(run_id))
    page.fill("#publish-form input[name=note]", "browser test")
    with page.expect_navigation():
        page.click("#publish-form button[type=submit]")
    page.wait_for_url(re.compile(r"/portal/publications/\d+/$"))
    publication_id = int(re.search(r"/publications/(\d+)/$", page.url).group(1))
    page.goto(f"/portal/rankings/?zone={zone_firms.pk}&year={YEAR}")
    expect(page.locator(f"a[href='/portal/publications/{publication_id}/']")).to_be_visible()

    # 5. The dashboard of the year, charts drawn.
    page.goto(f"/portal/?zone={zone_firms.pk}&year={YEAR}")
    expect(page.locator("#panel-stages")).to_be_visible()
    expect(page.locator("#panel-top table tbody tr").first).to_be_visible()
    page.locator("[data-chart] canvas").first.wait_for()
    screenshot(page, "dashboard")

    # 6. The firm's portrait (its imported revenue is in the data it was scored on).
    page.goto(f"/portrait/{firm}/")
    page.wait_for_url(re.compile(rf"/portrait/{firm}/{YEAR}/$"))
    expect(page.locator(".pagehead h1")).to_contain_text("测试科技有限公司2")
    for section in ("#identity", "#score", "#indicators", "#trends", "#guidance"):
        expect(page.locator(section).first).to_be_visible()
    expect(page.locator("#provenance")).to_contain_text(f"#{run_id}")
    expect(page.locator("#indicator-table tbody tr")).not_to_have_count(0)
    page.locator("#radar-chart canvas").wait_for()
    screenshot(page, "portrait")

    # 7. Its PDF.
    with page.expect_download() as info:
        page.click("#pdf-link")
    download = info.value
    assert download.suggested_filename == f"portrait-{firm}-{YEAR}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF"), data[:20]
    assert len(data) > 5_000


# ---------------------------------------------------------------------------- enterprise


def test_enterprise_sees_its_portrait_objects_and_reads_english(
    page: Page, published, login, screenshot, tmp_path: Path
) -> None:
    """Own portrait and guidance only; an objection with a PNG; English labels after the
    language switch."""
    own, other = uscc(1), uscc(2)
    login(page, "firm")

    page.goto("/portrait/")
    page.wait_for_url(re.compile(rf"/portrait/{own}/{YEAR}/$"))
    expect(page.locator(".pagehead h1")).to_contain_text("测试科技有限公司1")
    expect(page.locator("#guidance")).to_be_visible()
    expect(page.locator("#guidance #next-band")).to_be_visible()
    expect(page.locator("#indicator-table tbody tr")).to_have_count(4)  # the tiny model
    expect(page.locator("body")).not_to_contain_text("测试科技有限公司2")

    for url in (
        f"/portrait/{other}/{YEAR}/",
        f"/portrait/{other}/{YEAR}/pdf/",
        f"/portrait/{other}/",
        f"/portrait/{uscc(9)}/{YEAR}/",  # the other zone's firm
    ):
        assert _status(page, url) == 404, url
        expect(page.locator("body")).not_to_contain_text("测试科技有限公司")

    # File an objection on the published placement, with a reason and a PNG.
    attachment = tmp_path / "evidence.png"
    attachment.write_bytes(PNG_1X1)
    prefix = f"p{published.pk}"
    page.goto("/portal/my-ranking/")
    card = page.locator(f"#placement-{published.pk}")
    expect(card).to_contain_text(str(YEAR))
    card.locator("details summary").click()
    reason = "2024年营业收入统计口径有误，附证明材料。"
    card.locator(f"textarea[name='{prefix}-reason']").fill(reason)
    card.locator(f"input[name='{prefix}-files']").set_input_files(str(attachment))
    with page.expect_navigation():
        card.locator("form.objection-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/portal/objections/\d+/$"))
    expect(page.locator("main")).to_contain_text(reason)
    expect(page.locator("main a[href^='/portal/attachments/']")).to_contain_text("evidence.png")
    page.goto("/portal/my-ranking/")
    expect(page.locator("#my-objections tbody tr")).to_have_count(1)
    expect(page.locator("#my-objections")).to_contain_text("evidence.png")
    expect(card.locator("form.objection-form")).to_have_count(0)  # one open objection at a time

    # Switch to English on the portrait.
    page.goto(f"/portrait/{own}/{YEAR}/")
    with page.expect_navigation():
        page.click("button[data-lang='en']")
    expect(page).to_have_url(re.compile(rf"/portrait/{own}/{YEAR}/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for heading in ("Identity", "Points and rank", "Indicators", "Trends", "Guidance"):
        expect(page.locator("main h2", has_text=heading).first).to_be_visible()
    expect(page.locator("#pdf-link")).to_have_text("Download PDF")
    names = page.locator("#indicator-table tbody tr th").all_inner_texts()
    assert any(n.startswith("R&D intensity") for n in names), names
    assert not any(CJK.search(n) for n in names), names
    screenshot(page, "enterprise-portrait-en")


# ---------------------------------------------------------------------------- bank


def test_bank_without_consent_sees_nothing_of_the_firm(page: Page, published, login) -> None:
    """404 on the portrait and its PDF; the API lists no enterprise and 404s the firm."""
    login(page, "banker")
    for firm in (uscc(1), uscc(2)):
        for url in (
            f"/portrait/{firm}/{YEAR}/",
            f"/portrait/{firm}/{YEAR}/pdf/",
            f"/portrait/{firm}/",
        ):
            assert _status(page, url) == 404, url
            expect(page.locator("body")).not_to_contain_text("测试科技有限公司")

    listing = page.request.get("/api/enterprises")
    assert listing.status == 200, listing.text()
    body = listing.json()
    assert body["items"] == [] and body["count"] == 0, body
    searched = page.request.get("/api/enterprises?q=测试").json()
    assert searched["items"] == [], searched
    assert page.request.get(f"/api/enterprises/{uscc(1)}").status == 404
    assert page.request.get(f"/api/portrait/{uscc(1)}/{YEAR}").status == 404
