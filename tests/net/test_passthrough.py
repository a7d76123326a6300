"""Passthrough: AT+CIPMODE, AT+CIPSEND alone, +++, AT+TRANSINTVL, AT+SAVETRANSLINK.

The module runs at time scale 0.1, so the 20 ms guard times of ``+++`` pass in 2 ms,
and the test waits on the module's clock. What the module must do after a pause is
awaited as an outcome (bounded), never assumed from the pause alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from esp_at_sim.core.events import Event
from esp_at_sim.device.module import Module
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

from .conftest import API, Servers, net_for

SCALE = 0.1
GUARD = 0.05  # simulated seconds of silence, more than the 20 ms guard


async def pt_module(servers: Servers) -> tuple[Module, AtHarness]:
    scenario = replace(default_scenario(), net=net_for(servers))
    module, at = await start_module(scenario, time_scale=SCALE)
    out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    assert out.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
    return module, at


@pytest.fixture
async def pt(servers: Servers) -> AsyncIterator[tuple[Module, AtHarness]]:
    module, at = await pt_module(servers)
    yield module, at
    await module.close()
    await assert_no_tasks_left()


async def received(servers: Servers, size: int) -> bytes:
    """What the echo server has received once it holds ``size`` bytes (bounded wait)."""
    for _ in range(2000):
        if len(servers.received) >= size:
            return bytes(servers.received)
        await asyncio.sleep(0.001)
    raise AssertionError(f"the server got {bytes(servers.received)!r}")


async def pause(module: Module, seconds: float = GUARD) -> None:
    await module.clock.sleep(seconds)


def tx_sizes(module: Module) -> list[int]:
    sizes: list[int] = []

    def on_event(event: Event) -> None:
        if event.kind == "net.tx":
            sizes.append(int(event.data["size"]))

    module.bus.subscribe(on_event)
    return sizes


async def enter(at: AtHarness) -> None:
    assert await at.cmd("AT+CIPMODE=1") == b"AT+CIPMODE=1\r\n\r\nOK\r\n"
    at.port.feed(b"AT+CIPSEND\r\n")
    assert await at.wait_for(b">") == b"AT+CIPSEND\r\n\r\nOK\r\n\r\n>"


async def leave(module: Module, at: AtHarness, echoed: bytes = b"") -> None:
    """``+++`` after the echo server's answer ending in ``echoed`` has come back."""
    if echoed:
        await at.wait_for(echoed)
    at.take()
    await pause(module)
    at.port.feed(b"+++")
    for _ in range(5000):  # the guard time after it passes
        if not module.passthrough.active:
            break
        await asyncio.sleep(0.001)
    assert not module.passthrough.active
    assert at.take() == b""  # +++ answers nothing
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_client_passthrough_both_ways(pt: tuple[Module, AtHarness], servers: Servers) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    assert await at.cmd("AT+CIPMODE?") == b"AT+CIPMODE?\r\n+CIPMODE:0\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPSEND")).endswith(b"\r\nERROR\r\n")  # needs AT+CIPMODE=1
    await enter(at)
    payload = b"AT\r\n+++ in the middle, and > too\r\n" + bytes(range(256))
    at.port.feed(payload)
    assert await received(servers, len(payload)) == payload
    # the echo comes back raw, no +IPD
    assert await at.wait_for(payload[-16:]) == payload
    await leave(module, at)
    assert bytes(servers.received) == payload  # +++ never reached the link
    assert await at.cmd("AT+CIPMODE?") == b"AT+CIPMODE?\r\n+CIPMODE:1\r\n\r\nOK\r\n"
    # passthrough receiving mode: what arrives is still raw
    servers.writers[0].write(b"late")
    assert await at.wait_for(b"late") == b"late"
    assert (await at.cmd("AT+CIPSEND=4")).endswith(b"\r\nERROR\r\n")
    assert (await at.cmd("AT+CIPMUX=1")).endswith(b"\r\nERROR\r\n")
    await at.cmd("AT+CIPMODE=0")
    servers.writers[0].write(b"back")
    assert await at.wait_for(b"+IPD,4:back") == b"\r\n+IPD,4:back"
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"


async def test_plus_signs_without_guard_times_are_data(
    pt: tuple[Module, AtHarness], servers: Servers
) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    await enter(at)
    at.port.feed(b"abc")
    at.port.feed(b"+++")  # no silence before it
    await pause(module)
    await pause(module)
    at.port.feed(b"++++")  # four
    await pause(module)
    at.port.feed(b"++")
    await pause(module)  # too long between the + characters
    at.port.feed(b"+")
    await pause(module)
    at.port.feed(b"+++")
    at.port.feed(b"z")  # no silence after it
    assert await received(servers, 17) == b"abc" + b"+" * 13 + b"z"
    at.port.feed(b"AT\r\n")  # still passthrough: a command line is data
    assert await received(servers, 21) == b"abc" + b"+" * 13 + b"zAT\r\n"
    await at.wait_for(b"zAT\r\n")  # the echo, raw
    await leave(module, at)


async def test_packets_of_2920_and_the_interval(
    pt: tuple[Module, AtHarness], servers: Servers
) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    assert await at.cmd("AT+TRANSINTVL?") == b"AT+TRANSINTVL?\r\n+TRANSINTVL:20\r\n\r\nOK\r\n"
    for bad in ("AT+TRANSINTVL=1001", "AT+TRANSINTVL=-1", 'AT+TRANSINTVL="5"'):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n")
    assert await at.cmd("AT+TRANSINTVL=1000") == b"AT+TRANSINTVL=1000\r\n\r\nOK\r\n"
    sizes = tx_sizes(module)
    await enter(at)
    at.port.feed(bytes(7000))
    await received(servers, 2 * 2920)
    assert sizes == [2920, 2920]  # the rest waits for 1 s of silence
    at.port.feed(b"x")
    await pause(module, 0.3)
    at.port.feed(b"y")  # the interval starts again
    await pause(module, 0.3)
    assert sizes == [2920, 2920]
    await received(servers, 7002)
    assert sizes == [2920, 2920, 1162]
    await leave(module, at, b"xy")


async def test_interval_zero_sends_each_chunk(
    pt: tuple[Module, AtHarness], servers: Servers
) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    await at.cmd("AT+TRANSINTVL=0")
    sizes = tx_sizes(module)
    await enter(at)
    for chunk in (b"a", b"bc", b"def"):
        at.port.feed(chunk)
    await received(servers, 6)
    assert sizes == [1, 2, 3]
    await leave(module, at, b"def")


async def test_passthrough_reconnects_to_the_same_remote(
    pt: tuple[Module, AtHarness], servers: Servers
) -> None:
    module, at = pt
    await at.cmd("AT+CIPRECONNINTV=5")
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    await enter(at)
    servers.writers[0].close()  # the remote goes away
    for _ in range(2000):
        if len(servers.writers) == 2:
            break
        await asyncio.sleep(0.001)
    assert len(servers.writers) == 2  # connected again
    at.port.feed(b"again")
    assert await received(servers, 5) == b"again"
    assert await at.wait_for(b"again") == b"again"  # the echo; no CLOSED, no CONNECT
    await leave(module, at)
    assert (await at.cmd("AT+CIPSTATE?")).startswith(
        f'AT+CIPSTATE?\r\n+CIPSTATE:0,"TCP","{API}",80'.encode()
    )


async def test_udp_passthrough_needs_mode_0(pt: tuple[Module, AtHarness]) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="UDP","time.example.com",123,1005,1')
    await at.cmd("AT+CIPMODE=1")
    assert (await at.cmd("AT+CIPSEND")).endswith(b"\r\nERROR\r\n")
    await at.cmd("AT+CIPMODE=0")
    await at.cmd("AT+CIPCLOSE")
    await at.cmd('AT+CIPSTART="UDP","time.example.com",123,1005,0')
    await enter(at)
    at.port.feed(b"datagram")
    assert await at.wait_for(b"datagram") == b"datagram"  # the UDP echo, raw
    await leave(module, at)


async def test_no_link_no_passthrough(pt: tuple[Module, AtHarness]) -> None:
    _, at = pt
    await at.cmd("AT+CIPMODE=1")
    assert (await at.cmd("AT+CIPSEND")).endswith(b"\r\nERROR\r\n")
    for bad in ("AT+CIPMODE=2", "AT+CIPMODE=-1", 'AT+CIPMODE="1"', "AT+CIPMODE"):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    assert await at.cmd("AT+CIPMODE?") == b"AT+CIPMODE?\r\n+CIPMODE:1\r\n\r\nOK\r\n"


async def test_server_passthrough_as_in_the_manual(pt: tuple[Module, AtHarness]) -> None:
    module, at = pt
    module.servers.expose("127.0.0.1", lambda port: 0, None)
    await at.cmd("AT+CIPMUX=1")
    assert await at.cmd("AT+CIPSERVERMAXCONN=1") == b"AT+CIPSERVERMAXCONN=1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPSERVER=1,8080") == b"AT+CIPSERVER=1,8080\r\n\r\nOK\r\n"
    address = module.servers.address
    assert address is not None
    reader, writer = await asyncio.open_connection(*address)
    assert await at.wait_for(b"0,CONNECT\r\n") == b"0,CONNECT\r\n"
    await enter(at)
    at.port.feed(b"to the client")
    assert await asyncio.wait_for(reader.readexactly(13), 10) == b"to the client"
    writer.write(b"to the host")
    assert await at.wait_for(b"to the host") == b"to the host"
    # the client goes; the next one takes its place, silently
    writer.close()
    await writer.wait_closed()
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"second")
    assert await at.wait_for(b"second") == b"second"
    await leave(module, at)
    writer.close()
    await writer.wait_closed()
    await at.wait_for(b"0,CLOSED\r\n")


async def test_cipclose_without_link_id_closes_the_passthrough_server_client(
    pt: tuple[Module, AtHarness],
) -> None:
    """The manual's server passthrough walkthrough ends with AT+CIPCLOSE at AT+CIPMUX=1:
    it closes the server's one client and answers CLOSED; with other links it is ERROR."""
    module, at = pt
    module.servers.expose("127.0.0.1", lambda port: 0, None)
    await at.cmd("AT+CIPMUX=1")
    assert (await at.cmd("AT+CIPCLOSE")).endswith(b"\r\nERROR\r\n")  # no link at all
    await at.cmd("AT+CIPSERVERMAXCONN=1")
    await at.cmd("AT+CIPSERVER=1,8080")
    address = module.servers.address
    assert address is not None
    reader, writer = await asyncio.open_connection(*address)
    await at.wait_for(b"0,CONNECT\r\n")
    await enter(at)
    await leave(module, at)
    assert await at.cmd("AT+CIPMODE=0") == b"AT+CIPMODE=0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"
    assert await asyncio.wait_for(reader.read(1), 10) == b""  # the client sees the end
    assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPCLOSE")).endswith(b"\r\nERROR\r\n")  # nothing left
    writer.close()
    await writer.wait_closed()


async def test_cipclose_without_link_id_needs_a_server_limited_to_one_client(
    pt: tuple[Module, AtHarness],
) -> None:
    module, at = pt
    module.servers.expose("127.0.0.1", lambda port: 0, None)
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPSERVER=1,8080")  # up to five clients
    address = module.servers.address
    assert address is not None
    _, writer = await asyncio.open_connection(*address)
    await at.wait_for(b"0,CONNECT\r\n")
    await at.cmd('AT+CIPSTART=1,"TCP","api.example.com",80')
    assert (await at.cmd("AT+CIPCLOSE")).endswith(b"\r\nERROR\r\n")
    assert (await at.cmd("AT+CIPSTATE?")).count(b"+CIPSTATE:") == 2  # both still open
    writer.close()
    await writer.wait_closed()


async def test_savetranslink_client_at_power_up(
    pt: tuple[Module, AtHarness], servers: Servers
) -> None:
    module, at = pt
    for bad in (
        "AT+SAVETRANSLINK=1",
        'AT+SAVETRANSLINK=1,"api.example.com"',
        'AT+SAVETRANSLINK=1,"api.example.com",0',
        'AT+SAVETRANSLINK=1,"",80',
        'AT+SAVETRANSLINK=1,"api.example.com",80,"FTP"',
        'AT+SAVETRANSLINK=1,"api.example.com",80,"TCPv6"',
        'AT+SAVETRANSLINK=1,"api.example.com",80,"TCP",7201',
        "AT+SAVETRANSLINK=4",
        "AT+SAVETRANSLINK=0,1",
        'AT+SAVETRANSLINK=3,80,"UDP"',
        "AT+SAVETRANSLINK?",
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    assert module.saved.get("savetranslink") is None
    await at.cmd("AT+CIPRECONNINTV=2")
    line = 'AT+SAVETRANSLINK=1,"api.example.com",80,"TCP",60'
    assert await at.cmd(line) == f"{line}\r\n\r\nOK\r\n".encode()
    at.port.feed(b"AT+RST\r\n")
    await at.wait_for(b"ready\r\n")
    for _ in range(5000):  # the station joins again by itself, then the link opens
        if servers.writers:
            break
        await asyncio.sleep(0.001)
    assert servers.writers
    at.port.feed(b"AT+GMR\r\n")  # data, not a command
    assert await received(servers, 8) == b"AT+GMR\r\n"
    await leave(module, at, b"AT+GMR\r\n")
    assert await at.cmd("AT+CIPMODE?") == b"AT+CIPMODE?\r\n+CIPMODE:1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPTCPOPT?") == (
        b"AT+CIPTCPOPT?\r\n+CIPTCPOPT:0,-1,0,0,60\r\n\r\nOK\r\n"
    )
    assert await at.cmd("AT+SAVETRANSLINK=0") == b"AT+SAVETRANSLINK=0\r\n\r\nOK\r\n"
    at.port.feed(b"AT+RST\r\n")
    await at.wait_for(b"ready\r\n")
    await at.wait_for(b"WIFI GOT IP\r\n")  # printed again: no passthrough at power-up
    assert await at.cmd("AT+CIPMODE?") == b"AT+CIPMODE?\r\n+CIPMODE:0\r\n\r\nOK\r\n"


async def test_savetranslink_server_at_power_up(pt: tuple[Module, AtHarness]) -> None:
    module, at = pt
    module.servers.expose("127.0.0.1", lambda port: 0, None)
    assert await at.cmd('AT+SAVETRANSLINK=3,1002,"TCP"') == (
        b'AT+SAVETRANSLINK=3,1002,"TCP"\r\n\r\nOK\r\n'
    )
    at.port.feed(b"AT+RST\r\n")
    await at.wait_for(b"ready\r\n")
    for _ in range(5000):
        if module.servers.address is not None and module.wifi.station_ip() is not None:
            break
        await asyncio.sleep(0.001)
    address = module.servers.address
    assert address is not None
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"hello")
    assert await at.wait_for(b"hello") == b"hello"
    at.port.feed(b"world")
    assert await asyncio.wait_for(reader.readexactly(5), 10) == b"world"
    await leave(module, at)
    # the server goes on in normal transmission mode, one client at most
    assert await at.cmd("AT+CIPMODE?") == b"AT+CIPMODE?\r\n+CIPMODE:0\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPSERVER?")).endswith(b'+CIPSERVER:1,1002,"TCP",0,0\r\n\r\nOK\r\n')
    assert (await at.cmd("AT+CIPSERVERMAXCONN?")).endswith(b"+CIPSERVERMAXCONN:1\r\n\r\nOK\r\n")
    writer.write(b"normal")
    assert await at.wait_for(b"+IPD,0,6:normal") == b"\r\n+IPD,0,6:normal"
    writer.close()
    await writer.wait_closed()
    await at.wait_for(b"0,CLOSED\r\n")
    await at.cmd("AT+SAVETRANSLINK=0")
