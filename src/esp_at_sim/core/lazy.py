"""An :class:`asyncio.Event` that costs nothing until something waits on it.

A module holds a few events (booted, an upload gate, a server's wake-up) that most
modules of a fleet never wait on; an :class:`asyncio.Event` allocates its waiter queue
(about 600 bytes) when it is made. :class:`LazyEvent` keeps the flag itself and makes
the real event at the first :meth:`LazyEvent.wait` that has to wait, so it behaves as
one (``set``, ``clear``, ``is_set``, ``wait``; a set event's ``wait`` returns at once).
"""

from __future__ import annotations

import asyncio
from typing import Literal


class LazyEvent:
    """:class:`asyncio.Event`'s interface; the event is made on the first real wait."""

    __slots__ = ("_event", "_set")

    def __init__(self) -> None:
        self._set = False
        self._event: asyncio.Event | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    def clear(self) -> None:
        self._set = False
        if self._event is not None:
            self._event.clear()

    async def wait(self) -> Literal[True]:
        if self._set:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        return await self._event.wait()

    def __repr__(self) -> str:
        return f"<LazyEvent {'set' if self._set else 'unset'}>"
