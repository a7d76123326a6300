"""AtClient's typed connections, against the plugin's module and loopback servers the
tests start (through esp_serve and esp_route)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from esp_at_sim.client import AtClient, AtCommandError, Connection
from esp_at_sim.client.protocol import Framer, Line
from esp_at_sim.device.module import Module
from esp_at_sim.pytest_plugin import Serve

JOIN = ("HomeNet", "sunflower42")


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def say_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 200 OK\r\n\r\nhello")
    await writer.drain()
    writer.close()


async def test_tcp_in_single_connection_mode(esp_at: AtClient, esp_serve: Serve) -> None:
    serve = esp_serve
    await serve(say_and_close, "api.example.com", 80)
    await esp_at.set_cwjap(*JOIN)
    conn = await esp_at.open_tcp("api.example.com", 80)
    assert conn.link_id is None
    got = b"".join([data async for data in conn])
    assert got == b"HTTP/1.0 200 OK\r\n\r\nhello"
    assert conn.closed


async def test_links_in_multiple_connection_mode(esp_at: AtClient, esp_serve: Serve) -> None:
    serve = esp_serve
    await serve(echo, "api.example.com", 80)
    await esp_at.set_cwjap(*JOIN)
    await esp_at.set_cipmux(True)
    first = await esp_at.open_tcp("api.example.com", 80)
    second = await esp_at.open_tcp("api.example.com", 80, keep_alive=60)
    assert (first.link_id, second.link_id) == (0, 1)
    payload = bytes(range(256)) * 40  # more than one AT+CIPSEND
    await second.send(payload)
    await first.send(b"first")
    assert await first.receive() == b"first"
    got = bytearray()
    while len(got) < len(payload):
        got += await second.receive()
    assert bytes(got) == payload
    states = await esp_at.cipstate()
    assert [(s.link_id, s.type, s.remote_port, s.server) for s in states] == [
        (0, "TCP", 80, False),
        (1, "TCP", 80, False),
    ]
    await first.close()
    await second.close()
    assert await esp_at.cipstate() == []


async def test_passive_reads(esp_at: AtClient, esp_serve: Serve) -> None:
    serve = esp_serve
    await serve(say_and_close, "api.example.com", 80)
    await esp_at.set_cwjap(*JOIN)
    await esp_at.send("AT+CIPRECVMODE", 1)
    conn = await esp_at.open_tcp("api.example.com", 80)
    await esp_at.wait_urc("+IPD,", timeout=5)
    assert await conn.read(4) == b"HTTP"
    assert await conn.read(100) == b"/1.0 200 OK\r\n\r\nhello"
    assert await conn.read(100) == b""  # nothing left
    await esp_at.wait_urc("CLOSED", timeout=5)


async def test_udp_and_errors(esp_at: AtClient, esp_module: Module) -> None:
    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.DatagramTransport, transport)

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(data.upper(), addr)

    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    try:
        from esp_at_sim.radio.network import network_of

        network = network_of(esp_module.radio)
        assert network is not None
        port = transport.get_extra_info("sockname")[1]
        ip = network.add_route("time.example.com", None, ("127.0.0.1", port))  # type: ignore[attr-defined]
        assert ip.startswith("198.18.")
        await esp_at.set_cwjap(*JOIN)
        conn = await esp_at.open_udp("time.example.com", 123, local_port=2233)
        await conn.send(b"tick")
        assert await conn.receive() == b"TICK"
        await conn.send_to(b"tock", ip, 123)
        assert await conn.receive() == b"TOCK"
        await conn.close()
        with pytest.raises(AtCommandError):
            await esp_at.open_tcp("nowhere.example.com", 80)
        with pytest.raises(AtCommandError):
            await esp_at.open_ssl("nowhere.example.com", 443)
    finally:
        transport.close()


@pytest.mark.esp_route("api.example.com:8080", "127.0.0.1:1")  # nobody listens on port 1
async def test_route_marker(esp_at: AtClient) -> None:
    await esp_at.set_cwjap(*JOIN)
    with pytest.raises(AtCommandError):  # routed, refused by this machine
        await esp_at.open_tcp("api.example.com", 8080)


async def test_serving_and_accepting(esp_at: AtClient, esp_module: Module) -> None:
    await esp_at.set_cwjap(*JOIN)
    server = await esp_at.serve(8080, max_conn=2, idle_timeout=60)
    address = esp_module.servers.address
    assert address is not None
    reader, writer = await asyncio.open_connection(*address)
    conn: Connection = await server.accept()
    assert conn.link_id == 0
    writer.write(b"hello module")
    assert await conn.receive() == b"hello module"
    await conn.send(b"hello host")
    assert await asyncio.wait_for(reader.readexactly(10), 10) == b"hello host"
    await server.close()
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    await writer.wait_closed()


@given(st.binary(max_size=200), st.booleans(), st.lists(st.integers(1, 40), max_size=10))
@example(b"\x00\x00\n\x00", True, [36])  # a cut after a LF inside the data
@example(b'"', False, [])  # data that begins with a quote is no remote's address
@example(b'"1', False, [16])  # nor is one cut where an address could still follow
def test_recvdata_is_framed_by_its_length(data: bytes, dinfo: bool, cuts: list[int]) -> None:
    info = b'"203.0.113.10",80,' if dinfo else b""
    wire = b"+CIPRECVDATA:%d," % len(data) + info + data + b"\r\nOK\r\n"
    framer = Framer()
    items = []
    offset = 0
    for size in [*cuts, len(wire)]:
        items += framer.feed(wire[offset : offset + size])
        offset += size
    assert items[0] == Line(b"+CIPRECVDATA:%d," % len(data) + info + data)
    assert [item for item in items[1:] if isinstance(item, Line) and item.data] == [Line(b"OK")]
