"""Test aids: a module in-process at time scale 0, driven over its byte interface.

Used by the project's own tests and by the pytest plugin. Nothing here waits on real
time: a harness waits a bounded number of event-loop turns for the bytes it expects.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from esp_at_sim.core.settings import MemorySettingsStore, SettingsStore
from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.scenario import Scenario

FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n", b"\r\nSEND OK\r\n", b"\r\nSEND FAIL\r\n")
# Event-loop turns to wait for an answer before giving up (no real time passes at scale 0).
MAX_TURNS = 20_000
# Real seconds to wait for an answer from a module whose clock runs in real time.
REAL_TIMEOUT = 10.0


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
        self.port.set_output(self.received.extend)

    def take(self) -> bytes:
        """Everything received since the last take."""
        out = bytes(self.received[self.mark :])
        self.mark = len(self.received)
        return out

    async def wait_for(
        self, *patterns: bytes, turns: int = MAX_TURNS, timeout: float = REAL_TIMEOUT
    ) -> bytes:
        """Wait until one of ``patterns`` appears after the mark; return up to its end.

        At time scale 0 this waits at most ``turns`` event-loop turns; on a module whose
        clock runs in (scaled) real time, at most ``timeout`` real seconds."""
        real = self.module.clock.scale > 0
        deadline = asyncio.get_running_loop().time() + timeout
        for _ in range(turns if not real else 1 << 62):
            tail = bytes(self.received[self.mark :])
            hits = [(tail.find(p), p) for p in patterns if p in tail]
            if hits:
                index, pattern = min(hits)
                end = self.mark + index + len(pattern)
                out = bytes(self.received[self.mark : end])
                self.mark = end
                return out
            if real:
                if asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.001)
            else:
                await asyncio.sleep(0)
        raise AssertionError(
            f"none of {patterns!r} arrived; got {bytes(self.received[self.mark :])!r}"
        )

    async def cmd(self, line: str | bytes) -> bytes:
        """Send one command line (CR LF added) and return all output up to its final result."""
        data = line.encode() if isinstance(line, str) else line
        self.port.feed(data + b"\r\n")
        return await self.wait_for(*FINALS)

    async def settle(self, turns: int = 200) -> bytes:
        """Let the module run a while and return whatever it transmitted."""
        for _ in range(turns):
            await asyncio.sleep(0)
        return self.take()


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


async def assert_no_tasks_left(turns: int = 500) -> None:
    """Fail unless every task but the current one has ended within ``turns`` loop turns
    (the clock's scale-0 driver and closing sockets end on their own shortly)."""
    current = asyncio.current_task()
    left: list[asyncio.Task[object]] = []
    for _ in range(turns):
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not left:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"tasks left running: {left}")
