"""Fixtures for the web server tests: a module in-process (time scale 0 unless asked),
its web server on ephemeral loopback ports, an HTTP client, and a clean shutdown that
leaves no task running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from esp_at_sim.scenario import Scenario
from esp_at_sim.testing import assert_no_tasks_left
from esp_at_sim.web import WebConfig, install_web
from esp_at_sim.web.ota_backend import OtaBackend

from .helpers import Web, boot_module

MakeWeb = Callable[..., Awaitable[Web]]


@pytest.fixture
async def make_web() -> AsyncIterator[MakeWeb]:
    """Start modules with a running web server (mode 3, ``AT+WEBSERVER=1,80,25``);
    everything is closed afterwards and no task may be left running."""
    made: list[Web] = []

    async def make(
        source: Scenario | None = None,
        *,
        scale: float = 0,
        backend: Callable[[], OtaBackend] | None = None,
        start: str = "AT+WEBSERVER=1,80,25",
        mode: int = 3,
        warm_up: bool = True,
        flash: Path | bool = False,
        **options: Any,
    ) -> Web:
        module, at = await boot_module(source, scale, flash=flash)
        lines: list[str] = []
        options.setdefault("port_map", {80: 0, 53: 0})
        config = WebConfig(announce=lines.append, **options)
        server = install_web(module, config, backend=backend)
        session = aiohttp.ClientSession()
        web = Web(module, at, server, session, lines)
        made.append(web)
        assert (await at.cmd(f"AT+CWMODE={mode}")).endswith(b"OK\r\n")
        if start:
            assert await at.cmd(start) == start.encode() + b"\r\n\r\nOK\r\n"
        if warm_up and start:
            # The first request makes a phone join the SoftAP: get its URCs out of the way.
            assert (await web.get("/getversion"))[0] == 200
            if mode in (2, 3):
                for _ in range(100):  # bounded: at most ~1 s of real time
                    if b"+DIST_STA_IP:" in at.received:
                        break
                    await asyncio.sleep(0.01 if scale else 0)
                await at.wait_for(b"+DIST_STA_IP:")
                await at.wait_for(b"\r\n")  # the rest of that line; no simulated time passes
        at.take()
        return web

    yield make
    for web in made:
        await web.session.close()
        await web.module.close()
    await assert_no_tasks_left()


@pytest.fixture
async def web(make_web: MakeWeb) -> Web:
    return await make_web()
