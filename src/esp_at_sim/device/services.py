"""What the device layer knows of the services that sit above it.

A service above the device layer (the web server of :mod:`esp_at_sim.web`, with its
captive-portal DNS) attaches itself to a :class:`~esp_at_sim.device.module.Module` as a
typed attribute (``module.web``); the commands and the control API reach it there through
the protocol below, without importing the layer that implements it.
"""

from __future__ import annotations

from typing import Protocol


class WebService(Protocol):
    """The module's web server as ``AT+WEBSERVER`` and the control API see it."""

    @property
    def url(self) -> str | None:
        """The page's URL on the host while the server runs, else ``None``."""
        ...

    async def start(self, device_port: int, timeout: int) -> None:
        """Listen on the host port mapped to ``device_port`` (a running server only takes
        the new provisioning ``timeout``); :class:`OSError` when the port cannot be had."""
        ...

    async def stop(self) -> None:
        """Stop listening and forget every client (nothing when not running)."""
        ...
