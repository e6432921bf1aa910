"""Browser tests: Playwright (sync API) drives Debian's Chromium against the live server.

- One Chromium for the whole session; a fresh browser context (cookies, storage) per test, with a
  Chinese locale like the schools' machines (so the UI starts in zh-hans).
- When /usr/bin/chromium is missing (or XINQIAO_CHROMIUM points elsewhere) every e2e test is
  SKIPPED, and a banner says so loudly at the start and the end of the run: `make test` installs
  Chromium with apt when it can, so a skip here means a machine that could not.
- Playwright's sync API runs an event loop in the main thread, which makes Django refuse ORM calls
  from the test body ("You cannot call this from an async context"); the tests are plain
  synchronous code, so DJANGO_ALLOW_ASYNC_UNSAFE is safe here.
- `live_server` makes pytest-django use a transactional database (the server thread must see the
  test's data), so the `world` fixture from tests/conftest.py works unchanged.
- On SQLite the test database is a file, not Django's shared in-memory one. With the in-memory
  database every request thread of the live server shares the test's one connection, and two
  requests at once (a page's htmx polling during a navigation, twenty students answering) mix
  their transactions: a session save then failed with "database table is locked" and the page
  answered 400. A file gives each thread its own connection with WAL and a busy timeout, as in
  the embedded default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("XINQIAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_REASON = "Chromium not installed: browser tests SKIPPED"
BANNER = (
    f"{CHROMIUM} NOT FOUND — BROWSER TESTS SKIPPED. Install it: sudo apt-get install chromium "
    "fonts-noto-cjk (make test does this when run as root)."
)
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1366, "height": 768}


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def _shout(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("!", BANNER, red=True, bold=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if not e2e or chromium_available():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in e2e:
        item.add_marker(skip)
    config.stash[_SKIPPED] = len(e2e)
    _shout(config)


_SKIPPED = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = config.stash.get(_SKIPPED, 0)
    if skipped:
        terminalreporter.write_sep(
            "!", f"{skipped} browser tests SKIPPED: {BANNER}", red=True, bold=True
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("e2e-database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A new page in a fresh context, desktop-sized, Chinese locale."""
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, username: str, password: str) -> Any:
    """Both steps of signing in through the real forms: the password, then the 6-digit code an
    authenticator app would show (the account gets an authenticator first if it has none;
    tests/otp.py). Leaves the page where the sign-in lands (home, or the page asked for)."""
    from django.contrib.auth import get_user_model

    from tests.otp import code_for, give_authenticator

    user = get_user_model().objects.filter(username=username).first()
    device = give_authenticator(user) if user is not None else None
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()
    if device is not None and "/accounts/two-factor/verify/" in page.url:
        page.locator("input[name=code]").fill(code_for(device))
        with page.expect_navigation():
            page.get_by_test_id("second-step").locator("button[type=submit]").click()
    return page


@pytest.fixture
def login(page: Any) -> Any:
    """login(username, password) → signs in through the real login form and the second step,
    lands on home."""

    def do(username: str, password: str) -> Any:
        return sign_in(page, username, password)

    return do


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
