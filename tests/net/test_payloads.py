"""Random payloads, fed to the AT port in random pieces, come back intact through
AT+CIPSEND, ``+IPD`` and passive reads."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness

from .conftest import echo_servers, joined_module

PAYLOAD = st.binary(min_size=1, max_size=3000)
CUTS = st.lists(st.integers(min_value=0, max_value=3000), max_size=6)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(test: Callable[[Module, AtHarness], Awaitable[None]]) -> None:
    async def main() -> None:
        async with echo_servers() as servers:
            module, at = await joined_module(servers)
            try:
                await test(module, at)
            finally:
                await module.close()

    asyncio.run(main())


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


async def send_in_pieces(at: AtHarness, command: str, data: bytes, cuts: list[int]) -> None:
    at.port.feed(command.encode() + b"\r\n")
    await at.wait_for(b">")
    for piece in pieces(data, cuts):
        at.port.feed(piece)
        await asyncio.sleep(0)
    await at.wait_for(b"SEND OK\r\n")


@SETTINGS
@given(PAYLOAD, CUTS, st.booleans())
def test_active_receive_round_trip(payload: bytes, cuts: list[int], mux: bool) -> None:
    async def body(module: Module, at: AtHarness) -> None:
        link = "0," if mux else ""
        if mux:
            await at.cmd("AT+CIPMUX=1")
        await at.cmd(f'AT+CIPSTART={link}"TCP","api.example.com",80')
        await send_in_pieces(at, f"AT+CIPSEND={link}{len(payload)}", payload, cuts)
        got = bytearray()
        while len(got) < len(payload):
            head = await at.wait_for(b":")
            size = int(head.rsplit(b",", 1)[-1][:-1])
            for _ in range(20_000):
                if len(at.received) - at.mark >= size:
                    break
                await asyncio.sleep(0)
            got += at.received[at.mark : at.mark + size]
            at.mark += size
        assert bytes(got) == payload

    run(body)


@SETTINGS
@given(PAYLOAD, CUTS, st.integers(min_value=1, max_value=4000))
def test_passive_receive_round_trip(payload: bytes, cuts: list[int], chunk: int) -> None:
    async def body(module: Module, at: AtHarness) -> None:
        await at.cmd("AT+CIPRECVMODE=1")
        await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
        await send_in_pieces(at, f"AT+CIPSEND={len(payload)}", payload, cuts)
        got = bytearray()
        for _ in range(200):
            if len(got) >= len(payload):
                break
            await at.settle(50)
            # the data may hold "\r\nOK\r\n" itself: read the header, then exactly
            # the announced bytes, then the final result
            at.port.feed(f"AT+CIPRECVDATA={chunk}\r\n".encode())
            head = await at.wait_for(b"+CIPRECVDATA:", b"\r\nERROR\r\n")
            if head.endswith(b"\r\nERROR\r\n"):
                continue
            size = int((await at.wait_for(b","))[:-1])
            for _ in range(20_000):
                if len(at.received) - at.mark >= size:
                    break
                await asyncio.sleep(0)
            got += at.received[at.mark : at.mark + size]
            at.mark += size
            assert await at.wait_for(b"\r\nOK\r\n") == b"\r\nOK\r\n"
        assert bytes(got) == payload

    run(body)
