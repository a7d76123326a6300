"""LazyEvent behaves as asyncio.Event, whether or not anything ever waited on it."""

from __future__ import annotations

import asyncio

from esp_at_sim.core.lazy import LazyEvent


async def test_a_set_event_is_waited_on_at_once_and_makes_no_real_event() -> None:
    event = LazyEvent()
    assert not event.is_set()
    event.set()
    assert event.is_set()
    assert await event.wait() is True
    assert event._event is None  # nothing ever had to wait
    event.clear()
    assert not event.is_set()
    assert "unset" in repr(event)


async def test_waiters_wake_on_set_and_wait_again_after_clear() -> None:
    event = LazyEvent()
    woken: list[int] = []

    async def waiter(n: int) -> None:
        await event.wait()
        woken.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert woken == []
    event.set()
    await asyncio.gather(*tasks)
    assert woken == [0, 1, 2]
    event.clear()
    late = asyncio.create_task(waiter(3))
    await asyncio.sleep(0)
    assert not late.done()
    event.set()
    await late
    assert woken == [0, 1, 2, 3]


async def test_clear_before_the_first_wait_keeps_the_waiter_waiting() -> None:
    event = LazyEvent()
    event.set()
    event.clear()
    task = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
