"""Test aids: a module in-process at time scale 0, driven over its byte interface.

Used by the project's own tests and by the pytest plugin. A harness never polls: it waits
for the module's output (an event set on every write), so at time scale 0 the event loop
goes quiet and simulated time moves on (the rule of :mod:`esp_at_sim.core.clock`) until
the bytes it expects arrive.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass

from esp_at_sim.client import AtClient
from esp_at_sim.core.events import Event
from esp_at_sim.core.settings import MemorySettingsStore, SettingsStore
from esp_at_sim.device.faults import Faults
from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.scenario import Scenario

FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n", b"\r\nSEND OK\r\n", b"\r\nSEND FAIL\r\n")
# Real seconds to wait for an answer before giving up (at scale 0 an answer takes no
# real time: this bounds a test whose answer never comes).
REAL_TIMEOUT = 10.0
# Simulated seconds that settle() lets pass by default.
SETTLE_SECONDS = 30.0


class PortTee:
    """The module's AT port shared by several listeners (a harness and a client, say):
    input goes to the module, output to every listener set with :meth:`set_output`."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self._sinks: list[Callable[[bytes], None]] = []
        module.set_output(self._fan_out)

    def _fan_out(self, data: bytes) -> None:
        for sink in list(self._sinks):
            sink(data)

    def feed(self, data: bytes) -> None:
        self.module.feed(data)

    def set_output(self, sink: Callable[[bytes], None] | None) -> None:
        """Add a listener (``None`` is accepted and ignored: a listener never removes the
        others)."""
        if sink is not None:
            self._sinks.append(sink)


class AtHarness:
    """Feeds lines to a module and collects exactly what it transmits."""

    def __init__(self, module: Module, port: PortTee | None = None) -> None:
        self.module = module
        self.port: Module | PortTee = port or module
        self.received = bytearray()
        self.mark = 0
        self._arrived = asyncio.Event()
        self.port.set_output(self._receive)

    def _receive(self, data: bytes) -> None:
        self.received.extend(data)
        self._arrived.set()

    def take(self) -> bytes:
        """Everything received since the last take."""
        out = bytes(self.received[self.mark :])
        self.mark = len(self.received)
        return out

    async def wait_for(self, *patterns: bytes, timeout: float = REAL_TIMEOUT) -> bytes:
        """Wait until one of ``patterns`` appears after the mark; return up to its end.
        At most ``timeout`` real seconds (at time scale 0 the module needs none)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            tail = bytes(self.received[self.mark :])
            hits = [(tail.find(p), p) for p in patterns if p in tail]
            if hits:
                index, pattern = min(hits)
                end = self.mark + index + len(pattern)
                self.mark = end
                return tail[: index + len(pattern)]
            self._arrived.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._arrived.wait()
            except TimeoutError:
                raise AssertionError(
                    f"none of {patterns!r} arrived; got {bytes(self.received[self.mark :])!r}"
                ) from None

    async def cmd(self, line: str | bytes) -> bytes:
        """Send one command line (CR LF added) and return all output up to its final result."""
        data = line.encode() if isinstance(line, str) else line
        self.port.feed(data + b"\r\n")
        return await self.wait_for(*FINALS)

    async def settle(self, seconds: float = SETTLE_SECONDS) -> bytes:
        """Let the module run ``seconds`` of simulated time and return whatever it
        transmitted. At scale 0 that takes no real time: every timer due by then fires,
        each once the loop has gone quiet, so the output is complete."""
        await self.module.clock.sleep(seconds)
        return self.take()


@dataclass
class FleetMember:
    """Module ``index`` of the pytest plugin's ``esp_fleet``: the module, an AT client
    and a byte-level harness on its AT port, and its events so far (a live list)."""

    index: int
    module: Module
    at: AtClient
    harness: AtHarness
    events: list[Event]

    @property
    def faults(self) -> Faults:
        """Run-time fault injection for this module."""
        return self.module.faults


async def start_module(
    scenario: Scenario | None = None,
    store: SettingsStore | None = None,
    *,
    flash: str | os.PathLike[str] | None = None,
    with_flash: bool = False,
    layout: str | os.PathLike[str] = "esp32",
    radio: str = "sim",
    time_scale: float = 0,
) -> tuple[Module, AtHarness]:
    """A module (at time scale 0 unless ``time_scale`` says otherwise), booted, with a
    harness on its AT port.

    Without ``flash``/``with_flash`` the module has no flash (settings in ``store`` or in
    memory), which keeps unit tests light; with them it runs the firmware in a flash file
    (``flash``, or one in memory). ``radio`` names the radio backend.
    """
    module = create_module(
        scenario,
        time_scale=time_scale,
        store=store if store is not None or with_flash or flash else MemorySettingsStore(),
        flash=flash,
        layout=layout,
        with_flash=with_flash or flash is not None,
        radio=radio,
    )
    harness = AtHarness(module)
    await module.start()
    assert harness.take() == b"\r\nready\r\n"
    return module, harness


async def assert_no_tasks_left(timeout: float = 1.0) -> None:
    """Fail unless every task but the current one ends within ``timeout`` real seconds
    (closing sockets and a clock's scale-0 driver end on their own shortly)."""
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if left:
        await asyncio.wait(left, timeout=timeout)
        left = [t for t in left if not t.done()]
    if left:
        raise AssertionError(f"tasks left running: {left}")
