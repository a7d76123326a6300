"""The AT port on a real serial port, through pyserial.

A reader thread blocks in pyserial's ``read`` and hands what arrives to the event loop;
a writer thread takes output from a queue, so a slow port never stalls the loop. The
port is always paced at the module's UART rate (the bytes would not leave faster on a
real line anyway, and the pacing keeps the timing the same on a PTY or a USB adapter
that ignores the baud rate). When the module switches its UART (``AT+UART_CUR``), the
writer drains the output sent at the old rate and then applies the new settings to the
port, as the firmware does.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import TYPE_CHECKING

import serial  # no stubs unless types-pyserial

from ..device.system import UartConfig
from .base import Transport, TransportError

if TYPE_CHECKING:
    from ..device.module import Module

log = logging.getLogger(__name__)

DEFAULT_BAUD = 115200
# A write that cannot complete within this many seconds is dropped (nobody drains the line).
WRITE_TIMEOUT = 1.0

_PARITY = {0: serial.PARITY_NONE, 1: serial.PARITY_ODD, 2: serial.PARITY_EVEN}
_STOPBITS = {1: serial.STOPBITS_ONE, 2: serial.STOPBITS_ONE_POINT_FIVE, 3: serial.STOPBITS_TWO}


def port_settings(config: UartConfig) -> dict[str, object]:
    """pyserial settings for a module UART configuration."""
    return {
        "baudrate": config.baudrate,
        "bytesize": config.databits,
        "parity": _PARITY.get(config.parity, serial.PARITY_NONE),
        "stopbits": _STOPBITS.get(config.stopbits, serial.STOPBITS_ONE),
        "rtscts": config.flow_control == 3,
    }


class SerialTransport(Transport):
    """``serial:DEVICE[:BAUD]``: a serial port opened at ``baud`` (8N1)."""

    def __init__(self, device: str, baud: int = DEFAULT_BAUD) -> None:
        super().__init__(paced=True)
        self.device = device
        self.baud = baud
        self._port: serial.Serial | None = None
        self._outbox: queue.Queue[bytes | UartConfig | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, module: Module) -> None:
        try:
            port = serial.Serial(
                self.device,
                self.baud,
                timeout=None,
                write_timeout=WRITE_TIMEOUT,
                exclusive=True,
            )
        except (serial.SerialException, ValueError) as exc:
            raise TransportError(f"cannot open {self.device}: {exc}") from exc
        self._port = port
        self._loop = asyncio.get_running_loop()
        self._make_bridge(module, self._write, on_config=self._config_changed).attach()
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"serial-rx {self.device}"),
            threading.Thread(target=self._write_loop, name=f"serial-tx {self.device}"),
        ]
        for thread in self._threads:
            thread.start()

    def describe(self) -> str:
        return f"AT port: {self.device} at {self.baud} baud"

    # ------------------------------------------------------------ event-loop side
    def _write(self, data: bytes) -> None:
        self._outbox.put(data)

    def _config_changed(self, config: UartConfig) -> None:
        self._outbox.put(config)

    def _received(self, data: bytes) -> None:
        if self._bridge is not None and not self._stop.is_set():
            self._bridge.receive(data)

    # ---------------------------------------------------------------- threads
    def _read_loop(self) -> None:
        port = self._port
        loop = self._loop
        assert port is not None and loop is not None
        while not self._stop.is_set():
            try:
                data = port.read(1)
                if data and port.in_waiting:
                    data += port.read(port.in_waiting)
            except (serial.SerialException, OSError, TypeError) as exc:
                if not self._stop.is_set():
                    log.error("serial port %s failed: %s", self.device, exc)
                return
            if data:
                loop.call_soon_threadsafe(self._received, data)

    def _write_loop(self) -> None:
        port = self._port
        assert port is not None
        while True:
            item = self._outbox.get()
            if item is None or self._stop.is_set():
                return
            try:
                if isinstance(item, UartConfig):
                    port.flush()  # the bytes sent at the old rate leave first
                    port.apply_settings(port_settings(item))
                else:
                    port.write(item)
            except serial.SerialTimeoutException:
                log.debug("serial write timed out: output lost")
            except (serial.SerialException, OSError, ValueError) as exc:
                if not self._stop.is_set():
                    log.error("serial port %s: %s", self.device, exc)

    async def close(self) -> None:
        await self._close_bridge()
        self._stop.set()
        port = self._port
        if port is not None:
            port.cancel_read()
            port.cancel_write()
        self._outbox.put(None)
        threads, self._threads = self._threads, []
        for thread in threads:
            while thread.is_alive():  # both threads stop within a few milliseconds
                await asyncio.sleep(0.005)
            thread.join()
        if port is not None:
            port.close()
            self._port = None
