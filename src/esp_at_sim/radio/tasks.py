"""Background tasks of the simulated radio, kept so that closing the radio leaves none."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    """Tasks started on the running loop, forgotten when they finish, cancelled together."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        # an ordered set (a dict: an empty one costs a third of an empty set)
        self._tasks: dict[asyncio.Task[None], None] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start ``coro`` as a task (needs a running event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            raise RuntimeError("the simulated radio needs a running event loop") from None
        task = loop.create_task(coro)
        self._tasks[task] = None
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    @staticmethod
    def cancel(tasks: list[asyncio.Task[None]] | tuple[asyncio.Task[None], ...]) -> None:
        """Cancel ``tasks``, except the one running this call (it is about to end anyway)."""
        current = _current_task()
        for task in tasks:
            if task is not current:
                task.cancel()

    async def close(self) -> None:
        """Cancel every task and wait until they have all finished."""
        current = _current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
