"""An in-process transport: the test (or an embedding program) is the client."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .base import Transport

if TYPE_CHECKING:
    from ..device.module import Module


class MemoryTransport(Transport):
    """The AT port as a buffer: :meth:`send` is the client typing, :attr:`received`
    collects what the module transmitted while :attr:`connected` is true."""

    def __init__(self, *, paced: bool = False) -> None:
        super().__init__(paced=paced)
        self.received = bytearray()
        self._connected = True
        self._changed = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, value: bool) -> None:
        """Plug the client in or out; output while unplugged is lost."""
        self._connected = value
        if not value and self._bridge is not None:
            self._bridge.drop_output()

    async def start(self, module: Module) -> None:
        self._make_bridge(module, self._write).attach()

    def describe(self) -> str:
        return "AT port: memory"

    def send(self, data: bytes) -> None:
        """Bytes from the client to the module."""
        if self._connected:
            self.bridge.receive(data)

    def _write(self, data: bytes) -> None:
        if self._connected:
            self.received += data
            self._changed.set()

    async def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        """Wait until ``marker`` has been received; return and consume everything up to
        and including it."""

        async def wait() -> bytes:
            while True:
                index = self.received.find(marker)
                if index >= 0:
                    end = index + len(marker)
                    out = bytes(self.received[:end])
                    del self.received[:end]
                    return out
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    def take(self) -> bytes:
        """Everything received so far (consumed)."""
        out = bytes(self.received)
        self.received.clear()
        return out

    async def close(self) -> None:
        await self._close_bridge()
