"""What each transport does beyond the shared conformance suite."""

from __future__ import annotations

import asyncio
import os
import select
import termios

import pytest

from esp_at_sim.factory import create_module
from esp_at_sim.transport import (
    PtyTransport,
    SerialTransport,
    SpecError,
    StdioTransport,
    TcpTransport,
    TransportError,
    open_transport,
)

from .helpers import TIMEOUT, FdClient, Port, TcpClient, close_port, open_port

OK = b"\r\nOK\r\n"


# ------------------------------------------------------------------------ specs
@pytest.mark.parametrize(
    ("spec", "kind", "detail"),
    [
        ("stdio", StdioTransport, None),
        ("pty", PtyTransport, None),
        ("pty:/tmp/esp-at", PtyTransport, "/tmp/esp-at"),
        ("tcp:127.0.0.1:3333", TcpTransport, ("127.0.0.1", 3333)),
        ("tcp:4444", TcpTransport, ("10.0.0.1", 4444)),
        ("tcp:[::1]:0", TcpTransport, ("::1", 0)),
        ("serial:/dev/ttyUSB0", SerialTransport, ("/dev/ttyUSB0", 115200)),
        ("serial:/dev/ttyUSB0:921600", SerialTransport, ("/dev/ttyUSB0", 921600)),
    ],
)
def test_specs(spec: str, kind: type, detail: object) -> None:
    transport = open_transport(spec, host="10.0.0.1")
    assert type(transport) is kind
    assert not transport.paced or isinstance(transport, SerialTransport)
    if isinstance(transport, TcpTransport):
        assert transport.address == detail
    elif isinstance(transport, SerialTransport):
        assert (transport.device, transport.baud) == detail
    elif isinstance(transport, PtyTransport):
        assert transport.link == detail


@pytest.mark.parametrize(
    "spec",
    ["", "stdio:x", "tcp", "tcp:", "tcp:host:http", "tcp:70000", "serial", "serial:", "udp:1"],
)
def test_bad_specs(spec: str) -> None:
    with pytest.raises(SpecError):
        open_transport(spec)


def test_baud_paces_and_serial_takes_it() -> None:
    assert open_transport("tcp:0", baud=9600).paced
    serial_port = open_transport("serial:/dev/x", baud=9600)
    assert isinstance(serial_port, SerialTransport) and serial_port.baud == 9600
    with pytest.raises(SpecError, match="contradicts"):
        open_transport("serial:/dev/x:115200", baud=9600)


# -------------------------------------------------------------------------- tcp
async def test_tcp_second_client_is_refused() -> None:
    port, extra = await open_port("tcp")
    second = None
    try:
        await port.module.start()
        await port.read_until(b"ready\r\n")
        assert isinstance(port.transport, TcpTransport)
        assert port.transport.port != 0
        assert port.transport.describe() == f"AT port: tcp://127.0.0.1:{port.transport.port}"
        reader, second = await asyncio.open_connection(*port.transport.address)
        assert await asyncio.wait_for(reader.read(100), TIMEOUT) == b""  # closed at once
        assert await port.command(b"AT") == b"AT\r\n" + OK  # the first one is unharmed
    finally:
        if second is not None:
            second.close()
            await second.wait_closed()
        await close_port(port, extra)


async def test_tcp_next_client_after_the_first_leaves() -> None:
    port, extra = await open_port("tcp")
    try:
        await port.module.start()
        await port.read_until(b"ready\r\n")
        await port.client.disconnect()
        await port.wait_connected(False)
        assert isinstance(port.client, TcpClient)
        port.client = TcpClient(*port.client.addr)
        await port.reconnect()
        assert await port.command(b"AT") == b"AT\r\n" + OK
    finally:
        await close_port(port, extra)


async def test_tcp_port_in_use_is_a_transport_error() -> None:
    module = create_module(time_scale=0)
    first = TcpTransport("127.0.0.1", 0)
    await first.start(module)
    second = TcpTransport("127.0.0.1", first.port)
    try:
        with pytest.raises(TransportError, match="cannot listen"):
            await second.start(module)
    finally:
        await second.close()
        await first.close()
        await module.close()


# -------------------------------------------------------------------------- pty
async def test_pty_symlink_and_cleanup(tmp_path: os.PathLike[str]) -> None:
    link = os.path.join(tmp_path, "esp-at")
    os.symlink("/nonexistent", link)  # a stale link from an earlier run is replaced
    module = create_module(time_scale=0)
    transport = PtyTransport(link)
    await transport.start(module)
    try:
        assert os.readlink(link) == transport.path
        assert transport.path.startswith("/dev/")
        assert transport.describe() == f"AT port: {link}"
    finally:
        await transport.close()
        await module.close()
    assert not os.path.lexists(link)
    assert not os.path.exists(transport.path)


async def test_pty_link_in_missing_directory_fails(tmp_path: os.PathLike[str]) -> None:
    module = create_module(time_scale=0)
    transport = PtyTransport(os.path.join(tmp_path, "no", "such", "dir"))
    with pytest.raises(TransportError):
        await transport.start(module)
    await transport.close()
    await module.close()


async def test_pty_is_raw() -> None:
    port, extra = await open_port("pty")
    try:
        assert isinstance(port.transport, PtyTransport)
        fd = os.open(port.transport.path, os.O_RDWR | os.O_NOCTTY)
        try:
            lflag = termios.tcgetattr(fd)[3]
            assert not lflag & (termios.ICANON | termios.ECHO)
        finally:
            os.close(fd)
    finally:
        await close_port(port, extra)


# ----------------------------------------------------------------------- serial
async def test_serial_missing_device() -> None:
    module = create_module(time_scale=0)
    transport = SerialTransport("/dev/no-such-tty")
    with pytest.raises(TransportError, match="cannot open"):
        await transport.start(module)
    await transport.close()
    await module.close()


async def test_serial_port_follows_uart_cur() -> None:
    """AT+UART_CUR answers OK at the old rate, then the port itself switches."""
    port, extra = await open_port("serial")
    try:
        await port.module.start()
        await port.read_until(b"ready\r\n")
        assert isinstance(port.client, FdClient)
        far_end = port.client.fd
        assert termios.tcgetattr(far_end)[5] == termios.B115200
        assert await port.command(b"AT+UART_CUR=9600,8,1,0,0") == (
            b"AT+UART_CUR=9600,8,1,0,0\r\n" + OK
        )

        async def switched() -> None:
            while termios.tcgetattr(far_end)[5] != termios.B9600:
                await asyncio.sleep(0.005)

        await asyncio.wait_for(switched(), TIMEOUT)
        assert await port.command(b"AT") == b"AT\r\n" + OK
        assert isinstance(port.transport, SerialTransport)
        assert port.transport.describe().endswith(" at 115200 baud")
    finally:
        await close_port(port, extra)


# ------------------------------------------------------------------------ stdio
async def test_stdio_pipes_pass_bytes_and_end_at_eof() -> None:
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    module = create_module(time_scale=0)
    transport = StdioTransport(stdin_fd=in_r, stdout_fd=out_w)
    assert not transport.interactive
    try:
        os.write(in_w, b"AT\r\n")  # waits in the pipe until the module is up
        await transport.start(module)
        await module.start()
        os.close(in_w)
        await asyncio.wait_for(transport.eof.wait(), TIMEOUT)
        await asyncio.sleep(0.01)
        assert os.read(out_r, 1000) == b"\r\nready\r\nAT\r\n" + OK
    finally:
        await transport.close()
        await module.close()
        for fd in (in_r, out_r, out_w):
            os.close(fd)


async def test_stdio_console_sends_cr_lf_and_hides_the_echo() -> None:
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    module = create_module(time_scale=0)
    transport = StdioTransport(stdin_fd=in_r, stdout_fd=out_w, interactive=True)
    try:
        await transport.start(module)
        await module.start()
        os.write(in_w, b"AT+GMR\n")

        async def answered() -> bytes:
            data = b""
            while b"\nOK\n" not in data:  # a final-result line, wherever the segment ends
                await asyncio.sleep(0.002)
                data += os.read(out_r, 1000) if _readable(out_r) else b""
            return data

        out = await asyncio.wait_for(answered(), TIMEOUT)
        # OK, not ERROR: the line reached the module ending in CR LF (a bare LF fails)
        # its echo is not shown a second time; the terminal adds CR to each LF itself
        assert out.startswith(b"\nready\nAT version:")
        assert b"\r" not in out
    finally:
        await transport.close()
        await module.close()
        for fd in (in_r, in_w, out_r, out_w):
            os.close(fd)


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


async def test_port_fixture_kinds_share_behaviour(port: Port) -> None:
    """Every transport reports whether a client listens and describes itself."""
    assert port.transport.connected
    assert port.transport.describe().startswith("AT port: ")
