"""Fixtures of the applet tests: rigs (see :mod:`.rig`) closed afterwards, with a check
that no task is left running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

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
    current = asyncio.current_task()
    left: list[asyncio.Task[Any]] = []
    for _ in range(400):
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not left:
            break
        await asyncio.sleep(0)
    assert not left, f"tasks left running: {left}"
