"""A module with its web server on ephemeral loopback ports (time scale 0), a phone on
its SoftAP, an HTTP client, the module's events, and a UDP listener playing the applet.

Shared by the applet tests and the ``provision``/``ota`` CLI tests. Every wait is bounded
in real time (:data:`WAIT`); the module's own waits run on its clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from esp_at_sim.core.events import Event
from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.scenario import Scenario, parse_scenario
from esp_at_sim.testing import AtHarness
from esp_at_sim.web import WebConfig, install_web
from web.helpers import Web

WAIT = 5.0  # real seconds any single wait of these tests may take
PHONE = "f2:11:22:33:44:55"
HOTSPOT_PASSWORD = "hotspot-1234"
SUCCESS_URCS = b"+WEBSERVERRSP:1\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n"
RESULT_TAKEN = b"+WEBSERVERRSP:2\r\n"

# The phone's hotspot: its BSSID differs from the phone's MAC in the first byte only.
HOTSPOT = f"""
[[ap]]
ssid = "Pixel-Hotspot"
password = "{HOTSPOT_PASSWORD}"
auth = "WPA2_PSK"
channel = 6
rssi = -45
bssid = "f6:11:22:33:44:55"
ip = "192.168.43.120"
gateway = "192.168.43.1"
"""
ROUTER = """
[[ap]]
ssid = "HomeNet"
password = "sunflower42"
auth = "WPA2_PSK"
channel = 1
rssi = -30
bssid = "a4:29:b0:5e:11:01"
ip = "192.168.1.23"
gateway = "192.168.1.1"
"""


def world(*aps: str, phones: tuple[str, ...] = (PHONE,)) -> Scenario:
    """A scenario of the given ``[[ap]]`` tables and phones."""
    text = "".join(aps) + "".join(f'\n[[phone]]\nmac = "{mac}"\n' for mac in phones)
    return parse_scenario(text, "applet-tests.toml")


@dataclass
class Rig(Web):
    """The web tests' handle, plus the module's events."""

    events: list[Event] = field(default_factory=list)

    async def post_credentials(
        self, ssid: str, password: str, udp_port: int | None = None
    ) -> tuple[int, bytes]:
        body = json.dumps({"ssid": ssid, "password": password}).encode()
        if udp_port is not None:
            body += b"&udp_port=%d" % udp_port
        async with self.session.post(self.to("/setstainfo"), data=body) as response:
            return response.status, await response.read()

    async def stainfo(self) -> dict[str, Any]:
        async with self.session.get(self.to("/getstainfo")) as response:
            assert response.status == 200
            info: dict[str, Any] = json.loads(await response.read())
            return info

    def applet(self, step: str | None = None) -> list[Event]:
        """The ``web.applet`` events so far (of one step)."""
        return [
            e
            for e in self.events
            if e.kind == "web.applet" and (step is None or e.data["step"] == step)
        ]

    def tries(self) -> list[tuple[str, str]]:
        """(rule, BSSID) of every try so far."""
        return [(e.data["rule"], e.data["bssid"]) for e in self.applet("try")]

    def state_times(self) -> dict[str, float]:
        return {e.data["state"]: e.t for e in self.events if e.kind == "web.provisioning"}

    async def until(self, test: Callable[[Event], bool]) -> Event:
        """Wait (bounded) for the first event, past or future, that passes ``test``."""
        for _ in range(int(WAIT / 0.001)):
            for event in self.events:
                if test(event):
                    return event
            await asyncio.sleep(0.001)
        raise AssertionError(f"no such event; last ones: {self.events[-5:]}")

    async def flow_done(self) -> Event:
        """The end of the applet flow: a failure, an acknowledgement or 20 rounds."""
        ends = {"acknowledged", "unacknowledged", "report_failed"}
        return await self.until(
            lambda e: (
                (e.kind == "web.applet" and e.data["step"] in ends)
                or (e.kind == "web.provisioning" and e.data["state"] == "CONNECT_FAIL")
            )
        )


async def open_rig(
    source: Scenario,
    *,
    timeout: int = 25,
    flash: bool = False,
    report_port: int = 0,
    scale: float = 0,
) -> Rig:
    """A booted module in mode 3 with ``AT+WEBSERVER=1,80,<timeout>`` and the phone on its
    SoftAP; its UDP port 3339 is host port ``report_port`` (0: a free one)."""
    module = create_module(
        source, time_scale=scale, with_flash=flash, store=None if flash else MemorySettingsStore()
    )
    at = AtHarness(module)
    config = WebConfig(
        port_map={80: 0, 53: 0, 3339: report_port}, captive_portal=False, announce=lambda _: None
    )
    rig = Rig(module, at, install_web(module, config), aiohttp.ClientSession())
    module.bus.subscribe(rig.events.append)
    await module.start()
    assert at.take() == b"\r\nready\r\n"
    assert (await at.cmd("AT+CWMODE=3")).endswith(b"OK\r\n")
    assert (await at.cmd(f"AT+WEBSERVER=1,80,{timeout}")).endswith(b"\r\nOK\r\n")
    async with rig.session.get(rig.to("/getversion")) as response:  # the phone joins
        assert response.status == 200
    await at.wait_for(b"+DIST_STA_IP:")
    await at.wait_for(b"\r\n")  # the rest of that line; no simulated time passes
    assert at.take() == b""
    return rig


async def close_rig(rig: Rig) -> None:
    await rig.session.close()
    await rig.module.close()


class Listener(asyncio.DatagramProtocol):
    """The applet's UDP socket: records every datagram with the module's clock time and
    answers with ``reply(n)`` for the n-th one (1-based; ``None``: no answer)."""

    def __init__(self, module: Module, reply: Callable[[int], bytes | None]) -> None:
        self.module = module
        self.reply = reply
        self.got: list[tuple[bytes, tuple[str, int], float]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.append((data, addr, self.module.clock.now()))
        answer = self.reply(len(self.got))
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)

    def error_received(self, exc: Exception) -> None:
        pass

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def listen(module: Module, reply: Callable[[int], bytes | None]) -> Listener:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: Listener(module, reply), local_addr=("127.0.0.1", 0)
    )
    return protocol


def ack_at(n: int) -> Callable[[int], bytes | None]:
    """Answer ``received`` to the n-th datagram only."""
    return lambda count: b"received" if count == n else None


def never(count: int) -> bytes | None:
    return None
