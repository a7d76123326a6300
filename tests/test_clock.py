"""The clock's rule at time scale 0: simulated time stands still while the event loop has
work, and the earliest timer fires, alone, when it has none."""

from __future__ import annotations

import asyncio

import pytest

from esp_at_sim.core.clock import Clock
from esp_at_sim.testing import assert_no_tasks_left


async def spin(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_a_woken_task_runs_to_its_next_wait_before_the_next_timer() -> None:
    """However many loop turns a woken task takes before it sets its next timer, that
    timer keeps its place in deadline order."""
    clock = Clock(scale=0)
    log: list[tuple[str, float]] = []

    async def busy() -> None:
        await clock.sleep(1.0)
        log.append(("busy", clock.now()))
        await spin(500)  # a long way to the next wait
        await clock.sleep(0.1)
        log.append(("busy", clock.now()))

    async def other() -> None:
        await clock.sleep(1.5)
        log.append(("other", clock.now()))

    await asyncio.gather(busy(), other())
    assert log == [("busy", 1.0), ("busy", 1.1), ("other", 1.5)]
    await assert_no_tasks_left()


async def test_simulated_time_stands_still_while_the_loop_has_work() -> None:
    clock = Clock(scale=0)
    sleeper = asyncio.ensure_future(clock.sleep(1.0))
    await spin(1000)  # this task is always ready: the loop is never idle
    assert clock.now() == 0.0 and not sleeper.done()
    await sleeper  # now the loop goes idle and the timer fires
    assert clock.now() == 1.0
    await assert_no_tasks_left()


async def test_equal_deadlines_fire_in_the_order_they_were_set() -> None:
    clock = Clock(scale=0)
    order: list[int] = []

    async def wait(n: int) -> None:
        await clock.sleep(2.0)
        order.append(n)

    await asyncio.gather(*(wait(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]


async def test_clocks_on_one_loop_take_turns_in_deadline_order() -> None:
    """Two scale-0 clocks (two modules in one test) share the loop without keeping each
    other busy; their timers fire in one deadline order."""
    first, second = Clock(scale=0), Clock(scale=0)
    log: list[tuple[str, float]] = []

    async def tick(name: str, clock: Clock, step: float, count: int) -> None:
        for _ in range(count):
            await clock.sleep(step)
            log.append((name, clock.now()))

    await asyncio.gather(tick("a", first, 1.0, 3), tick("b", second, 1.5, 2))
    # at 3.0 the timer set first (b's, at 1.5) fires first
    assert log == [("a", 1.0), ("b", 1.5), ("a", 2.0), ("b", 3.0), ("a", 3.0)]
    await assert_no_tasks_left()


async def test_a_cancelled_sleeper_neither_fires_nor_holds_the_driver() -> None:
    clock = Clock(scale=0)
    sleeper = asyncio.ensure_future(clock.sleep(5.0))
    await asyncio.sleep(0)
    sleeper.cancel()
    await assert_no_tasks_left()  # the scale-0 driver ended too
    await clock.sleep(1.0)
    assert clock.now() == 1.0  # the cancelled 5 s timer never moved time


def test_scale_0_on_a_loop_without_asyncios_ready_queue_fails_in_the_sleeper() -> None:
    """uvloop keeps its ready callbacks out of sight: the sleeper gets the reason at
    once instead of waiting for ever behind a driver that died."""
    uvloop = pytest.importorskip("uvloop")

    async def nap() -> None:
        await Clock(scale=0).sleep(1.0)

    with pytest.raises(RuntimeError, match="time scale 0 needs an asyncio event loop"):
        uvloop.run(asyncio.wait_for(nap(), 10))
