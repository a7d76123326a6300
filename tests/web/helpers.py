"""Helpers of the web server tests: the scenario, a module booted at any time scale, and
the :class:`Web` handle (module, AT harness, server, HTTP client)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from air import LONGEST_SSID, NO_DHCP, PHONES, SLOW, SSID_32, UTF8, UTF8_SSID, WPA3
from esp_at_sim.device.module import Module
from esp_at_sim.scenario import Scenario, parse_scenario
from esp_at_sim.testing import AtHarness, start_module
from esp_at_sim.web import WebServer

__all__ = ["CTRL_SSID", "ODD_SSID", "ROOT", "SSID_32", "UTF8_SSID", "Web", "scenario"]

ODD_SSID = 'a"b/c\\d&e'
CTRL_SSID = "Tab\tNet"

# The home scenario's router, plus APs for every failure and for the network list rules.
SCENARIO = f"""
[[ap]]
ssid = "HomeNet"
password = "sunflower42"
auth = "WPA2_PSK"
channel = 6
rssi = -42
bssid = "a4:2b:b0:5e:11:01"
ip = "192.168.1.23"
gateway = "192.168.1.1"

{NO_DHCP}
{SLOW}
[[ap]]
ssid = "Hidden"
password = "hidden123"
auth = "WPA_WPA2_PSK"
channel = 9
rssi = -44
bssid = "aa:bb:cc:00:00:06"
hidden = true

[[ap]]
ssid = '{ODD_SSID}'
password = "quote1234"
channel = 2
rssi = -80
bssid = "aa:bb:cc:00:00:07"
ip = "192.168.7.9"

{UTF8}
{LONGEST_SSID}
{WPA3}
[[ap]]
ssid = "Tab\\tNet"
auth = "OPEN"
channel = 4
rssi = -70
bssid = "aa:bb:cc:00:00:0b"

[[ap]]
ssid = "Office"
auth = "WPA2_ENTERPRISE"
channel = 1
rssi = -50
bssid = "aa:bb:cc:00:00:0c"

[[ap]]
ssid = "Weakest"
password = "weakest12"
channel = 8
rssi = -95
bssid = "aa:bb:cc:00:00:0d"

[[ap]]
ssid = "Weak"
password = "weak1234"
channel = 10
rssi = -90
bssid = "aa:bb:cc:00:00:0e"

[[ap]]
ssid = "Picky"
password = "picky1234"
channel = 13
rssi = -98
bssid = "aa:bb:cc:00:00:0f"
refuse_first = 1000

[[ap]]
ssid = "Moody"
password = "moody1234"
channel = 13
rssi = -99
bssid = "aa:bb:cc:00:00:10"
refuse_first = 2

{PHONES}"""


def scenario(text: str = SCENARIO) -> Scenario:
    return parse_scenario(text, "web-tests.toml")


@dataclass
class Web:
    """A module with its web server running, and an HTTP client for it."""

    module: Module
    at: AtHarness
    server: WebServer
    session: aiohttp.ClientSession
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server.url is not None
        return self.server.url

    def to(self, path: str) -> str:
        return self.url.rstrip("/") + path

    async def get(self, path: str, **kwargs: Any) -> tuple[int, bytes]:
        async with self.session.get(self.to(path), allow_redirects=False, **kwargs) as r:
            return r.status, await r.read()

    async def post(self, path: str, data: Any = None, **kwargs: Any) -> tuple[int, bytes]:
        async with self.session.post(self.to(path), data=data, **kwargs) as r:
            return r.status, await r.read()

    async def stainfo(self) -> dict[str, Any]:
        status, body = await self.get("/getstainfo")
        assert status == 200
        result: dict[str, Any] = json.loads(body)
        return result

    async def provision(self, ssid: str, password: str) -> tuple[int, bytes]:
        body = json.dumps({"ssid": ssid, "password": password}).encode()
        return await self.post("/setstainfo", body)

    async def outcome(self) -> dict[str, Any]:
        """Poll /getstainfo (as the page does) until the result is known."""
        for _ in range(400):
            info = await self.stainfo()
            if info["state"] != 0:
                return info
            await asyncio.sleep(0.005)
        raise AssertionError(f"provisioning never ended: {info}")


async def boot_module(
    source: Scenario | None = None, scale: float = 0, *, flash: Path | bool = False
) -> tuple[Module, AtHarness]:
    """A booted module; with ``flash`` it runs the firmware of a flash file (``True``: a
    temporary one), else it has no flash at all."""
    return await start_module(
        source or scenario(),
        time_scale=scale,
        flash=None if flash is True or flash is False else flash,
        with_flash=flash is not False,
    )


ROOT = Path(__file__).resolve().parents[2]


async def raw_request(
    port: int, data: bytes, *, close: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the server and read one response (bounded in time)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(read_response(reader), 5)
    finally:
        if close:
            writer.close()
            await writer.wait_closed()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body: status, headers, body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length)
    return status, headers, body
