"""A module at time scale 0 driven over its byte interface, and the scenario of these tests."""

from __future__ import annotations

import asyncio

from esp_at_sim.commands import build_table
from esp_at_sim.core.clock import Clock
from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.device.module import Module
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.radio.world import ModuleConfig
from esp_at_sim.scenario import Scenario, parse_scenario

FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n")
TURNS = 20_000  # event-loop turns to wait for an answer (no real time passes at scale 0)
SSID_32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ODD_SSID = 'a"b,c\\d'  # a quote, a comma and a backslash
UTF8_SSID = "Café☕"

SCENARIO = f"""
[module]
sta_mac = "24:0a:c4:12:34:56"

[[ap]]
ssid = "Lab"
password = "pass1234"
channel = 6
rssi = -40
bssid = "aa:bb:cc:00:00:01"
ip = "192.168.50.23"
gateway = "192.168.50.1"

[[ap]]
ssid = "Cafe"
auth = "OPEN"
channel = 1
rssi = -70
bssid = "aa:bb:cc:00:00:02"

[[ap]]
ssid = "Slow"
password = "slowpass1"
channel = 11
rssi = -60
bssid = "aa:bb:cc:00:00:03"
assoc_delay = 30

[[ap]]
ssid = "NoDhcp"
password = "nodhcp123"
channel = 3
rssi = -65
bssid = "aa:bb:cc:00:00:04"
no_ip = true

[[ap]]
ssid = "Picky"
password = "picky1234"
channel = 4
rssi = -55
bssid = "aa:bb:cc:00:00:05"
refuse_first = 1

[[ap]]
ssid = "Hidden"
password = "hidden123"
auth = "WPA_WPA2_PSK"
channel = 9
rssi = -50
bssid = "aa:bb:cc:00:00:06"
hidden = true

[[ap]]
ssid = '{ODD_SSID}'
password = "quote1234"
channel = 2
rssi = -80
bssid = "aa:bb:cc:00:00:07"

[[ap]]
ssid = "{UTF8_SSID}"
auth = "OPEN"
channel = 5
rssi = -75
bssid = "aa:bb:cc:00:00:08"

[[ap]]
ssid = "{SSID_32}"
password = "long1234"
channel = 7
rssi = -85
bssid = "aa:bb:cc:00:00:09"

[[ap]]
ssid = "Modern"
password = "modern123"
auth = "WPA3_PSK"
channel = 12
rssi = -66
bssid = "aa:bb:cc:00:00:0a"

[[phone]]
mac = "f2:11:22:33:44:55"

[[phone]]
mac = "f2:11:22:33:44:66"
"""


def scenario(extra: str = "") -> Scenario:
    return parse_scenario(SCENARIO + extra, "wifi-tests.toml")


class At:
    """Feeds AT lines to a module and collects exactly the bytes it transmits."""

    def __init__(self, module: Module, radio: SimRadio) -> None:
        self.module = module
        self.radio = radio
        self.out = bytearray()
        self.mark = 0
        module.set_output(self.out.extend)

    def take(self) -> bytes:
        data = bytes(self.out[self.mark :])
        self.mark = len(self.out)
        return data

    async def wait_for(self, *patterns: bytes) -> bytes:
        """Everything since the last mark up to the first of ``patterns``."""
        for _ in range(TURNS):
            tail = bytes(self.out[self.mark :])
            hits = [(tail.find(p) + len(p), p) for p in patterns if p in tail]
            if hits:
                end = self.mark + min(hits)[0]
                data = bytes(self.out[self.mark : end])
                self.mark = end
                return data
            await asyncio.sleep(0)
        raise AssertionError(f"none of {patterns!r} came; got {bytes(self.out[self.mark :])!r}")

    def send(self, line: str | bytes) -> None:
        self.module.feed((line.encode() if isinstance(line, str) else line) + b"\r\n")

    async def cmd(self, line: str | bytes) -> bytes:
        """Send a line and return the output up to its final result."""
        self.send(line)
        return await self.wait_for(*FINALS)

    async def cmd_urcs(self, line: str | bytes) -> bytes:
        """Like :meth:`cmd`, with the URCs that went out right behind the final result."""
        return await self.cmd(line) + self.take()

    async def ok(self, line: str | bytes) -> bytes:
        """Send a line that must succeed; the output without echo and final OK."""
        out = await self.cmd(line)
        echo = (line.encode() if isinstance(line, str) else line) + b"\r\n"
        assert out.startswith(echo) and out.endswith(b"\r\nOK\r\n"), out
        return out[len(echo) : -len(b"\r\nOK\r\n")]

    async def error(self, line: str | bytes) -> None:
        """Send a line that must fail with a bare ERROR."""
        out = await self.cmd(line)
        echo = (line.encode() if isinstance(line, str) else line) + b"\r\n"
        assert out == echo + b"\r\nERROR\r\n", out

    async def later(self, seconds: float) -> bytes:
        """Let ``seconds`` of simulated time pass; what the module sent meanwhile."""
        await self.module.clock.sleep(seconds)
        for _ in range(50):
            await asyncio.sleep(0)
        return self.take()

    async def reboot(self) -> None:
        """AT+RST and wait for ``ready``."""
        assert await self.cmd("AT+RST") == b"AT+RST\r\n\r\nOK\r\n"
        assert await self.wait_for(b"ready\r\n") == b"\r\nready\r\n"


async def boot(source: Scenario | None = None, store: MemorySettingsStore | None = None) -> At:
    world = source or scenario()
    clock = Clock(scale=0)
    radio = SimRadio(world, clock)
    identity = ModuleConfig(sta_mac=world.module.sta_mac, ap_mac=world.module.ap_mac)
    module = Module(radio=radio, clock=clock, table=build_table(), identity=identity, store=store)
    at = At(module, radio)
    await module.start()
    assert at.take() == b"\r\nready\r\n"
    return at
