"""The data plane through real AT-port transports: a host that drops off in the middle
of a send, and ``--baud`` pacing of data bytes."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from esp_at_sim.device.system import UartConfig
from esp_at_sim.factory import create_module
from esp_at_sim.scenario import default_scenario
from esp_at_sim.transport.bridge import Pipe
from esp_at_sim.transport.memory import MemoryTransport
from esp_at_sim.transport.tcp import TcpTransport

from .conftest import Servers, net_for

IO_TIMEOUT = 10.0


async def read_until(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    return await asyncio.wait_for(reader.readuntil(marker), IO_TIMEOUT)


async def test_a_host_that_drops_off_mid_send_loses_nothing_else(servers: Servers) -> None:
    scenario = replace(default_scenario(), net=net_for(servers))
    module = create_module(scenario, time_scale=0)
    transport = TcpTransport("127.0.0.1", 0)
    await transport.start(module)
    await module.start()
    try:
        reader, writer = await asyncio.open_connection(*transport.address)
        writer.write(b'AT+CWJAP="HomeNet","sunflower42"\r\n')
        await read_until(reader, b"\r\nOK\r\n")
        writer.write(b"AT+CIPMUX=1\r\n")
        await read_until(reader, b"\r\nOK\r\n")
        for link in (0, 1):
            writer.write(f'AT+CIPSTART={link},"TCP","api.example.com",80\r\n'.encode())
            await read_until(reader, b"\r\nOK\r\n")
        writer.write(b"AT+CIPSEND=0,10\r\n")
        await read_until(reader, b">")
        writer.write(b"12345")
        await writer.drain()
        for _ in range(5000):
            if transport.bridge.waiting == 0:
                break
            await asyncio.sleep(0.001)
        writer.close()  # the host goes away in the middle of the data
        await writer.wait_closed()
        await transport.wait_connected(False)
        reader, writer = await asyncio.open_connection(*transport.address)
        await transport.wait_connected(True)
        writer.write(b"67890")  # a host that comes back finishes the data
        out = await read_until(reader, b"SEND OK\r\n")
        assert out.endswith(b"Recv 10 bytes\r\n\r\nSEND OK\r\n")
        for _ in range(5000):
            if len(servers.received) >= 10:
                break
            await asyncio.sleep(0.001)
        assert bytes(servers.received) == b"1234567890"
        writer.write(b"AT+CIPSTATE?\r\n")
        state = await read_until(reader, b"\r\nOK\r\n")
        assert state.count(b"+CIPSTATE:") == 2  # both links still open
        writer.close()
        await writer.wait_closed()
    finally:
        await transport.close()
        await module.close()


async def test_data_bytes_are_paced_at_the_baud_rate(servers: Servers) -> None:
    scenario = replace(default_scenario(), net=net_for(servers))
    module = create_module(scenario, time_scale=0.01, baud=230400)
    transport = MemoryTransport(paced=True)
    await transport.start(module)
    await module.start()
    puts: list[tuple[str, int, int]] = []

    def record(name: str, pipe: Pipe) -> None:
        original = pipe.put

        def put(data: bytes, config: UartConfig, ready: float | None = None) -> None:
            puts.append((name, len(data), config.baudrate))
            original(data, config, ready)

        pipe.put = put  # type: ignore[method-assign]

    try:
        await transport.read_until(b"ready\r\n")
        rx, tx = transport.bridge.rx, transport.bridge.tx
        assert rx is not None and tx is not None
        record("rx", rx)
        record("tx", tx)
        transport.send(b'AT+CWJAP="HomeNet","sunflower42"\r\n')
        await transport.read_until(b"\r\nOK\r\n", timeout=IO_TIMEOUT)
        transport.send(b'AT+CIPSTART="TCP","api.example.com",80\r\n')
        await transport.read_until(b"\r\nOK\r\n", timeout=IO_TIMEOUT)
        transport.send(b"AT+CIPSEND=2000\r\n")
        await transport.read_until(b">", timeout=IO_TIMEOUT)
        loop = asyncio.get_running_loop()
        began = loop.time()
        transport.send(bytes(2000))
        # the 2000 data bytes take their wire time: 10 bits each at 230400 baud
        assert rx.free_at - began >= 2000 * 10 / 230400 - 0.001
        out = await transport.read_until(b"SEND OK\r\n", timeout=IO_TIMEOUT)
        assert out.endswith(b"\r\nRecv 2000 bytes\r\n\r\nSEND OK\r\n")
        echo = await transport.read_until(b"\x00" * 10, timeout=IO_TIMEOUT)
        assert echo.startswith(b"\r\n+IPD,")
        assert ("rx", 2000, 230400) in puts  # the data went over the paced wire...
        assert any(name == "tx" and size >= 2000 for name, size, _ in puts)  # ...both ways
    finally:
        await transport.close()
        await module.close()
