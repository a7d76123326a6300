"""UART pacing (``--baud``): the computed schedule, the rate switch, and no cost unpaced;
input handed to the module a few lines per turn of the event loop."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.device.module import Module
from esp_at_sim.device.system import UartConfig
from esp_at_sim.factory import create_module
from esp_at_sim.transport import MemoryTransport, bridge, slice_schedule
from esp_at_sim.transport.bridge import LINES_PER_TURN, SLICE_TIME, Pipe

OK = b"\r\nOK\r\n"
UART_9600 = UartConfig(baudrate=9600)


def test_char_time_counts_start_parity_and_stop_bits() -> None:
    assert UART_9600.char_time() == pytest.approx(10 / 9600)  # 8N1
    assert UartConfig(9600, 8, 3, 2, 0).char_time() == pytest.approx(12 / 9600)  # 8E2
    assert UartConfig(115200, 7, 2, 1, 0).char_time() == pytest.approx(10.5 / 115200)


def test_1000_bytes_at_9600_baud_take_1_04_s() -> None:
    plan = slice_schedule(1000, 5.0, UART_9600.char_time())
    assert plan[-1][0] == pytest.approx(5.0 + 1000 * 10 / 9600)  # 1.0417 s after the start
    assert sum(count for _, count in plan) == 1000
    times = [when for when, _ in plan]
    assert times == sorted(times) and times[0] > 5.0
    # each slice is complete when its last byte has crossed the wire
    sent = 0
    for when, count in plan:
        sent += count
        assert when == pytest.approx(5.0 + sent * 10 / 9600)
    # slices of a few milliseconds, not one wake-up per byte
    assert len(plan) == pytest.approx(1000 / int(SLICE_TIME * 960), abs=1)


def test_schedule_edge_cases() -> None:
    assert slice_schedule(0, 1.0, 0.001) == []
    assert slice_schedule(3, 0.0, 1.0) == [(1.0, 1), (2.0, 1), (3.0, 1)]  # slow line: per byte
    assert slice_schedule(10, 0.0, 0.0) == [(0.0, 10)]


async def test_pipe_delivers_on_schedule() -> None:
    got: list[tuple[float, bytes]] = []
    pipe = Pipe(lambda data, config, when: got.append((time.monotonic(), data)))
    data = bytes(range(256)) * 4  # 1024 bytes
    start = time.monotonic()
    before = time.monotonic()
    pipe.put(data[:500], UART_9600)
    pipe.put(data[500:], UART_9600)  # queued behind the first burst
    after = time.monotonic()
    # the first burst started between before and after; the second right behind it
    assert before + 1024 * 10 / 9600 <= pipe.free_at <= after + 1024 * 10 / 9600

    async def drained() -> None:
        while not pipe.idle:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(drained(), 10)
    await pipe.close()
    elapsed = got[-1][0] - start
    assert b"".join(chunk for _, chunk in got) == data
    assert elapsed >= 1024 * 10 / 9600 - 0.01  # never early
    assert elapsed < 5.0  # and not absurdly late (loose: CI machines vary)
    assert len(got) < 300  # a few bytes per wake-up, never one by one


@pytest.fixture(params=["timerfd", "thread"])
def pacer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each way the pacer waits: a timerfd the loop watches (Linux), or a thread's sleep
    where there is none."""
    if request.param == "thread":
        monkeypatch.setattr(bridge, "TIMERFD", None)
    elif bridge.TIMERFD is None:
        pytest.skip("no timerfd here")


@pytest.mark.usefixtures("pacer")
async def test_pipe_hands_over_nothing_before_its_wire_time() -> None:
    config = UartConfig(baudrate=115200)
    got: list[tuple[float, float, bytes]] = []  # (loop time handed over, wire time, bytes)
    pipe = Pipe(lambda data, cfg, when: got.append((time.monotonic(), when, data)))
    data = bytes(range(200))
    start = time.monotonic()
    for offset in range(0, 200, 20):  # bursts queue behind each other
        pipe.put(data[offset : offset + 20], config)
    while not pipe.idle:
        await asyncio.sleep(0)
    await pipe.close()
    assert b"".join(chunk for _, _, chunk in got) == data
    sent = 0
    for handed, when, chunk in got:
        sent += len(chunk)
        assert when >= start + sent * config.char_time()  # the wire time of its last byte
        assert handed >= when  # never before it


async def test_a_late_start_is_caught_up_from_the_wire_time() -> None:
    pipe = Pipe(lambda data, cfg, when: None)
    ready = time.monotonic() - 1.0  # the line this answers arrived a second ago
    pipe.put(b"x" * 11, UART_9600, ready)
    assert pipe.free_at == pytest.approx(ready + 11 * UART_9600.char_time())
    pipe.put(b"y" * 11, UART_9600, ready)  # behind the first, not before it
    assert pipe.free_at == pytest.approx(ready + 22 * UART_9600.char_time())
    await pipe.close()


@pytest.mark.parametrize("baud", [9600, 115200, 921600, 5000000])
async def test_paced_round_trips_are_never_faster_than_the_wire(baud: int) -> None:
    """Measured on the event loop's clock: each answer byte reaches the client no earlier
    than the wire allows after the line it answers, pipelined lines included."""
    module = create_module(time_scale=0, baud=baud)
    transport = MemoryTransport(paced=True)
    await _booted(module, transport)
    arrivals: list[tuple[float, int]] = []  # (clock time, bytes received in all)
    write = transport._write  # recording what the client gets, and when

    def record(data: bytes) -> None:
        write(data)
        arrivals.append((time.monotonic(), len(data)))

    transport.bridge._write = record
    char = UartConfig(baudrate=baud).char_time()
    answer = b"AT\r\n" + OK
    try:
        transport.take()
        for lines in (1, 1, 3):
            arrivals.clear()
            sent = time.monotonic()
            transport.send(b"AT\r\n" * lines)
            await transport.read_until(answer * lines)
            # line i arrives after 4(i+1) characters; its answer follows the line and
            # the answers before it
            done = sent
            earliest: list[float] = []
            for i in range(lines):
                start = max(sent + 4 * (i + 1) * char, done)
                earliest += [start + (k + 1) * char for k in range(len(answer))]
                done = earliest[-1]
            received = 0
            for when, size in arrivals:
                received += size
                assert when >= earliest[received - 1]
    finally:
        await transport.close()
        await module.close()


async def test_the_answer_starts_when_its_line_arrived_on_the_wire() -> None:
    module = create_module(time_scale=0, baud=115200)
    transport = MemoryTransport(paced=True)
    await _booted(module, transport)
    tx, rx = transport.bridge.tx, transport.bridge.rx
    assert tx is not None and rx is not None
    ready: list[float | None] = []
    original_put = tx.put

    def record(data: bytes, config: UartConfig, start: float | None = None) -> None:
        ready.append(start)
        original_put(data, config, start)

    tx.put = record  # type: ignore[method-assign]
    try:
        transport.send(b"AT\r\n")
        arrived = rx.free_at  # the wire time of the line's last byte
        await transport.read_until(b"AT\r\n" + OK)
        assert ready == [arrived]  # not the (later) time the loop got round to it
    finally:
        await transport.close()
        await module.close()


async def _booted(module: Module, transport: MemoryTransport) -> None:
    await transport.start(module)
    await module.start()
    assert await transport.read_until(b"ready\r\n") == b"\r\nready\r\n"


async def test_uart_cur_switches_the_pacing_rate_after_its_ok() -> None:
    module = create_module(time_scale=0)
    transport = MemoryTransport(paced=True)
    await _booted(module, transport)
    tx = transport.bridge.tx
    assert tx is not None
    puts: list[tuple[bytes, int]] = []
    original_put = tx.put

    def record(data: bytes, config: UartConfig, ready: float | None = None) -> None:
        puts.append((data, config.baudrate))
        original_put(data, config, ready)

    tx.put = record  # type: ignore[method-assign]
    try:
        transport.send(b"AT+UART_CUR=9600,8,1,0,0\r\n")
        assert await transport.read_until(OK) == b"AT+UART_CUR=9600,8,1,0,0\r\n" + OK
        began = time.monotonic()
        transport.send(b"AT\r\n")
        assert await transport.read_until(OK) == b"AT\r\n" + OK
        # 4 bytes in and 10 out at 9600 baud: at least 14.6 ms on the wire
        assert time.monotonic() - began >= 14 * 10 / 9600 - 0.002
        assert puts == [(b"AT+UART_CUR=9600,8,1,0,0\r\n" + OK, 115200), (b"AT\r\n" + OK, 9600)]
    finally:
        await transport.close()
        await module.close()


async def test_unpaced_port_has_no_pipes_and_no_tasks() -> None:
    module = create_module(time_scale=0)
    transport = MemoryTransport()
    await _booted(module, transport)
    try:
        assert transport.bridge.tx is None and transport.bridge.rx is None
        transport.send(b"AT\r\n" * 50)
        # the first lines are answered within the send call, the rest a few per turn of
        # the event loop, so that the web server and DNS sharing the loop get their turns
        assert transport.take() == (b"AT\r\n" + OK) * LINES_PER_TURN
        answered = [LINES_PER_TURN]
        while sum(answered) < 50:
            await asyncio.sleep(0)
            answered.append(transport.take().count(OK))
        assert answered == [LINES_PER_TURN] * (50 // LINES_PER_TURN) + [50 % LINES_PER_TURN]
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "uart-pipe"]
    finally:
        await transport.close()
        await module.close()


async def test_paced_output_in_flight_is_lost_when_the_client_leaves() -> None:
    module = create_module(time_scale=0, baud=1200)
    transport = MemoryTransport(paced=True)
    await _booted(module, transport)
    try:
        module.urc("X" * 200)  # 1.7 s on the wire at 1200 baud
        await asyncio.sleep(0.05)
        transport.connected = False
        transport.connected = True
        await asyncio.sleep(0.05)
        assert len(transport.take()) < 50
        tx = transport.bridge.tx
        assert tx is not None and tx.idle
    finally:
        await transport.close()
        await module.close()


async def test_boot_baud_is_what_the_module_reports() -> None:
    store = MemorySettingsStore()
    module = create_module(time_scale=0, baud=9600, store=store)
    transport = MemoryTransport()
    await _booted(module, transport)
    try:
        assert module.system.uart_current.baudrate == 9600
        transport.send(b"AT+UART_CUR?\r\n")
        assert b"+UART_CUR:9600,8,1,0,0\r\n" in await transport.read_until(OK)
        transport.send(b"AT+RESTORE\r\n")  # factory settings: still the boot baud
        await transport.read_until(b"ready\r\n")
        assert module.system.uart_current.baudrate == 9600
        transport.send(b"AT+UART_DEF=57600,8,1,0,0\r\n")  # a stored default wins
        await transport.read_until(OK)
        transport.send(b"AT+RST\r\n")
        await transport.read_until(b"ready\r\n")
        assert module.system.uart_current.baudrate == 57600
    finally:
        await transport.close()
        await module.close()


@pytest.mark.usefixtures("pacer")
async def test_the_pacers_timer_ends_with_the_port() -> None:
    """The last millisecond before a slice is waited for with a timerfd, or slept by a
    thread where there is none (the loop's timer rounds it up to a whole millisecond);
    the descriptor or the thread goes with the transport."""
    fds = len(os.listdir("/proc/self/fd"))
    module = create_module(time_scale=0, baud=115200)
    transport = MemoryTransport(paced=True)
    await _booted(module, transport)
    try:
        transport.take()
        transport.send(b"AT+GMR\r\n")  # some 300 bytes back: a few slices to wait for
        assert (await transport.read_until(OK)).endswith(b"\r\n" + OK)
    finally:
        await transport.close()
        await module.close()
    assert not any(t.name.startswith("uart-pacer") for t in threading.enumerate())
    assert len(os.listdir("/proc/self/fd")) == fds
