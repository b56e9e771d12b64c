"""Browser tests: Playwright (sync API) driving Debian Chromium against the live server.

No Playwright browser download is needed or possible: the tests launch the system
Chromium (`/usr/bin/chromium`, or `INNOPOINTS_CHROMIUM`). When it is missing the tests
skip, except when `INNOPOINTS_REQUIRE_BROWSER=1` (CI), where they fail instead.

Every test here is marked `browser`, runs on a transactional database (the live server
thread needs committed data) and gets a fresh browser context (no cookies shared).
Screenshots go to `var/screenshots/` at the repository root; CI keeps them as artifacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the main thread; Django then refuses ORM
# calls from test code unless told that this is fine (it is: the loop is not ours).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BROWSER_DIR = Path(__file__).resolve().parent
REPO_ROOT = BROWSER_DIR.parents[1]
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
CHROMIUM = Path(os.environ.get("INNOPOINTS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Browser locale of a user in the zone: Accept-Language zh-CN, Shanghai time.
DEFAULT_LOCALE = "zh-CN"
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser with `browser` (so `-m "not browser"` works)."""
    for item in items:
        if _is_browser_item(item):
            item.add_marker(pytest.mark.browser)


def _no_browser(reason: str) -> None:
    """Skip, or fail when the environment demands real browser runs (CI)."""
    if os.environ.get("INNOPOINTS_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"INNOPOINTS_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}",
            pytrace=False,
        )
    pytest.skip(reason)


class _Chromium:
    """The session's one Chromium, started on first use and stopped when the run leaves
    tests/browser.

    Playwright's sync API leaves its asyncio loop marked as running in the main thread
    while it is started; stopping it after the last browser test keeps that loop from
    leaking into the rest of the suite (where `asyncio.run` or Django's async-safety
    check would see it).
    """

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None
        self._failure: str | None = None

    def get(self):
        """The running browser (launched on first call); skips or fails when unavailable."""
        if self._failure is not None:
            _no_browser(self._failure)
        if self._browser is None:
            self._failure = self._start()
            if self._failure is not None:
                _no_browser(self._failure)
        return self._browser

    def _start(self) -> str | None:
        if not CHROMIUM.exists():
            return f"{CHROMIUM} not found (apt-get install chromium)"
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
            return f"the playwright package is not installed: {exc}"
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:  # noqa: BLE001 - any launch failure means no browser
            self.stop()
            return f"Chromium at {CHROMIUM} did not start: {exc}"
        return None

    def stop(self) -> None:
        """Close the browser and Playwright (idempotent; a later test starts them again)."""
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None


_CHROMIUM = _Chromium()


def _is_browser_item(item: pytest.Item | None) -> bool:
    return item is not None and BROWSER_DIR in Path(str(item.path)).resolve().parents


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the browser after the last browser test of a run of consecutive ones."""
    if _is_browser_item(item) and not _is_browser_item(nextitem):
        _CHROMIUM.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[_Chromium]:
    """The session-wide browser handle (one Chromium launch per run of browser tests)."""
    yield _CHROMIUM
    _CHROMIUM.stop()


@pytest.fixture
def browser(chromium: _Chromium):
    """The shared headless Chromium (skips, or fails under INNOPOINTS_REQUIRE_BROWSER=1,
    when it cannot run)."""
    return chromium.get()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., object]]:
    """Open pages in fresh browser contexts against the live server: `new_page(locale=...)`."""
    contexts = []

    def open_page(locale: str = DEFAULT_LOCALE):
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh context with a Chinese (zh-CN) browser locale."""
    return new_page()


@pytest.fixture
def screenshot() -> Callable[[object, str], Path]:
    """Save a full-page screenshot as var/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login() -> Callable[..., None]:
    """Log in through the login form: `login(page, username, password=None)`.

    The password defaults to the fixtures' `pw-<username>`. Returns once the page the
    form redirects to has loaded.
    """

    def log_in(page, username: str, password: str | None = None) -> None:
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password if password is not None else f"pw-{username}")
        with page.expect_navigation():
            page.click("main form button[type=submit]")

    return log_in
