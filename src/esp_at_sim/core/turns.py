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
import select
import weakref
from collections import deque
from collections.abc import Callable


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

    def take(self) -> bool:
        """Admit at once if this turn has room and nobody waits (``False``: call
        :meth:`admit`); no coroutine, for callers on a hot path."""
        if self._used < self.per_turn and not self._waiting:
            self._take()
            return True
        return False

    async def admit(self) -> None:
        """Return at once while this turn has room and nobody waits; otherwise wait for
        a later turn with room."""
        if self.take():
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


class PriorityInput:
    """An input that other work of the loop lets in first: the AT port of a module.

    A real module runs its AT task and its web server as separate tasks, and a line on
    the UART does not wait for the web server's queue. On one event loop it would: a
    turn runs every callback that is ready (a crowd of HTTP requests) before the loop
    reads the sockets again. So the web server, between two units of its work (before
    each request it starts), calls :func:`serve_first` for its module; when the AT port
    has bytes waiting, they are read and handed to the module right there, ahead of the
    rest of the turn. The look is one ``poll`` of the port's descriptor, with no wait.

    ``serve`` reads what waits and hands it on, and decides whether it may (it does
    nothing while earlier input still waits for its turn, so a flood of lines keeps
    its per-turn limit). It runs from a callback of other work, never inside it: the
    caller is at a boundary between units, as if the port's own callback had come
    first in the turn.
    """

    __slots__ = ("_poller", "_serve", "fd")

    def __init__(self, fd: int, serve: Callable[[], None]) -> None:
        self.fd = fd
        self._serve = serve
        self._poller: select.poll | None = None  # made at the first look (most never)

    def check(self) -> bool:
        """Serve the input when something waits on it; whether something did."""
        poller = self._poller
        if poller is None:
            poller = self._poller = select.poll()
            poller.register(self.fd, select.POLLIN)
        if not poller.poll(0):
            return False
        self._serve()
        return True


# Each owner's (a module's) priority input, while its port has a client.
_PRIORITY: weakref.WeakKeyDictionary[object, PriorityInput] = weakref.WeakKeyDictionary()


def give_priority(owner: object, fd: int, serve: Callable[[], None]) -> Callable[[], None]:
    """Make descriptor ``fd`` ``owner``'s priority input (replacing any other); returns
    the function that takes the priority back (safe to call more than once)."""
    entry = PriorityInput(fd, serve)
    _PRIORITY[owner] = entry

    def revoke() -> None:
        if _PRIORITY.get(owner) is entry:
            del _PRIORITY[owner]

    return revoke


def serve_first(owner: object) -> None:
    """Called by other work of ``owner`` between two of its units: serve ``owner``'s
    priority input if bytes wait on it."""
    entry = _PRIORITY.get(owner)
    if entry is not None:
        entry.check()
