"""The Wi-Fi tests' scenario, and the harness of :mod:`esp_at_sim.testing` with the
assertions these tests repeat."""

from __future__ import annotations

from typing import cast

from air import LONGEST_SSID, NO_DHCP, PHONES, SLOW, SSID_32, UTF8, UTF8_SSID, WPA3
from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.scenario import Scenario, parse_scenario
from esp_at_sim.testing import AtHarness, start_module

__all__ = ["ODD_SSID", "SSID_32", "UTF8_SSID", "At", "boot", "scenario"]

ODD_SSID = 'a"b,c\\d'  # a quote, a comma and a backslash

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

{SLOW}
{NO_DHCP}
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

{UTF8}
{LONGEST_SSID}
{WPA3}
{PHONES}"""


def scenario(extra: str = "") -> Scenario:
    return parse_scenario(SCENARIO + extra, "wifi-tests.toml")


class At(AtHarness):
    """The module's AT port, with the assertions the Wi-Fi tests repeat."""

    @property
    def radio(self) -> SimRadio:
        return cast(SimRadio, self.module.radio)

    def send(self, line: str | bytes) -> None:
        self.port.feed((line.encode() if isinstance(line, str) else line) + b"\r\n")

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
        return await self.settle(seconds)

    async def reboot(self) -> None:
        """AT+RST and wait for ``ready``."""
        assert await self.cmd("AT+RST") == b"AT+RST\r\n\r\nOK\r\n"
        assert await self.wait_for(b"ready\r\n") == b"\r\nready\r\n"


async def boot(source: Scenario | None = None, store: MemorySettingsStore | None = None) -> At:
    """A module in ``source`` (default: :func:`scenario`) at time scale 0, booted."""
    module, _ = await start_module(source or scenario(), store)
    return At(module)
