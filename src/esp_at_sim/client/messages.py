"""What the client hands out: command answers (:class:`Response`) and unsolicited
reports (:class:`Urc`, delivered through :class:`UrcStream`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from .errors import (
    AtClientError,
    AtCommandError,
    AtConnectionError,
    AtTimeoutError,
    JoinError,
    JoinReason,
)
from .protocol import FAILURES, command_name

UrcMatch = str | bytes | Callable[["Urc"], bool]


@dataclass(frozen=True)
class Urc:
    """An unsolicited line. ``data`` is the payload of an ``+IPD`` report; ``known`` is
    false for lines that are not a documented report (stray output, boot noise);
    ``in_answer`` is true for the Wi-Fi reports that are also part of AT+CWJAP's answer."""

    line: bytes
    data: bytes | None = None
    known: bool = True
    in_answer: bool = False

    @property
    def text(self) -> str:
        return self.line.decode("utf-8", "replace")


@dataclass(frozen=True)
class Response:
    """A command's answer: its information lines (echo and blank lines removed), its
    final result (``OK``, ``ERROR``, ``SEND OK``, ``SEND FAIL``, ``SET OK``, or ``>``
    when it ended at a data prompt) and the ``ERR CODE`` number, if one was printed."""

    command: bytes
    lines: tuple[bytes, ...]
    final: str
    code: int | None = None

    @property
    def ok(self) -> bool:
        return self.final not in FAILURES

    def payload(self, name: str) -> list[bytes]:
        """The lines ``+NAME:…`` with that prefix removed (``name`` with or without ``+``)."""
        prefix = ("+" + name.lstrip("+")).encode() + b":"
        return [line[len(prefix) :] for line in self.lines if line.startswith(prefix)]


class UrcStream:
    """URCs from the moment the stream was made, in arrival order.

    Use ``async for urc in client.urcs()``; the iteration ends when the client closes.
    At most ``maxsize`` unread URCs are kept (the oldest are dropped beyond that). Leave
    with ``async with`` or :meth:`close` to stop collecting.
    """

    def __init__(self, maxsize: int, on_close: Callable[[UrcStream], None]) -> None:
        self._on_close = on_close
        self._queue: asyncio.Queue[Urc | None] = asyncio.Queue(maxsize)

    def put(self, urc: Urc | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(urc)

    def __aiter__(self) -> UrcStream:
        return self

    async def __anext__(self) -> Urc:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # stay ended
            raise StopAsyncIteration
        return item

    async def get(self, timeout: float | None = None) -> Urc:
        """The next URC; :class:`AtTimeoutError` after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError:
            raise AtTimeoutError(f"no URC within {timeout} s") from None
        except StopAsyncIteration:
            raise AtConnectionError("the client is closed") from None

    def close(self) -> None:
        """Stop collecting; an iteration in progress ends."""
        self._on_close(self)
        self.put(None)

    async def __aenter__(self) -> UrcStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def urc_matcher(match: UrcMatch) -> Callable[[Urc], bool]:
    """A predicate from a prefix (str or bytes) or a predicate."""
    if callable(match):
        return match
    prefix = match.encode() if isinstance(match, str) else match
    return lambda urc: urc.line.startswith(prefix)


def command_error(response: Response) -> AtClientError:
    """The exception for a failed answer: :class:`JoinError` for AT+CWJAP's
    ``+CWJAP:<code>``, else :class:`AtCommandError`."""
    if command_name(response.command) == b"AT+CWJAP":
        for payload in response.payload("CWJAP"):
            if payload.strip().isdigit():
                reason: JoinReason | int = int(payload)
                with contextlib.suppress(ValueError):
                    reason = JoinReason(reason)
                return JoinError(response.command, reason, response.lines, response.code)
    return AtCommandError(response.command, response.lines, response.code, response.final)
