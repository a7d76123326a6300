"""Sharing the event loop's turns: at most so many pieces of work start per turn.

The module, its web server and its captive DNS share one event loop, and a turn of the
loop runs every callback that is ready before it looks at the sockets again. A crowd of
HTTP clients could fill one turn with hundreds of requests, and a line on the AT port,
which is read between turns, would wait for all of them. A :class:`TurnBudget` lets
``per_turn`` callers through per turn (:meth:`TurnBudget.admit`); the rest wait, in the
order they came, and go through ``per_turn`` at a time in later turns, each of which
reads the sockets (the AT port among them) first.

A turn is counted from the first admission after the last count: the count starts again
in the next turn of the loop (one ``call_soon`` later), so admissions made while that
reset waits belong to the current turn.
"""

from __future__ import annotations

import asyncio
from collections import deque


class TurnBudget:
    """At most ``per_turn`` admissions per turn of the running loop, first come first
    served."""

    def __init__(self, per_turn: int) -> None:
        if per_turn < 1:
            raise ValueError("per_turn must be at least 1")
        self.per_turn = per_turn
        self._used = 0
        self._reset: asyncio.Handle | None = None
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def admit(self) -> None:
        """Return at once while this turn has room and nobody waits; otherwise wait for
        a later turn with room."""
        if self._used < self.per_turn and not self._waiting:
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)  # (a count of the next turn is pending: see _take)
        await future  # cancelled: _next_turn skips it

    def _take(self) -> None:
        self._used += 1
        if self._reset is None:
            self._reset = asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._reset = None
        self._used = 0
        while self._waiting and self._used < self.per_turn:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)
                self._take()  # (which counts the next turn in when it is the first)
