"""The module behind the page: the default scenario at time scale 0, its real web server
(``esp_at_sim.web``) and its firmware in a flash file, with what the tests do to it."""

from __future__ import annotations

import socket
from pathlib import Path

from esp_at_sim.scenario import ApConfig
from esp_at_sim.testing import start_module
from esp_at_sim.web import WebConfig, install_web

REASONS = ("wrong_password", "not_found", "no_ip", "timeout")
START = "AT+WEBSERVER=1,80,25"


def free_port() -> int:
    """A loopback port free now (the server must keep its port across AT+RST, so that
    the page can be reloaded at the same address)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebModule:
    """A module of the default scenario (HomeNet / sunflower42) with its web server,
    running the firmware in a flash file: an update is booted by AT+RST."""

    async def start(
        self, flash_path: Path, *, time_scale: float = 0, start: str = START
    ) -> WebModule:
        self.start_line = start
        self.module, self.at = await start_module(flash=flash_path, time_scale=time_scale)
        self.port = free_port()
        config = WebConfig(port_map={80: self.port, 53: 0}, announce=lambda line: None)
        self.server = install_web(self.module, config)
        await self._serve()
        self.base = f"http://127.0.0.1:{self.port}/"
        return self

    async def _serve(self) -> None:
        assert (await self.at.cmd("AT+CWMODE=3")).endswith(b"OK\r\n")
        assert (await self.at.cmd(self.start_line)).endswith(b"OK\r\n")

    async def close(self) -> None:
        await self.module.close()

    def urcs(self) -> list[str]:
        """The ``+WEBSERVERRSP`` lines the module printed so far."""
        lines = bytes(self.at.received).decode("latin-1").split("\r\n")
        return [line for line in lines if line.startswith("+WEBSERVERRSP")]

    async def failing(self, reason: str) -> tuple[str, str]:
        """Set up the air so that provisioning fails for ``reason``; returns the SSID
        and password to type."""
        radio = self.module.radio
        if reason == "wrong_password":
            return "HomeNet", "not-the-password"
        if reason == "not_found":
            return "NoSuchNetwork", "whatever1"
        if reason == "no_ip":
            radio.stall_dhcp("HomeNet")  # type: ignore[attr-defined]
            return "HomeNet", "sunflower42"
        assert reason == "timeout"
        # An AP that takes longer to associate than the 25 s connection_timeout.
        slow = ApConfig.create("SlowNet", "slowpass1", index=9, rssi=-60, assoc_delay=100)
        radio.add_ap(slow)  # type: ignore[attr-defined]
        return "SlowNet", "slowpass1"

    async def restart(self) -> None:
        """``AT+RST``, then the web server again at the same address."""
        self.at.take()
        self.module.feed(b"AT+RST\r\n")
        await self.at.wait_for(b"\r\nready\r\n")
        await self._serve()

    def running_version(self) -> str:
        firmware = self.module.firmware
        assert firmware is not None and firmware.running is not None
        return firmware.running.version
