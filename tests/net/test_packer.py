"""The packer's timers in a chosen order: the host's clock and its waits are the test's,
so that an AT+TRANSINTVL interval can be made to end inside the guard time of a +++."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from esp_at_sim.core.clock import Clock
from esp_at_sim.device import packer as packer_module
from esp_at_sim.device.module import Module
from esp_at_sim.device.packer import GUARD, Packer


@dataclass
class HostTime:
    """Stands in for the host's clock: ``now`` is set by the test, and every wait is a
    future the test resolves when it wants that timer to fire."""

    now: float = 0.0
    waits: list[tuple[float, asyncio.Future[None]]] = field(default_factory=list)

    def host_now(self, clock: Clock) -> float:
        return self.now

    async def host_sleep(self, clock: Clock, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waits.append((seconds, future))
        await future

    async def fire(self, seconds: float) -> None:
        """Let the pending wait of ``seconds`` end (the others keep waiting)."""
        for _ in range(10):  # the timer task must have started its wait
            if any(s == seconds and not f.done() for s, f in self.waits):
                break
            await asyncio.sleep(0)
        future = next(f for s, f in self.waits if s == seconds and not f.done())
        future.set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)


@dataclass
class FakeModule:
    clock: Clock = field(default_factory=Clock)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def spawn(self, coro: Any, name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task


async def test_an_interval_ending_inside_the_guard_leaves_the_plus_signs_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = HostTime()
    monkeypatch.setattr(packer_module, "host_now", host.host_now)
    monkeypatch.setattr(packer_module, "host_sleep", host.host_sleep)
    module = FakeModule()
    packets: list[bytes] = []
    escapes: list[bool] = []
    packer = Packer(cast(Module, module), 2920, 60, packets.append, lambda: escapes.append(True))
    try:
        host.now = 1.0
        packer.feed(b"x" * 100)  # waits for 60 ms of silence
        host.now = 1.05  # 50 ms of silence: more than the guard
        packer.feed(b"+++")
        host.now = 1.06
        await host.fire(0.060)  # the interval ends: the x's go, the pluses wait
        assert packets == [b"x" * 100] and escapes == []
        host.now = 1.07
        await host.fire(GUARD)  # the silence after +++: it is the escape
        assert escapes == [True]
        assert packets == [b"x" * 100]  # no plus sign ever went out as data
    finally:
        packer.stop()
        for task in module.tasks:
            task.cancel()
        await asyncio.gather(*module.tasks, return_exceptions=True)
