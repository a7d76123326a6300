"""Fixtures of the applet tests: rigs (see :mod:`.rig`) closed afterwards, with a check
that no task is left running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from esp_at_sim.testing import assert_no_tasks_left

from .rig import Rig, close_rig, open_rig

MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig() -> AsyncIterator[MakeRig]:
    made: list[Rig] = []

    async def make(*args: Any, **kwargs: Any) -> Rig:
        rig = await open_rig(*args, **kwargs)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await close_rig(rig)
    await assert_no_tasks_left()
