"""Fixtures: a module in the Wi-Fi test scenario, closed cleanly afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.testing import assert_no_tasks_left

from .harness import At, boot

Boot = Callable[..., Awaitable[At]]


@pytest.fixture
async def make_at() -> AsyncIterator[Boot]:
    """Boot modules (any scenario, any store); all are closed at the end and no task of
    theirs may be left running."""
    made: list[At] = []

    async def make(*args: object, **kwargs: object) -> At:
        at = await boot(*args, **kwargs)  # type: ignore[arg-type]
        made.append(at)
        return at

    yield make
    for at in made:
        await at.module.close()
    await assert_no_tasks_left()


@pytest.fixture
async def at(make_at: Boot) -> At:
    return await make_at()


@pytest.fixture
def store() -> MemorySettingsStore:
    return MemorySettingsStore()
