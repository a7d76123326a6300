"""AT+PING on the sandboxed network, and the answers of a module built without IPv6."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.commands.tcpip_ping import PING_TIMEOUT
from esp_at_sim.testing import AtHarness

from .conftest import API, UDP, UNROUTED, Servers, joined_module


async def test_routed_hosts_answer_with_the_route_latency(servers: Servers) -> None:
    module, at = await joined_module(servers, latency=0.0125)
    try:
        start = module.clock.now()
        assert await at.cmd('AT+PING="api.example.com"') == (
            b'AT+PING="api.example.com"\r\n+PING:25\r\n\r\nOK\r\n'
        )
        assert module.clock.now() - start == pytest.approx(0.025)
        assert (await at.cmd(f'AT+PING="{UDP}"')).endswith(b"\r\n+PING:25\r\n\r\nOK\r\n")
        gateway = module.wifi.station_ip()
        assert gateway is not None
        assert (await at.cmd(f'AT+PING="{gateway.gateway}"')).endswith(b"+PING:25\r\n\r\nOK\r\n")
    finally:
        await module.close()


async def test_zero_latency_answers_zero(net: AtHarness) -> None:
    assert await net.cmd(f'AT+PING="{API}"') == f'AT+PING="{API}"\r\n+PING:0\r\n\r\nOK\r\n'.encode()


async def test_unanswered_pings_time_out(net: AtHarness) -> None:
    at = net
    clock = at.module.clock
    start = clock.now()
    assert await at.cmd(f'AT+PING="{UNROUTED}"') == (
        f'AT+PING="{UNROUTED}"\r\n+PING:TIMEOUT\r\n\r\nERROR\r\n'.encode()
    )
    assert clock.now() - start >= PING_TIMEOUT
    # a name that does not resolve, and an IPv6 literal (no IPv6 here): at once
    for host in ("nowhere.example.com", "240c::6666"):
        start = clock.now()
        out = await at.cmd(f'AT+PING="{host}"')
        assert out.endswith(b"\r\n+PING:TIMEOUT\r\n\r\nERROR\r\n"), host
        assert clock.now() == start
    at.module.faults.blackhole(API)
    assert (await at.cmd(f'AT+PING="{API}"')).endswith(b"+PING:TIMEOUT\r\n\r\nERROR\r\n")
    await at.cmd("AT+SYSLOG=1")
    assert (await at.cmd(f'AT+PING="{API}"')).endswith(
        b"+PING:TIMEOUT\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n"
    )
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_no_internet_reaches_only_the_gateway(servers: Servers) -> None:
    module, at = await joined_module(servers, internet=False)
    try:
        assert (await at.cmd(f'AT+PING="{API}"')).endswith(b"+PING:TIMEOUT\r\n\r\nERROR\r\n")
        station = module.wifi.station_ip()
        assert station is not None
        assert (await at.cmd(f'AT+PING="{station.gateway}"')).endswith(b"+PING:0\r\n\r\nOK\r\n")
    finally:
        await module.close()


async def test_ping_without_an_address_times_out(at: AtHarness) -> None:
    assert await at.cmd(f'AT+PING="{API}"') == (
        f'AT+PING="{API}"\r\n+PING:TIMEOUT\r\n\r\nERROR\r\n'.encode()
    )


async def test_ping_bad_input(at: AtHarness) -> None:
    for bad in ("AT+PING", "AT+PING?", 'AT+PING=""', "AT+PING=1", 'AT+PING="a","b"'):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    long = "a" * 65
    assert (await at.cmd(f'AT+PING="{long}"')).endswith(b"\r\nERROR\r\n")


async def test_a_module_without_ipv6(net: AtHarness) -> None:
    at = net
    await at.cmd("AT+SYSLOG=1")
    for line in ("AT+CIPV6?", "AT+CIPV6=1", "AT+CIPV6=0", "AT+CIPV6=?"):
        assert await at.cmd(line) == f"{line}\r\nERR CODE:0x01090000\r\n\r\nERROR\r\n".encode()
    for line in (
        'AT+CIPSTART="TCPv6","api.example.com",80',
        'AT+CIPSTART="UDPv6","time.example.com",123',
        'AT+CIPDOMAIN="api.example.com",3',
    ):
        assert (await at.cmd(line)).endswith(b"ERR CODE:0x010a0000\r\n\r\nERROR\r\n"), line
    await at.cmd("AT+CIPMUX=1")
    assert (await at.cmd('AT+CIPSERVER=1,80,"TCPv6"')).endswith(
        b"ERR CODE:0x010a0000\r\n\r\nERROR\r\n"
    )
    assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"


@settings(max_examples=15, deadline=None)
@given(latency=st.floats(min_value=0, max_value=2.0, allow_nan=False))
def test_ping_time_is_twice_the_latency_in_ms(latency: float) -> None:
    import asyncio

    from .conftest import echo_servers

    async def scenario() -> bytes:
        async with echo_servers() as running:
            module, at = await joined_module(running, latency=latency)
            try:
                return await at.cmd(f'AT+PING="{API}"')
            finally:
                await module.close()

    out = asyncio.run(scenario())
    assert out.endswith(f"\r\n+PING:{round(2 * latency * 1000)}\r\n\r\nOK\r\n".encode())
