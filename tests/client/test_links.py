"""Opening links: every SPEC form, the errors for ports that cannot be opened, and the
pyserial bridge (reader thread, writer thread) over URLs."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from esp_at_sim.client import AtConnectionError, SerialLink, TcpLink, open_link
from esp_at_sim.client.links import ModuleLink

from .conftest import WAIT, MakeRig


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tcp:localhost", "bad TCP address"),
        ("tcp://127.0.0.1:99999", "bad TCP address"),
        ("/dev/esp-at-sim-no-such-port", "cannot open"),
        ("serial:/dev/esp-at-sim-no-such-port:9600", "cannot open"),
        ("nosuchscheme://x", "cannot open"),
        ("", "no port"),
    ],
)
async def test_unopenable_specs(spec: str, message: str) -> None:
    threads = threading.active_count()
    with pytest.raises(AtConnectionError, match=message):
        await open_link(spec)
    assert threading.active_count() == threads


async def test_refused_tcp_connection() -> None:
    with pytest.raises(AtConnectionError, match="cannot connect") as info:
        await open_link(f"tcp:127.0.0.1:{_free_port()}")
    assert isinstance(info.value, ConnectionError)
    assert isinstance(info.value.__cause__, OSError)


async def test_other_targets() -> None:
    with pytest.raises(TypeError):
        await open_link(object())  # type: ignore[arg-type]

    class Port:
        def feed(self, data: bytes) -> None: ...

        def set_output(self, sink: object) -> None: ...

    link = await open_link(Port())
    assert isinstance(link, ModuleLink)
    assert await open_link(link) is link
    await link.close()
    assert await link.read() == b""
    with pytest.raises(AtConnectionError):
        await link.write(b"AT\r\n")


async def test_pyserial_loop_url_moves_bytes_both_ways() -> None:
    threads = threading.active_count()
    link = await open_link("loop://")
    assert isinstance(link, SerialLink)
    assert threading.active_count() == threads + 2  # the reader and the writer
    await link.write(b"AT\r\n" * 1000)
    received = b""
    while len(received) < 4000:
        received += await asyncio.wait_for(link.read(), WAIT)
    assert received == b"AT\r\n" * 1000
    await link.close()
    assert await link.read() == b""
    assert threading.active_count() == threads


async def test_pyserial_socket_url_to_the_module(make_rig: MakeRig) -> None:
    rig = await make_rig("socket")
    assert isinstance(rig.client.link, SerialLink)
    assert (await rig.client.gmr()).module_name == "WROOM-32"


async def test_tcp_url_form(make_rig: MakeRig) -> None:
    rig = await make_rig("tcp")
    assert isinstance(rig.client.link, TcpLink)
    assert rig.transport is not None
    port = rig.transport.describe().rpartition(":")[2]
    link = await open_link(f"tcp://127.0.0.1:{port}")  # as "run" prints it
    try:
        assert isinstance(link, TcpLink)
        # The port takes one client at a time: the second connection is closed at once.
        assert await asyncio.wait_for(link.read(), WAIT) == b""
    finally:
        await link.close()
