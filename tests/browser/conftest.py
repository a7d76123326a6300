"""Fixtures for the browser tests: one headless Chromium for the session, a fresh
context per page, and the module behind the page (or the fake API).

Every test module carries ``pytestmark = BROWSER_TESTS``. When no browser can run (see
:mod:`.browser_env`) each test here is skipped, and the summary at the end of the run
says how many did not run and why, so that they do not hide in a skip count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from .browser_env import ARGS, CHROMIUM, MISSING, SKIP_REASON, skipped
from .fake_api import FakeModule, start_fake
from .targets import WebModule

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

WAIT_MS = 5_000  # the longest any expectation waits for the page
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not skipped():
        return
    mark = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(mark)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = terminalreporter.stats.get("skipped", [])
    count = sum(1 for report in reports if SKIP_REASON in str(report.longrepr))
    if count:
        terminalreporter.write_sep("=", "browser tests not run", yellow=True)
        terminalreporter.write_line(
            f"{count} browser tests did not run: {MISSING}. "
            "Install Chromium (or set CHROMIUM_PATH) to run them."
        )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if MISSING is not None:
        pytest.fail(f"REQUIRE_BROWSER=1 but {MISSING}")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=20_000)
        yield launched
        await launched.close()


OpenPage = Callable[..., Awaitable["Page"]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """``await open_page(url, locale=..., viewport=...)``: a page in a fresh context.

    A JavaScript error on any page fails the test at teardown.
    """
    contexts = []
    errors: list[str] = []

    async def open_(url: str, *, locale: str = "en-US", **options: Any) -> Page:
        context = await browser.new_context(locale=locale, **options)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Page timers run on a clock the tests can move on (see pages.wait_result).
        await page.clock.install()
        await page.goto(url, wait_until="domcontentloaded")
        return page

    yield open_
    for context in contexts:
        await context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def fake() -> AsyncIterator[tuple[FakeModule, str]]:
    """The fake API serving the real page; yields the model and the base URL."""
    module = FakeModule()
    runner, base = await start_fake(module)
    yield module, base
    module.hold.set()
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def target(tmp_path: Path) -> AsyncIterator[WebModule]:
    """A module of the default scenario with its real web server and a flash file."""
    module = await WebModule().start(tmp_path / "flash.bin")
    yield module
    await module.close()


@pytest_asyncio.fixture(loop_scope="session")
async def slow_target(tmp_path: Path) -> AsyncIterator[WebModule]:
    """The same at time scale 0.2 with a 60 s connection_timeout: a failed provisioning
    is declared after 12 s of real time, so what the page shows before can be seen."""
    module = await WebModule().start(
        tmp_path / "flash.bin", time_scale=0.2, start="AT+WEBSERVER=1,80,60"
    )
    yield module
    await module.close()
