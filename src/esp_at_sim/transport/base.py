"""What every AT-port transport provides."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from .bridge import PortBridge

if TYPE_CHECKING:
    from ..device.module import Module
    from ..device.system import UartConfig


class TransportError(OSError):
    """A transport could not be opened or failed while running (bad device, port in use)."""


class Transport(ABC):
    """Moves the bytes of one module's AT port to and from the outside world.

    A transport is started once with the module it serves and closed once. While it
    runs, whatever the module transmits goes to the connected client, or is lost when
    nobody is connected, as on a UART with nothing attached.
    """

    def __init__(self, *, paced: bool = False) -> None:
        self.paced = paced
        self._bridge: PortBridge | None = None

    @property
    def bridge(self) -> PortBridge:
        """The bridge to the module (after :meth:`start`)."""
        if self._bridge is None:
            raise RuntimeError("transport not started")
        return self._bridge

    @property
    def connected(self) -> bool:
        """Whether a client is attached to receive output right now."""
        return True

    @abstractmethod
    async def start(self, module: Module) -> None:
        """Open the port and connect it to ``module``; returns once it is listening."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect from the module and release every resource (fds, tasks, threads)."""

    @abstractmethod
    def describe(self) -> str:
        """The endpoint line ``run`` prints, e.g. ``AT port: /dev/pts/5``."""

    def _make_bridge(
        self,
        module: Module,
        write: Callable[[bytes], None],
        on_config: Callable[[UartConfig], None] | None = None,
        flow: Callable[[bool], None] | None = None,
        write_parts: Callable[[list[bytes]], None] | None = None,
    ) -> PortBridge:
        """Create the bridge (not yet attached: call ``attach()`` once listening).
        ``flow(True)`` asks the transport to stop reading, ``flow(False)`` to read again.
        ``write_parts`` writes several answers at once (default: ``write`` of them
        joined)."""
        self._bridge = PortBridge(
            module, write, paced=self.paced, on_config=on_config, flow=flow, write_parts=write_parts
        )
        return self._bridge

    async def _close_bridge(self) -> None:
        if self._bridge is not None:
            await self._bridge.close()
