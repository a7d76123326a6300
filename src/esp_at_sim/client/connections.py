"""Typed connections through the module: open, send, receive, close, serve.

:class:`Connections` is part of :class:`~.client.AtClient`. A :class:`Connection` is one
link (``AT+CIPSTART``): :meth:`Connection.send` sends with ``AT+CIPSEND`` (8192 bytes at
a time), iterating it (``async for data in conn``) yields each ``+IPD`` payload until
the link closes, :meth:`Connection.read` reads in passive receive mode
(``AT+CIPRECVDATA``), :meth:`Connection.close` closes it. :meth:`Connections.serve`
starts ``AT+CIPSERVER`` and :meth:`Server.accept` waits for the next ``<id>,CONNECT``.

Works in both ``AT+CIPMUX`` modes (the mode in force when the connection opens), on a
real module as on the simulated one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .core import AtCore
from .errors import AtConnectionError, AtParseError
from .messages import Urc, UrcStream
from .protocol import Param

SEND_MAX = 8192  # AT+CIPSEND's longest data
_CONNECT = re.compile(rb"(\d+),CONNECT")


@dataclass(frozen=True)
class LinkState:
    """One line of ``AT+CIPSTATE?``."""

    link_id: int
    type: str
    remote_ip: str
    remote_port: int
    local_port: int
    server: bool


def parse_cipstate(lines: tuple[bytes, ...]) -> list[LinkState]:
    out = []
    for line in lines:
        if not line.startswith(b"+CIPSTATE:"):
            continue
        fields = line[len(b"+CIPSTATE:") :].decode("utf-8", "replace").split(",")
        if len(fields) != 6:
            raise AtParseError(f"unexpected AT+CIPSTATE line {line!r}")
        link, kind, ip, rport, lport, tetype = fields
        out.append(
            LinkState(
                int(link), kind.strip('"'), ip.strip('"'), int(rport), int(lport), tetype == "1"
            )
        )
    return out


class Connection:
    """One open link of the module (``link_id`` is ``None`` in single connection mode)."""

    def __init__(self, client: AtCore, link_id: int | None, urcs: UrcStream) -> None:
        self.client = client
        self.link_id = link_id
        self._urcs = urcs
        self.closed = False

    def _ids(self) -> tuple[Param, ...]:
        return () if self.link_id is None else (self.link_id,)

    def _mine(self, urc: Urc) -> bytes | None:
        """The payload of an ``+IPD`` of this link, ``b""`` for its ``CLOSED``, else None."""
        prefix = b"" if self.link_id is None else f"{self.link_id},".encode()
        if urc.line == prefix + b"CLOSED":
            return b""
        if urc.data is not None and urc.line.startswith(b"+IPD," + prefix):
            fields = urc.line[len(b"+IPD,") :].split(b",")
            if len(fields) >= (1 if self.link_id is None else 2):
                return urc.data
        return None

    async def send(self, data: bytes, *, timeout: float | None = None) -> None:
        """Send ``data`` (in pieces of 8192 bytes); ``AtCommandError`` on ``SEND FAIL``."""
        for start in range(0, len(data), SEND_MAX):
            piece = data[start : start + SEND_MAX]
            await self.client.send_data(
                "AT+CIPSEND", piece, *self._ids(), len(piece), timeout=timeout
            )

    async def send_to(self, data: bytes, host: str, port: int) -> None:
        """UDP: send one datagram to ``host``:``port`` instead of the link's remote."""
        await self.client.send_data("AT+CIPSEND", data, *self._ids(), len(data), host, port)

    async def receive(self, timeout: float = 5.0) -> bytes:
        """The next ``+IPD`` payload; ``b""`` once the link has closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            urc = await self._urcs.get(max(0.0, deadline - loop.time()))
            data = self._mine(urc)
            if data == b"":
                self.closed = True
            elif data is not None:
                return data
        return b""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while data := await self.receive(timeout=3600.0):
            yield data

    async def read(self, size: int) -> bytes:
        """Passive receive: up to ``size`` buffered bytes (``AT+CIPRECVDATA``)."""
        response = await self.client.send("AT+CIPRECVDATA", *self._ids(), size, check=False)
        if not response.ok:
            return b""
        line = next((x for x in response.lines if x.startswith(b"+CIPRECVDATA:")), None)
        if line is None:
            raise AtParseError(f"no +CIPRECVDATA: in {response.lines!r}")
        head, _, rest = line.partition(b",")
        length = int(head[len(b"+CIPRECVDATA:") :])
        return rest[-length:] if length else b""

    async def close(self) -> None:
        """``AT+CIPCLOSE``; closing a link the remote already closed is no error."""
        if self.link_id is None:
            await self.client.send("AT+CIPCLOSE", check=False)
        else:
            await self.client.send("AT+CIPCLOSE", self.link_id, check=False)
        self.closed = True
        self._urcs.close()


class Server:
    """The module's ``AT+CIPSERVER``; :meth:`accept` gives each client as a
    :class:`Connection`."""

    def __init__(self, client: AtCore, port: int, urcs: UrcStream) -> None:
        self.client = client
        self.port = port
        self._urcs = urcs

    async def accept(self, timeout: float = 5.0) -> Connection:
        """Wait for the next ``<id>,CONNECT``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            urc = await self._urcs.get(max(0.0, deadline - loop.time()))
            match = _CONNECT.fullmatch(urc.line)
            if match:
                return Connection(self.client, int(match.group(1)), self.client.urcs())

    async def close(self, close_clients: bool = True) -> None:
        """``AT+CIPSERVER=0,1`` (``=0,0`` keeps the clients)."""
        await self.client.send("AT+CIPSERVER", 0, int(close_clients))
        self._urcs.close()


class Connections(AtCore):
    """The TCP/IP connection methods of :class:`~.client.AtClient`."""

    async def _link_id(self, link_id: int | None) -> int | None:
        mux = b"+CIPMUX:1" in (await self.send("AT+CIPMUX?")).lines
        if not mux:
            return None
        if link_id is not None:
            return link_id
        used = {state.link_id for state in await self.cipstate()}
        free = [i for i in range(5) if i not in used]
        if not free:
            raise AtConnectionError("every link ID is in use")
        return free[0]

    async def cipstate(self) -> list[LinkState]:
        """AT+CIPSTATE?: the open links."""
        return parse_cipstate((await self.send("AT+CIPSTATE?")).lines)

    async def _open(self, link_id: int | None, *params: Param, timeout: float | None) -> Connection:
        chosen = await self._link_id(link_id)
        urcs = self.urcs()  # before the command: no +IPD may slip by
        ids: tuple[Param, ...] = () if chosen is None else (chosen,)
        try:
            await self.send("AT+CIPSTART", *ids, *params, timeout=timeout)
        except BaseException:
            urcs.close()
            raise
        return Connection(self, chosen, urcs)

    async def open_tcp(
        self,
        host: str,
        port: int,
        *,
        link_id: int | None = None,
        keep_alive: int | None = None,
        timeout: float | None = None,
    ) -> Connection:
        """``AT+CIPSTART=[<id>,]"TCP",<host>,<port>[,<keep_alive>]``."""
        extra: tuple[Param, ...] = () if keep_alive is None else (keep_alive,)
        return await self._open(link_id, "TCP", host, port, *extra, timeout=timeout)

    async def open_ssl(
        self, host: str, port: int, *, link_id: int | None = None, timeout: float | None = None
    ) -> Connection:
        """``AT+CIPSTART=[<id>,]"SSL",<host>,<port>``."""
        return await self._open(link_id, "SSL", host, port, timeout=timeout)

    async def open_udp(
        self,
        host: str,
        port: int,
        *,
        local_port: int = 0,
        mode: int = 0,
        link_id: int | None = None,
        timeout: float | None = None,
    ) -> Connection:
        """``AT+CIPSTART=[<id>,]"UDP",<host>,<port>,<local port>,<mode>``."""
        return await self._open(link_id, "UDP", host, port, local_port, mode, timeout=timeout)

    async def serve(
        self, port: int = 333, *, max_conn: int | None = None, idle_timeout: int | None = None
    ) -> Server:
        """``AT+CIPMUX=1``, ``AT+CIPSERVERMAXCONN``, ``AT+CIPSERVER=1,<port>`` and
        ``AT+CIPSTO``."""
        await self.send("AT+CIPMUX", 1)
        if max_conn is not None:
            await self.send("AT+CIPSERVERMAXCONN", max_conn)
        urcs = self.urcs()
        try:
            await self.send("AT+CIPSERVER", 1, port)
            if idle_timeout is not None:
                await self.send("AT+CIPSTO", idle_timeout)
        except BaseException:
            urcs.close()
            raise
        return Server(self, port, urcs)
