"""Limits on the web server's connections: how long a request head may take, how long an
idle keep-alive connection stays open, how large a head may grow, and how many
connections are open at once.

A real module's server (ESP-IDF's ``esp_http_server``) holds a handful of sockets and,
when a new client arrives with all of them taken, closes the least recently used one.
We do the same with a larger cap (:attr:`HttpLimits.max_connections`), closing the least
recently used *idle* connection (one waiting for its next request, or one still sending
a request head); a connection busy with a request (an upload) is never cut, and when
every slot is busy the newcomer gets ``503``. A request head must be complete within
:attr:`~HttpLimits.head_timeout` of its first byte (else ``408``) and within
:attr:`~HttpLimits.max_head` bytes (else ``414`` while the request line is unfinished,
``431`` after it); a connection that sends nothing for
:attr:`~HttpLimits.idle_timeout` is closed without a word, as HTTP servers close idle
keep-alive connections. All three answers carry a JSON body and close the connection.

The timeouts are in the module's seconds: at time scale ``F > 0`` they take ``F`` times
as long in real time (so tests run them in milliseconds); at time scale 0, where the
module's time does not follow the wall clock at all, they are real seconds.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from http import HTTPStatus
from typing import Any

from aiohttp import web

from .config import HttpLimits
from .http import JsonErrorConnection
from .wire import JSON_TYPE, quoted

LINGER = 2.0  # real seconds a refused connection drops input before it is closed


def raw_error(status: int, message: str) -> bytes:
    """A complete ``HTTP/1.1`` answer with our JSON error body, closing the connection:
    for the refusals sent before (or instead of) a request aiohttp would handle."""
    body = f'{{"state": 1, "error": {quoted(message)}}}'.encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {JSON_TYPE}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class ConnectionPool:
    """The open connections of one running server, least recently used first."""

    def __init__(self, limits: HttpLimits, time_scale: float) -> None:
        self.limits = limits
        self._scale = time_scale
        self._open: OrderedDict[LimitedConnection, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def real(self, seconds: float) -> float:
        """Real seconds for ``seconds`` of module time (see the module docstring)."""
        return seconds * self._scale if self._scale > 0 else seconds

    def admit(self, connection: LimitedConnection) -> bool:
        """Take ``connection`` in, closing the least recently used idle one when the cap
        is reached; ``False`` when every connection is busy."""
        if len(self._open) >= self.limits.max_connections:
            victim = next((c for c in self._open if c.lingering), None)
            victim = victim or next((c for c in self._open if c.idle), None)
            if victim is None:
                return False
            self.leave(victim)
            victim.force_close()
        self._open[connection] = None
        return True

    def touch(self, connection: LimitedConnection) -> None:
        """``connection`` was just used (it becomes the most recently used)."""
        try:  # noqa: SIM105 - on every chunk received: cheaper than suppress()
            self._open.move_to_end(connection)
        except KeyError:  # (it has left)
            pass

    def leave(self, connection: LimitedConnection) -> None:
        self._open.pop(connection, None)


class LimitedConnection(JsonErrorConnection):
    """aiohttp's connection handler held to the limits of its :class:`ConnectionPool`."""

    def __init__(self, manager: web.Server, *, pool: ConnectionPool, **options: Any) -> None:
        super().__init__(manager, keepalive_timeout=pool.real(pool.limits.idle_timeout), **options)
        self._pool = pool
        self._touch = pool.touch
        # a chunk that starts with a whole head shorter than this needs no counting
        self._whole_head = pool.limits.max_head - 3
        self._head_bytes = 0  # bytes of an unfinished request head so far
        self._head_tail = b""  # its last bytes (a head end may straddle two reads)
        self._line_done = False  # whether its request line is complete
        self._head_timer: asyncio.TimerHandle | None = None
        self._body: Any = None  # the body stream of the last request received
        self._linger: asyncio.TimerHandle | None = None

    @property
    def idle(self) -> bool:
        """Waiting for a request (or for the rest of its head): nothing to lose. A
        request counts from its complete head to the end of its body and its answer."""
        if self._request_in_progress or self._messages or self._force_close:
            return False
        return self._body is None or bool(self._body.is_eof())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self._pool.admit(self):
            self._refuse(503, "too many connections", linger=False)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._pool.leave(self)
        self._stop_head_timer()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio allows True
        """The client shut down its sending side. With a body still owed, the request
        fails the way a broken-off body does (answered 400, an upload 500), and the
        connection stays open until that answer is sent."""
        body = self._body
        if body is not None and not body.is_eof() and body.exception() is None:
            body.set_exception(ConnectionResetError("the body ended before its length"))
            return True
        return None

    def data_received(self, data: bytes) -> None:
        if self._force_close or self._close:
            return
        self._touch(self)
        # The usual case: a whole head within the limit (and whatever follows it), with
        # no part of a head pending, so nothing to count (blank lines before a head are
        # not part of it: the slow way strips them).
        if (
            not self._head_bytes
            and 0 < data.find(b"\r\n\r\n") < self._whole_head
            and data[0] not in b"\r\n"
        ):
            super().data_received(data)
            if self._messages:
                self._body = self._messages[-1][1]
            return
        if self.idle:
            refusal = self._count_head(data)
            if refusal is not None:
                self._refuse(*refusal)
                return
        super().data_received(data)
        if self._messages:
            self._body = self._messages[-1][1]
        if not self.idle:  # a complete head: its request runs
            self._head_done()
        elif self._head_bytes and self._head_timer is None:
            delay = self._pool.real(self._pool.limits.head_timeout)
            self._head_timer = asyncio.get_running_loop().call_later(delay, self._head_late)

    def _count_head(self, data: bytes) -> tuple[int, str] | None:
        """Add the head bytes in ``data`` to the count; the refusal when the head grows
        past the limit. Blank lines before a request do not count (RFC 9112, 2.2)."""
        if not self._head_bytes:
            data = data.lstrip(b"\r\n")
            if not data:
                return None
        seen = self._head_tail + data
        end = seen.find(b"\r\n\r\n")
        size = self._head_bytes + (len(data) if end < 0 else end + 4 - len(self._head_tail))
        self._line_done = self._line_done or b"\n" in seen[: end if end >= 0 else len(seen)]
        if size > self._pool.limits.max_head:
            if not self._line_done:
                return 414, "request line too long"
            return 431, "request header fields too large"
        if end >= 0:
            self._head_done()
        else:
            self._head_bytes, self._head_tail = size, seen[-3:]
        return None

    def _head_done(self) -> None:
        self._head_bytes, self._head_tail, self._line_done = 0, b"", False
        self._stop_head_timer()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.idle and self._head_bytes:
            self._refuse(408, "request head not complete in time")

    @property
    def lingering(self) -> bool:
        """Refused, and dropping what the client still sends until it goes."""
        return self._linger is not None

    def _refuse(self, status: int, message: str, *, linger: bool = True) -> None:
        """Answer ``status`` with a JSON body and end the connection. With ``linger`` the
        connection first half-closes and drops what the client still sends for up to
        :data:`LINGER` seconds: closing at once with unread input would reset the
        connection and could destroy the answer before the client reads it."""
        self._stop_head_timer()
        transport = self.transport
        if not linger or transport is None or transport.is_closing():
            self._pool.leave(self)
            if transport is not None and not transport.is_closing():
                transport.write(raw_error(status, message))
            self.force_close()
            return
        self._force_close = True  # aiohttp takes no request from it any more
        if self._waiter is not None:
            self._waiter.cancel()
        transport.write(raw_error(status, message))
        if transport.can_write_eof():
            transport.write_eof()
        self._linger = asyncio.get_running_loop().call_later(LINGER, self.force_close)
