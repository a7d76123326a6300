"""AT+CIPSENDL: long data sent while it still arrives on the AT port.

After ``>`` the host's bytes are packed (:mod:`.packer`, AT+CIPSENDLCFG's ``<transmit
size>`` and AT+TRANSINTVL) and sent as they come. Each time the bytes sent pass a
multiple of ``<report size>`` the module prints ``+CIPSENDL:<multiple>,<received>``,
and once all ``<length>`` bytes have arrived and gone out, a last report with the total
sent, then ``SEND OK`` (``SEND FAIL`` when not everything went). ``+++`` with its guard
times cancels: ``SEND CANCELLED``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ..at.table import Result
from ..radio.network import NetError, NetFailure
from .links import Link
from .packer import Packer

if TYPE_CHECKING:
    from .module import Module


class SendL:
    """One AT+CIPSENDL, from ``>`` to its final result."""

    def __init__(self, module: Module, link: Link, length: int, to: tuple[str, int] | None) -> None:
        self.module = module
        self.link = link
        self.length = length
        self.to = to
        config = module.net.sendl
        self.report_size = config.report_size
        self.received = 0
        self.sent = 0
        self._reported = 0
        self._failed = False
        self._packets: deque[bytes] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._packer = Packer(
            module, config.transmit_size, module.passthrough.interval, self._packet, self.cancel
        )

    def start(self) -> None:
        self.module.expect_stream(self.feed, limit=self.length)

    def feed(self, data: bytes) -> Coroutine[Any, Any, Result] | None:
        self.received += len(data)
        self._packer.feed(data)
        if self.received < self.length:
            return None
        self._packer.flush()
        self._packer.stop()
        return self._finish()

    def cancel(self) -> None:
        """``+++``: stop here."""
        self._packer.stop()
        self._packets.clear()
        if self._sender is not None:
            self._sender.cancel()
        self.module.emit("net.sendl_cancelled", link=self.link.id, sent=self.sent)
        self.module.end_stream(Result(final="SEND CANCELLED"))

    def _packet(self, packet: bytes) -> None:
        self._packets.append(packet)
        self._idle.clear()
        if self._sender is None or self._sender.done():
            self._sender = self.module.spawn(self._send(), name="cipsendl")

    async def _send(self) -> None:
        links = self.module.links
        try:
            while self._packets:
                packet = self._packets.popleft()
                if self._failed or links.get(self.link.id) is not self.link:
                    self._failed = True
                    continue
                try:
                    await links.send(self.link, packet, await self._remote())
                except NetError:
                    self._failed = True
                    continue
                self.sent += len(packet)
                self._report_progress()
        finally:
            self._idle.set()

    async def _remote(self) -> tuple[str, int] | None:
        if self.to is None:
            return None
        network = self.module.links.network
        ip = await network.resolve(self.to[0]) if network is not None else None
        if ip is None:
            raise NetError(NetFailure.CLOSED, f"{self.to[0]} does not resolve")
        return ip, self.to[1]

    def _report_progress(self) -> None:
        size = self.report_size
        while self._reported + size <= self.sent:
            self._reported += size
            self._report(self._reported)

    def _report(self, sent: int) -> None:
        self.module.engine.reply("", f"+CIPSENDL:{sent},{self.received}")
        self.module.flush()

    async def _finish(self) -> Result:
        await self._idle.wait()
        if self.sent != self._reported:
            self._report(self.sent)
        ok = not self._failed and self.sent == self.length
        return Result(final="SEND OK" if ok else "SEND FAIL")
