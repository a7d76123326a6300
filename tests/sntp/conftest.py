"""A tiny SNTP server on loopback (packets by ntplib) and a module routed to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import cast

import ntplib

from esp_at_sim.device.module import Module
from esp_at_sim.radio.netconfig import NetConfig
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import AtHarness, start_module

TIME_IP = "203.0.113.20"  # time.example.com
DEAD_IP = "203.0.113.21"  # dead.example.com: routed to a port where nobody answers
OCT_19_2021 = 1634636876.25  # Tue Oct 19 09:47:56 2021 UTC (the manual's example time)


@dataclass
class NtpServer:
    port: int
    unix_time: float = OCT_19_2021
    stratum: int = 2
    requests: list[bytes] = field(default_factory=list)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: NtpServer) -> None:
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.requests.append(data)
        ntplib.NTPPacket().from_data(data)  # a well-formed request, or this raises
        reply = ntplib.NTPPacket(
            version=4, mode=4, tx_timestamp=ntplib.system_to_ntp_time(self.server.unix_time)
        )
        reply.stratum = self.server.stratum
        self.transport.sendto(reply.to_data(), addr)


@contextlib.asynccontextmanager
async def ntp_server() -> AsyncIterator[NtpServer]:
    loop = asyncio.get_running_loop()
    record = NtpServer(0)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Protocol(record), local_addr=("127.0.0.1", 0)
    )
    record.port = transport.get_extra_info("sockname")[1]
    try:
        yield record
    finally:
        transport.close()


async def sntp_module(
    server: NtpServer, *, time_scale: float = 0, join: bool = True
) -> tuple[Module, AtHarness]:
    net = NetConfig.from_table(
        {
            "hosts": {"time.example.com": TIME_IP, "dead.example.com": DEAD_IP},
            "routes": {
                f"{TIME_IP}:123": f"127.0.0.1:{server.port}",
                f"{DEAD_IP}:123": "127.0.0.1:9",  # discard: nothing answers
            },
        }
    )
    module, at = await start_module(
        replace(default_scenario(), net=net), time_scale=time_scale, with_flash=True
    )
    if join:
        out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        assert out.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
    return module, at
