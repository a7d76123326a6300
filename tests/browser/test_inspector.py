"""The inspector page of the control API, in Chromium: live state, AT traffic, a line
typed in the page answered there, fault buttons, both languages and a phone's width."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from esp_at_sim.device.module import Module
from esp_at_sim.radio.network import RouteControl, network_of
from esp_at_sim.testing import AtHarness, start_module
from esp_at_sim.web.control import ControlServer
from esp_at_sim.web.inspector import STREAM_BATCH

from .browser_env import BROWSER_TESTS
from .conftest import OpenPage
from .pages import expect, screenshot

pytestmark = BROWSER_TESTS

TOKEN = "inspector-token-4711"
# The screenshot helper adds a style element, which the page's policy refuses.
SHOOTING = {"bypass_csp": True} if os.environ.get("UPDATE_SCREENSHOTS") == "1" else {}


@dataclass
class Inspected:
    module: Module
    at: AtHarness
    control: ControlServer

    @property
    def url(self) -> str:
        return self.control.url


@pytest_asyncio.fixture(loop_scope="session")
async def inspected(tmp_path: Path) -> AsyncIterator[Inspected]:
    module, at = await start_module(flash=tmp_path / "flash.bin", time_scale=0)
    control = ControlServer(module, TOKEN)
    await control.start("127.0.0.1", 0)
    yield Inspected(module, at, control)
    await control.close()
    await module.close()


async def test_the_module_panel_follows_the_module(
    inspected: Inspected, open_page: OpenPage, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = await open_page(inspected.url)
    panel = page.locator("#module")
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    await expect(panel.locator("[data-k=chip]")).to_contain_text("esp32")
    await expect(panel.locator("[data-k=firmware]")).to_contain_text("ota_0")
    await expect(panel.locator("[data-k=station]")).to_have_text("IDLE")
    await expect(panel.locator("[data-k=time_scale]")).to_contain_text("0")
    # The host joins: the page follows without a reload.
    await inspected.at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    await expect(panel.locator("[data-k=station]")).to_have_text("GOT_IP")
    await expect(panel.locator("[data-k=station_ap]")).to_contain_text("HomeNet")
    await expect(panel.locator("[data-k=station_ip]")).to_have_text("192.168.1.23")
    await expect(panel.locator("[data-k=rssi]")).to_contain_text("dBm")
    # The traffic panel shows the host's line, masked, and the URCs marked.
    log = page.locator("#at-log")
    await expect(log.locator("li.in")).to_contain_text(['AT+CWJAP="HomeNet",***'])
    await expect(log.locator("li.urc").first).to_contain_text("WIFI CONNECTED")
    assert "sunflower42" not in await log.inner_text()
    await expect(page.locator("#world")).to_contain_text("HomeNet")
    # The flash map: partitions drawn, the settings written since start shaded, NVS
    # passwords masked until asked.
    await expect(page.locator("#flash-bar [data-part=ota_1]")).to_be_visible()
    await expect(page.locator("#flash-bar .written")).not_to_have_count(0)
    await expect(page.locator("#flash-tables")).to_contain_text("***")
    assert "sunflower42" not in await page.locator("#flash-tables").inner_text()
    await page.check("#show-secrets")
    await expect(page.locator("#flash-tables")).to_contain_text("sunflower42")
    await page.uncheck("#show-secrets")
    await expect(page.locator("#flash-tables")).not_to_contain_text("sunflower42")
    # The token is in no log line of the server.
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


async def test_a_line_typed_in_the_page_is_answered_there(
    inspected: Inspected, open_page: OpenPage
) -> None:
    page = await open_page(inspected.url)
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    await page.fill("#at-line", "AT+CWMODE?")
    await page.press("#at-line", "Enter")
    await expect(page.locator("#at-answer")).to_have_text("+CWMODE:1\nOK")
    await expect(page.locator("#at-log li.in .text").last).to_have_text("AT+CWMODE?")
    # What the page sends reaches the host's port as well, as any line on the UART.
    assert b"+CWMODE:1\r\n" in inspected.at.received
    await page.fill("#at-line", "AT+NOSUCH")
    await page.press("#at-line", "Enter")
    await expect(page.locator("#at-answer")).to_have_text("ERROR")
    # The filter hides what does not match.
    await page.fill("#at-filter", "CWMODE")
    await expect(page.locator("#at-log li:visible")).not_to_have_count(0)
    for text in await page.locator("#at-log li:visible").all_inner_texts():
        assert "CWMODE" in text


async def test_drop_link_button_shows_wifi_disconnect(
    inspected: Inspected, open_page: OpenPage
) -> None:
    await inspected.at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    page = await open_page(inspected.url)
    await expect(page.locator("#module [data-k=station]")).to_have_text("GOT_IP")
    await page.click("#faults button[data-fault=drop_link]")
    await expect(page.locator("#at-log li.urc").filter(has_text="WIFI DISCONNECT")).to_have_count(1)
    await expect(page.locator("#timeline")).to_contain_text("drop_link")
    # An AP's button: it vanishes from the air, and the world panel says so.
    await page.click("#faults [data-ap=HomeNet] button[data-fault=vanish]")
    await expect(page.locator("#fault-result")).to_contain_text("vanish")
    await expect(page.locator("#world tr").filter(has_text="HomeNet")).to_contain_text("gone")
    # The station now retries for ever, a flood of events at time scale 0 that the page
    # survives. The host stops it; a flood of known events then shows the newest and
    # a line that counts the rest.
    await inspected.at.cmd("AT+CWQAP")
    for i in range(STREAM_BATCH * 2):
        inspected.module.emit("test.flood", i=i)
    await expect(page.locator("#timeline li.skipped").last).to_contain_text("not shown")
    await expect(page.locator("#timeline")).to_contain_text(f"i={STREAM_BATCH * 2 - 1}")


@contextlib.asynccontextmanager
async def answering_server(answer: bytes) -> AsyncIterator[int]:
    """A loopback TCP server that answers each chunk it gets with ``answer``; its port."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_the_data_planes_connections_show_live(
    inspected: Inspected, open_page: OpenPage
) -> None:
    at = inspected.at
    async with answering_server(b"pong!!") as port:
        network = network_of(inspected.module.radio)
        assert isinstance(network, RouteControl)
        address = network.add_route("api.example.com", 8080, ("127.0.0.1", port))
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        page = await open_page(inspected.url, **SHOOTING)
        connections = page.locator("#connections")
        await expect(connections).to_contain_text("No connections.")
        start = 'AT+CIPSTART="TCP","api.example.com",8080'
        assert (await at.cmd(start)).endswith(b"CONNECT\r\n\r\nOK\r\n")
        at.port.feed(b"AT+CIPSEND=4\r\n")
        await at.wait_for(b">")
        at.port.feed(b"ping")
        await at.wait_for(b"+IPD,6:pong!!")
        row = connections.locator("tr[data-link='0'] td")
        await expect(row).to_have_text(["0", "TCP", f"{address}:8080", "open", "4", "6"])
        await screenshot(page, "inspector", full_page=True)
        # The same in Chinese.
        await page.click("#lang")
        await expect(connections.locator("h3")).to_have_text("连接")
        await expect(row.nth(3)).to_have_text("已连接")
        await page.click("#lang")
        # CLOSED ends it: the row goes.
        assert (await at.cmd("AT+CIPCLOSE")).endswith(b"CLOSED\r\n\r\nOK\r\n")
        await expect(connections.locator("tr[data-link]")).to_have_count(0)
        await expect(connections).to_contain_text("No connections.")


async def test_every_string_is_in_both_languages(inspected: Inspected, open_page: OpenPage) -> None:
    page = await open_page(inspected.url)
    keys = await page.evaluate(
        "[Object.keys(INSPECTOR_STRINGS.en).sort(), Object.keys(INSPECTOR_STRINGS.zh).sort()]"
    )
    assert keys[0] == keys[1]


async def test_chinese_on_a_phone(inspected: Inspected, open_page: OpenPage) -> None:
    page = await open_page(
        inspected.url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        **SHOOTING,
    )
    await expect(page.locator("h1")).to_have_text("模组检查器")
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    await expect(page.locator("#module dt").first).to_have_text("芯片")
    # Nothing wider than the screen: no sideways scrolling.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await page.click("#lang")
    await expect(page.locator("h1")).to_have_text("Module inspector")
    await screenshot(page, "inspector-phone")


async def test_without_the_token_the_page_says_how_to_get_it(
    inspected: Inspected, open_page: OpenPage
) -> None:
    page = await open_page(inspected.control.base + "/")
    await expect(page.locator("#no-token")).to_be_visible()
    await expect(page.locator("#link")).to_have_attribute("data-state", "off")
