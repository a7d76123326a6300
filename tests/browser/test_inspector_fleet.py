"""The fleet's page of the control API (``fleet --control``), in Chromium: every module
at a glance with a failed one's error, updated live, and a click that opens one module's
inspector under ``/modules/<i>/``, whose panels and buttons act on that module."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness, start_module
from esp_at_sim.web.control import FleetControlServer

from .browser_env import BROWSER_TESTS
from .conftest import OpenPage
from .pages import expect, screenshot

pytestmark = BROWSER_TESTS

TOKEN = "fleet-token-0815"
FAILED = "cannot use the flash file module-1.flash: not a flash image"
# The screenshot helper adds a style element, which the page's policy refuses.
SHOOTING = {"bypass_csp": True} if os.environ.get("UPDATE_SCREENSHOTS") == "1" else {}


@dataclass
class Fleet:
    modules: list[Module]
    harnesses: list[AtHarness]
    control: FleetControlServer


@pytest_asyncio.fixture(loop_scope="session")
async def fleet() -> AsyncIterator[Fleet]:
    """Three modules at time scale 0: 0 and 2 running (with a flash), 1 failed."""
    first, first_at = await start_module(with_flash=True)
    third, third_at = await start_module(with_flash=True)
    control = FleetControlServer([first, None, third], TOKEN)
    control.failed(1, FAILED)
    await control.start("127.0.0.1", 0)
    yield Fleet([first, third], [first_at, third_at], control)
    await control.close()
    for module in (first, third):
        await module.close()


async def test_the_list_shows_every_module_and_follows_them(
    fleet: Fleet, open_page: OpenPage
) -> None:
    page = await open_page(fleet.control.url, **SHOOTING)
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    rows = page.locator("#fleet-rows tr")
    await expect(rows).to_have_count(3)
    await expect(page.locator("#fleet-summary")).to_have_text(
        "3 modules: 2 running, 0 starting, 1 failed"
    )
    failed = page.locator("#fleet-rows tr[data-index='1']")
    await expect(failed).to_have_attribute("data-state", "failed")
    await expect(failed).to_contain_text(FAILED)
    running = page.locator("#fleet-rows tr[data-index='2'] td")
    await expect(running.nth(1)).to_have_text("running")
    await expect(running.nth(2)).to_contain_text("ota_0")
    await expect(running.nth(4)).to_have_text("–")
    # Module 2 joins: its row follows without a reload.
    await fleet.harnesses[1].cmd('AT+CWJAP="HomeNet","sunflower42"')
    await expect(running.nth(4)).to_have_text("192.168.1.23")
    await expect(page.locator("#fleet-rows tr[data-index='0'] td").nth(4)).to_have_text("–")
    # The filter keeps the rows that match.
    await page.fill("#fleet-filter", "failed")
    await expect(page.locator("#fleet-rows tr:visible")).to_have_count(1)
    await page.fill("#fleet-filter", "")
    await screenshot(page, "inspector-fleet")
    # In Chinese.
    await page.click("#lang")
    await expect(page.locator("h1")).to_have_text("模组集群")
    await expect(running.nth(1)).to_have_text("运行中")
    await expect(failed.locator("td").nth(1)).to_have_text("失败")
    await page.click("#lang")


async def test_a_click_opens_the_modules_inspector(fleet: Fleet, open_page: OpenPage) -> None:
    first, first_at = fleet.modules[0], fleet.harnesses[0]
    await first_at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    page = await open_page(fleet.control.url)
    await page.click("#fleet-rows tr[data-index='0'] td >> nth=2")
    await expect(page).to_have_url(f"{fleet.control.base}/modules/0/#token={TOKEN}")
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    await expect(page.locator("#which")).to_have_text("#0")
    panel = page.locator("#module")
    await expect(panel.locator("[data-k=station]")).to_have_text("GOT_IP")
    await expect(panel.locator("[data-k=firmware]")).to_contain_text("ota_0")
    # The flash map counts from when the module's page was first opened.
    await expect(page.locator("#flash-legend")).to_contain_text("first opened")
    # A fault button acts on module 0 only, and its traffic shows it.
    await page.click("#faults button[data-fault=drop_link]")
    await expect(page.locator("#at-log li.urc").filter(has_text="WIFI DISCONNECT")).to_have_count(1)
    await expect(page.locator("#timeline")).to_contain_text("drop_link")
    assert fleet.modules[1].wifi.station_ip() is None  # never joined, untouched
    assert b"WIFI DISCONNECT" not in fleet.harnesses[1].received
    # A line typed in the page goes to module 0's AT port.
    await page.fill("#at-line", "AT+CWMODE?")
    await page.press("#at-line", "Enter")
    await expect(page.locator("#at-answer")).to_have_text("+CWMODE:1\nOK")
    assert b"+CWMODE:1\r\n" in first_at.received
    assert first.wifi.mode == 1
    # Back to the list.
    await page.click("#fleet-link")
    await expect(page.locator("#fleet-rows tr")).to_have_count(3)


async def test_a_failed_modules_page_says_so(fleet: Fleet, open_page: OpenPage) -> None:
    page = await open_page(f"{fleet.control.base}/modules/1/#token={TOKEN}")
    await expect(page.locator("#which")).to_have_text("#1")
    await expect(page.locator("#link")).to_have_attribute("data-state", "off")
    await expect(page.locator("#problem")).to_contain_text(FAILED)


async def test_the_list_on_a_phone(fleet: Fleet, open_page: OpenPage) -> None:
    page = await open_page(
        fleet.control.url, locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    await expect(page.locator("h1")).to_have_text("模组集群")
    await expect(page.locator("#fleet-rows tr")).to_have_count(3)
    # The table scrolls inside its panel; the page itself never sideways.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
