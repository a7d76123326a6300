"""Whether a browser can run here, and what happens to the browser tests when not.

``CHROMIUM_PATH`` names the browser, else ``chromium`` on the PATH. Without it (or
without Playwright) every browser test is collected and skipped (see ``conftest.py``),
and the test summary says how many did not run and why; with ``REQUIRE_BROWSER=1`` a
missing browser fails the run instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"
# Chromium's background services and QUIC make it open connections that fail here.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """``$CHROMIUM_PATH`` when set, else ``chromium`` on the PATH; ``None`` if that is
    not an executable file."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


CHROMIUM = find_chromium()
MISSING = (
    "Playwright is not installed"
    if importlib.util.find_spec("playwright") is None
    else None
    if CHROMIUM
    else "Chromium is not installed (set CHROMIUM_PATH)"
)


SKIP_REASON = f"browser test: {MISSING}; REQUIRE_BROWSER=1 makes this a failure"


def skipped() -> bool:
    """Whether the browser tests are skipped here (no browser, and none required)."""
    return MISSING is not None and not REQUIRED


# Every test module here: one event loop (and one browser) for the whole session, and a
# bound on each test.
BROWSER_TESTS = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(30)]
