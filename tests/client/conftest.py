"""Fixtures for the AT client: a simulated module in-process, reached by the client over
each link (``inproc``: function calls; ``pty``: pyserial on the PTY transport's slave;
``tcp``: asyncio streams to the TCP transport), and checks that nothing leaks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from esp_at_sim.client import AtClient
from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.scenario import Scenario, parse_scenario
from esp_at_sim.testing import assert_no_tasks_left
from esp_at_sim.transport import PtyTransport, TcpTransport, Transport, open_transport
from loopfds import open_fds, settle_loop_fds

KINDS = ("inproc", "pty", "tcp")
WAIT = 5.0  # the longest any single wait in these tests may take (seconds)


@dataclass
class Rig:
    """A booted module and a client connected to it (the client has seen ``ready``)."""

    kind: str
    module: Module
    client: AtClient
    transport: Transport | None


MakeRig = Callable[..., Awaitable[Rig]]


def scenario(extra: str) -> Scenario:
    """The home network plus the access points (TOML) in ``extra``."""
    base = """
[[ap]]
ssid = "HomeNet"
password = "sunflower42"
channel = 6
bssid = "a4:2b:b0:5e:11:01"
ip = "192.168.1.23"
gateway = "192.168.1.1"

[[phone]]
mac = "f2:11:22:33:44:55"
"""
    return parse_scenario(base + extra, "test.toml")


_fds = open_fds


async def _connect(kind: str, module: Module, options: dict[str, Any]) -> Rig:
    transport: Transport | None = None
    if kind == "inproc":
        client = await AtClient.open(module, **options)
    elif kind == "pty":
        transport = open_transport("pty")
        await transport.start(module)
        assert isinstance(transport, PtyTransport)
        client = await AtClient.open(transport.path, **options)
        await asyncio.wait_for(transport.wait_connected(), WAIT)
    elif kind in ("tcp", "socket"):  # socket: pyserial's socket:// URL, not asyncio streams
        transport = open_transport("tcp:127.0.0.1:0")
        await transport.start(module)
        assert isinstance(transport, TcpTransport)
        scheme = "tcp:" if kind == "tcp" else "socket://"
        client = await AtClient.open(f"{scheme}127.0.0.1:{transport.port}", **options)
        await asyncio.wait_for(transport.wait_connected(), WAIT)
    else:
        raise ValueError(kind)
    return Rig(kind, module, client, transport)


@pytest.fixture
async def make_rig() -> AsyncIterator[MakeRig]:
    """Start modules (time scale 0 unless ``scale`` is given) with clients on them."""
    await settle_loop_fds()
    fds, threads = _fds(), threading.active_count()
    rigs: list[Rig] = []

    async def make(
        kind: str = "inproc",
        source: Scenario | None = None,
        *,
        scale: float = 0,
        with_flash: bool = False,
        setup: Callable[[Module], None] | None = None,
        **options: Any,
    ) -> Rig:
        store = None if with_flash else MemorySettingsStore()
        module = create_module(source, time_scale=scale, with_flash=with_flash, store=store)
        if setup is not None:
            setup(module)
        rig = await _connect(kind, module, options)
        rigs.append(rig)
        await module.start()
        await rig.client.wait_urc("ready", WAIT)
        return rig

    yield make
    for rig in rigs:
        await rig.client.close()
        if rig.transport is not None:
            await rig.transport.close()
        await rig.module.close()
    for _ in range(10):  # aborted sockets close at the next loop turns
        await asyncio.sleep(0)
    await assert_no_tasks_left()
    assert threading.active_count() == threads, "threads left running"
    assert _fds() <= fds, f"fds left open: {_fds() - fds}"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each link kind in turn."""
    return str(request.param)


@pytest.fixture
async def rig(make_rig: MakeRig, kind: str) -> Rig:
    """The default module over each link kind."""
    return await make_rig(kind)


@pytest.fixture
async def client(make_rig: MakeRig) -> AtClient:
    """A client on the default module, in-process."""
    return (await make_rig()).client
