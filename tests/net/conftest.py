"""A module joined to HomeNet whose network routes names to loopback servers the tests
start (TCP echo, UDP echo)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import cast

import pytest

from esp_at_sim.device.module import Module
from esp_at_sim.radio.netconfig import NetConfig
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

API = "203.0.113.10"  # where api.example.com resolves, routed to the echo server
UDP = "203.0.113.20"  # routed to the UDP echo server
CLOSED_PORT = "203.0.113.30"  # routed to a port nobody listens on
UNROUTED = "198.51.100.7"


@dataclass
class Servers:
    tcp_port: int
    udp_port: int
    closed_port: int
    received: bytearray  # everything the TCP echo server received
    writers: list[asyncio.StreamWriter]


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    async with echo_servers() as running:
        yield running


@contextlib.asynccontextmanager
async def echo_servers() -> AsyncIterator[Servers]:
    """A TCP echo server, a UDP echo server and a port where nothing listens."""
    received = bytearray()
    writers: list[asyncio.StreamWriter] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while data := await reader.read(65536):
                received.extend(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    class UdpEcho(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.DatagramTransport, transport)

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(data, addr)

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=("127.0.0.1", 0))
    probe = await asyncio.start_server(echo, "127.0.0.1", 0)
    closed_port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    yield Servers(
        server.sockets[0].getsockname()[1],
        udp.get_extra_info("sockname")[1],
        closed_port,
        received,
        writers,
    )
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()
    udp.close()


def net_for(servers: Servers, **extra: object) -> NetConfig:
    return NetConfig.from_table(
        {
            "hosts": {"api.example.com": API, "time.example.com": UDP},
            "routes": {
                f"{API}:80": f"127.0.0.1:{servers.tcp_port}",
                UDP: f"127.0.0.1:{servers.udp_port}",
                CLOSED_PORT: f"127.0.0.1:{servers.closed_port}",
            },
            **extra,
        }
    )


async def joined_module(servers: Servers, **ap_options: object) -> tuple[Module, AtHarness]:
    base = default_scenario()
    aps = tuple(
        replace(ap, **ap_options) if ap.ssid == "HomeNet" else ap  # type: ignore[arg-type]
        for ap in base.aps
    )
    module, at = await start_module(replace(base, aps=aps, net=net_for(servers)))
    out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    assert out.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
    return module, at


@pytest.fixture
async def net(servers: Servers) -> AsyncIterator[AtHarness]:
    module, at = await joined_module(servers)
    yield at
    await module.close()
    await assert_no_tasks_left()
