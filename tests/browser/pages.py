"""What the tests do on the page, in the words of a user (and what they read back), and
the screenshots: written only when ``UPDATE_SCREENSHOTS=1``, so that CI leaves the
tree clean."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from esp_at_sim.flash.image import build_app_image

try:
    from playwright.async_api import Page, Response, expect
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # every browser test is skipped then (browser_env.py, conftest.py)
    pass

__all__ = ["Page", "expect"]  # for the test modules, which import Playwright from here

# Text the English page shows, copied from i18n.js where a test relies on it.
REASON_TEXT = {
    "wrong_password": "The password for {ssid} is wrong.",
    "not_found": "No network called {ssid} was found.",
    "no_ip": "got no IP address",
    "timeout": "took too long",
}


async def networks(page: Page) -> list[dict[str, Any]]:
    """Open the SSID drop-down and read it: name and secured flag, in order."""
    await expect(page.locator("#scan-status")).to_contain_text("networks found")
    await page.click("#ap-toggle")
    await expect(page.locator("#ap-list")).to_be_visible()
    return await page.eval_on_selector_all(
        "#ap-list [role=option]",
        """items => items.map(li => ({
            ssid: li.dataset.ssid,
            secured: li.dataset.secured === "true",
            lock: li.querySelector(".lock") !== null,
        }))""",
    )


async def connect(page: Page, ssid: str, password: str) -> None:
    """Type the credentials and press Connect."""
    await page.fill("#ssid", ssid)
    await page.keyboard.press("Escape")
    await page.fill("#password", password)
    await page.click("#connect")


async def wait_result(page: Page, tone: str, *, seconds: float = 5.0) -> str:
    """Wait for the provisioning result ("ok" or "fail"); returns the status text.

    The page asks for the state once a second; rather than wait for its timer, the
    page's clock is moved on a second at a time, each time waiting (briefly) for the
    answer that asks for, for at most ``seconds`` of real time in all.
    """
    status = page.locator("#wifi-status")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while await status.get_attribute("data-tone") in (None, "busy") and loop.time() < deadline:
        with contextlib.suppress(PlaywrightTimeoutError):
            async with page.expect_response(is_state_answer, timeout=500):
                await page.clock.fast_forward(1000)
    await expect(status).to_have_attribute("data-tone", tone, timeout=1000)
    return await status.inner_text()


def is_state_answer(response: Response) -> bool:
    return urlsplit(response.url).path == "/getstainfo"


async def open_ota(page: Page) -> None:
    await page.click("#tab-ota")
    await expect(page.locator("#fw-version")).not_to_have_text("…")


def bin_file(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/octet-stream", "buffer": data}


def app_image(version: str, size: int | None = None) -> bytes:
    return build_app_image(version, size=size)


def corrupt(image: bytes) -> bytes:
    """The same image with one byte of its code flipped: the SHA-256 no longer matches."""
    broken = bytearray(image)
    broken[len(broken) // 2] ^= 0xFF
    return bytes(broken)


async def choose_file(page: Page, partition: str, name: str, data: bytes) -> None:
    await page.select_option("#partition", partition)
    await page.set_input_files("#file", bin_file(name, data))


async def eventually(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait (bounded) until ``check()`` is truthy; fails with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        await asyncio.sleep(0.02)


def record_requests(page: Page) -> list[tuple[str, str, str | None]]:
    """Every request the page makes from now on: method, path and body."""
    seen: list[tuple[str, str, str | None]] = []

    def on_request(request: Any) -> None:
        seen.append((request.method, urlsplit(request.url).path, request.post_data))

    page.on("request", on_request)
    return seen


async def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """Make uploads from ``page`` crawl (Chromium's own network throttling)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def record_states(page: Page) -> list[dict[str, Any]]:
    """Every ``/getstainfo`` answer the page receives from now on."""
    seen: list[dict[str, Any]] = []

    async def on_response(response: Any) -> None:
        if urlsplit(response.url).path == "/getstainfo":
            with contextlib.suppress(Exception):
                seen.append(await response.json())

    page.on("response", on_response)
    return seen


SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save ``docs/screenshots/<name>.png`` when UPDATE_SCREENSHOTS=1."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    # No hover effect from the last click; animations stopped, so that a spinner looks
    # the same in every run.
    await page.mouse.move(0, 0)
    await page.add_style_tag(
        content="*{animation-play-state:paused!important;caret-color:transparent}"
    )
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
