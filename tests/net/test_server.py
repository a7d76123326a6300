"""AT+CIPSERVER, AT+CIPSERVERMAXCONN and AT+CIPSTO with real clients on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from childwait import run_child
from esp_at_sim.device.module import Module
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

from .test_tcp import send

Client = tuple[asyncio.StreamReader, asyncio.StreamWriter]
IO_TIMEOUT = 10.0  # real seconds a loopback read may take before the test fails


async def joined(time_scale: float = 0) -> tuple[Module, AtHarness, list[str]]:
    module, at = await start_module(default_scenario(), time_scale=time_scale)
    lines: list[str] = []
    module.servers.expose("127.0.0.1", lambda port: 0, lines.append)
    out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    assert out.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
    return module, at, lines


@pytest.fixture
async def server() -> AsyncIterator[tuple[Module, AtHarness, list[str]]]:
    module, at, lines = await joined()
    yield module, at, lines
    await module.close()
    await assert_no_tasks_left()


async def connect(module: Module) -> Client:
    address = module.servers.address
    assert address is not None
    return await asyncio.open_connection(*address)


async def read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(size), IO_TIMEOUT)


async def at_eof(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), IO_TIMEOUT) == b""
    except ConnectionError:
        return True


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def test_server_round_trip(server: tuple[Module, AtHarness, list[str]]) -> None:
    module, at, lines = server
    assert (await at.cmd("AT+CIPSERVER=1,80")).endswith(b"\r\nERROR\r\n")  # needs CIPMUX=1
    assert await at.cmd("AT+CIPSERVER?") == b"AT+CIPSERVER?\r\n+CIPSERVER:0\r\n\r\nOK\r\n"
    await at.cmd("AT+CIPMUX=1")
    assert await at.cmd("AT+CIPSERVER=1,80") == b"AT+CIPSERVER=1,80\r\n\r\nOK\r\n"
    address = module.servers.address
    assert address is not None
    assert lines == [f"Server 80: tcp://127.0.0.1:{address[1]}"]
    assert await at.cmd("AT+CIPSERVER?") == (
        b'AT+CIPSERVER?\r\n+CIPSERVER:1,80,"TCP",0,0\r\n\r\nOK\r\n'
    )
    assert await at.cmd("AT+CIPSERVER=1,8080") == b"AT+CIPSERVER=1,8080\r\nno change\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPMUX=0")).endswith(b"\r\nERROR\r\n")  # delete the server first

    reader, writer = await connect(module)
    assert await at.wait_for(b"0,CONNECT\r\n") == b"0,CONNECT\r\n"
    client_port = writer.get_extra_info("sockname")[1]
    assert (
        await at.cmd("AT+CIPSTATE?")
        == (
            f'AT+CIPSTATE?\r\n+CIPSTATE:0,"TCP","127.0.0.1",{client_port},80,1\r\n\r\nOK\r\n'
        ).encode()
    )
    writer.write(b"hello")
    assert await at.wait_for(b"+IPD,0,5:hello") == b"\r\n+IPD,0,5:hello"
    assert (await send(at, "AT+CIPSEND=0,4", b"test")).endswith(b"Recv 4 bytes\r\n\r\nSEND OK\r\n")
    assert await read_exactly(reader, 4) == b"test"

    assert await at.cmd("AT+CIPSERVER=0") == b"AT+CIPSERVER=0\r\n\r\nOK\r\n"
    assert module.servers.address is None
    assert (await at.cmd("AT+CIPSTATE?")).count(b"+CIPSTATE:0,") == 1  # the client stays
    assert (await at.cmd("AT+CIPSERVER=0")).endswith(b"\r\nERROR\r\n")  # nothing to delete
    writer.write(b"still")
    assert await at.wait_for(b"+IPD,0,5:still") == b"\r\n+IPD,0,5:still"
    await close(writer)
    assert await at.wait_for(b"0,CLOSED\r\n") == b"0,CLOSED\r\n"
    assert await at.cmd("AT+CIPMUX=0") == b"AT+CIPMUX=0\r\n\r\nOK\r\n"


async def test_default_port_and_the_host_port_rule() -> None:
    module, at = await start_module(default_scenario())
    try:
        with socket.socket() as probe:  # a free host port to map module port 333 to
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        lines: list[str] = []
        module.servers.expose("127.0.0.1", lambda port: free if port == 333 else -1, lines.append)
        await at.cmd("AT+CIPMUX=1")
        assert await at.cmd("AT+CIPSERVER=1") == b"AT+CIPSERVER=1\r\n\r\nOK\r\n"
        assert lines == [f"Server 333: tcp://127.0.0.1:{free}"]
        assert (await at.cmd("AT+CIPSERVER?")).endswith(b'+CIPSERVER:1,333,"TCP",0,0\r\n\r\nOK\r\n')
        # no IP yet (not joined, no SoftAP): a client is turned away
        reader, writer = await connect(module)
        assert await at_eof(reader)
        await close(writer)
        assert b"CONNECT" not in await at.settle()
    finally:
        await module.close()


async def test_max_connections_and_closing_all(
    server: tuple[Module, AtHarness, list[str]],
) -> None:
    module, at, _ = server
    await at.cmd("AT+CIPMUX=1")
    assert await at.cmd("AT+CIPSERVERMAXCONN?") == (
        b"AT+CIPSERVERMAXCONN?\r\n+CIPSERVERMAXCONN:5\r\n\r\nOK\r\n"
    )
    assert await at.cmd("AT+CIPSERVERMAXCONN=2") == b"AT+CIPSERVERMAXCONN=2\r\n\r\nOK\r\n"
    await at.cmd("AT+CIPSERVER=1,1001")
    assert (await at.cmd("AT+CIPSERVERMAXCONN=3")).endswith(b"\r\nERROR\r\n")  # server runs
    first = await connect(module)
    assert await at.wait_for(b"0,CONNECT\r\n") == b"0,CONNECT\r\n"
    second = await connect(module)
    assert await at.wait_for(b"1,CONNECT\r\n") == b"1,CONNECT\r\n"
    third = await connect(module)
    assert await at_eof(third[0])  # beyond the limit
    assert b"CONNECT" not in await at.settle()
    assert await at.cmd("AT+CIPSERVER=0,1") == (
        b"AT+CIPSERVER=0,1\r\n0,CLOSED\r\n1,CLOSED\r\n\r\nOK\r\n"
    )
    assert await at_eof(first[0]) and await at_eof(second[0])
    for _, writer in (first, second, third):
        await close(writer)
    assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPSERVERMAXCONN?") == (
        b"AT+CIPSERVERMAXCONN?\r\n+CIPSERVERMAXCONN:2\r\n\r\nOK\r\n"
    )


async def test_server_clients_share_link_ids_with_client_links(
    server: tuple[Module, AtHarness, list[str]],
) -> None:
    module, at, _ = server
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPSERVER=1,1002")
    clients = []
    for link_id in range(5):
        clients.append(await connect(module))
        assert await at.wait_for(f"{link_id},CONNECT\r\n".encode())
    extra = await connect(module)  # every link ID is taken
    assert await at_eof(extra[0])
    assert await at.cmd("AT+CIPCLOSE=2") == b"AT+CIPCLOSE=2\r\n2,CLOSED\r\n\r\nOK\r\n"
    assert await at_eof(clients[2][0])
    clients.append(await connect(module))
    assert await at.wait_for(b"2,CONNECT\r\n") == b"2,CONNECT\r\n"
    for _, writer in (*clients, extra):
        await close(writer)
    out = b""
    for _ in range(5):
        out += await at.wait_for(b",CLOSED\r\n")
    assert sorted(re.findall(rb"(\d),CLOSED", out)) == [b"0", b"1", b"2", b"3", b"4"]


async def test_bad_input_changes_nothing(server: tuple[Module, AtHarness, list[str]]) -> None:
    module, at, _ = server
    await at.cmd("AT+CIPMUX=1")
    for bad in (
        "AT+CIPSERVER=2",
        "AT+CIPSERVER=1,0",
        "AT+CIPSERVER=1,65536",
        'AT+CIPSERVER=1,"80"',
        'AT+CIPSERVER=1,80,"UDP"',
        'AT+CIPSERVER=1,80,"TCP",2',
        'AT+CIPSERVER=1,80,"TCP",0,4',
        'AT+CIPSERVER=1,80,"TCP",0,0,1',
        'AT+CIPSERVER=1,80,"TCPv6"',
        'AT+CIPSERVER=1,443,"SSL",1',  # no server certificate
        'AT+CIPSERVER=0,1,"TCP"',
        "AT+CIPSERVER=0,2",
        "AT+CIPSERVER",
        "AT+CIPSERVERMAXCONN=0",
        "AT+CIPSERVERMAXCONN=6",
        "AT+CIPSTO=10",  # no server yet
        "AT+CIPSTO=7201",
        "AT+CIPSTO=-1",
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    assert await at.cmd("AT+CIPSERVER?") == b"AT+CIPSERVER?\r\n+CIPSERVER:0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPSTO?") == b"AT+CIPSTO?\r\n+CIPSTO:180\r\n\r\nOK\r\n"
    assert module.servers.address is None
    await at.cmd("AT+SYSLOG=1")
    assert await at.cmd('AT+CIPSERVER=1,80,"TCP",2') == (
        b'AT+CIPSERVER=1,80,"TCP",2\r\nERR CODE:0x01070003\r\n\r\nERROR\r\n'
    )
    assert await at.cmd("AT+CIPSTO=1") == b"AT+CIPSTO=1\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n"


async def test_a_host_port_in_use_fails_with_errno() -> None:
    module, at = await start_module(default_scenario())
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        module.servers.expose("127.0.0.1", lambda port: taken, None)
        await at.cmd("AT+CIPMUX=1")
        assert (await at.cmd("AT+CIPSERVER=1,80")).endswith(b"\r\nERROR\r\n")
        await at.cmd("AT+SYSLOG=1")
        assert await at.cmd("AT+CIPSERVER=1,80") == (
            b"AT+CIPSERVER=1,80\r\n+ERRNO:112\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n"
        )
        assert (await at.cmd("AT+CIPSERVER?")).endswith(b"+CIPSERVER:0\r\n\r\nOK\r\n")
    finally:
        busy.close()
        await module.close()


async def test_idle_clients_time_out_on_the_module_clock() -> None:
    module, at, _ = await joined(time_scale=0.1)
    try:
        await at.cmd("AT+CIPMUX=1")
        await at.cmd("AT+CIPSERVER=1,1003")
        assert await at.cmd("AT+CIPSTO=2") == b"AT+CIPSTO=2\r\n\r\nOK\r\n"
        assert await at.cmd("AT+CIPSTO?") == b"AT+CIPSTO?\r\n+CIPSTO:2\r\n\r\nOK\r\n"
        reader, writer = await connect(module)
        await at.wait_for(b"0,CONNECT\r\n")
        connected = module.clock.now()
        writer.write(b"ping")  # activity restarts the timer
        await at.wait_for(b"+IPD,0,4:ping")
        assert await at.wait_for(b"0,CLOSED\r\n") == b"0,CLOSED\r\n"
        assert module.clock.now() - connected >= 2.0
        assert await at_eof(reader)
        await close(writer)
        # 0: never
        assert await at.cmd("AT+CIPSTO=0") == b"AT+CIPSTO=0\r\n\r\nOK\r\n"
        reader, writer = await connect(module)
        await at.wait_for(b"0,CONNECT\r\n")
        await module.clock.sleep(5)
        assert b"CLOSED" not in at.take()
        await close(writer)
        await at.wait_for(b"0,CLOSED\r\n")
    finally:
        await module.close()


async def test_reset_stops_the_server(server: tuple[Module, AtHarness, list[str]]) -> None:
    module, at, _ = server
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPSERVERMAXCONN=1")
    await at.cmd("AT+CIPSERVER=1,1004")
    reader, writer = await connect(module)
    await at.wait_for(b"0,CONNECT\r\n")
    at.port.feed(b"AT+RST\r\n")
    await at.wait_for(b"ready\r\n")
    assert await at_eof(reader)
    await close(writer)
    assert module.servers.address is None
    assert await at.cmd("AT+CIPSERVER?") == b"AT+CIPSERVER?\r\n+CIPSERVER:0\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPSERVERMAXCONN?")).endswith(b"+CIPSERVERMAXCONN:5\r\n\r\nOK\r\n")


def test_run_announces_the_server_after_its_answer(tmp_path: Path) -> None:
    script = tmp_path / "server.at"
    script.write_text("AT+CIPMUX=1\nAT+CIPSERVER=1,80\nAT+CIPSERVER?\n")
    command = [sys.executable, "-m", "esp_at_sim", "run", "--at", "stdio", "--time-scale", "0"]
    command += ["--port-map", "80=0", "--script", str(script)]
    result = run_child(command, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stderr.decode().splitlines()
    started = lines.index("AT+CIPSERVER=1,80")
    assert lines[started + 1 : started + 3] == ["", "OK"]
    assert re.fullmatch(r"Server 80: tcp://127\.0\.0\.1:\d+", lines[started + 3])
    assert lines[started + 4 : started + 6] == ["AT+CIPSERVER?", '+CIPSERVER:1,80,"TCP",0,0']
