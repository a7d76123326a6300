"""A host-side AT client for ESP32 modules running ESP-AT, real or simulated.

It never imports the simulator: it speaks the AT protocol over any link. A short tour::

    from esp_at_sim.client import AtClient, JoinError

    async with await AtClient.open("/dev/ttyUSB0") as at:   # or "tcp:127.0.0.1:3333"
        print((await at.gmr()).bin_version)
        await at.set_cwmode(1)
        try:
            await at.set_cwjap("HomeNet", "sunflower42")
        except JoinError as exc:
            print("join failed:", exc.reason.name)
        print(await at.cwjap())                              # the AP it is on
        async for urc in at.urcs():                          # WIFI DISCONNECT, +IPD…
            print(urc.text)

Method names follow one rule: ``x()`` reads (``AT+X?``, or ``AT+X`` for a command
without a query form) and ``set_x(…)`` sends ``AT+X=…`` (see :class:`AtClient`).

Layers: :mod:`.links` moves bytes (TCP, pyserial, in-process), :mod:`.protocol` builds
lines and frames what comes back (no I/O), :mod:`.core` runs the conversation (echo,
busy, URCs, timeouts), :mod:`.client` adds the typed commands (:mod:`.connections` the
connections through the module), :mod:`.results` their answers, :mod:`.errors` the
exception tree. Over HTTP, :class:`WebApi` speaks to the module's web server and
:class:`SimControl` to a simulator's control API, both on :mod:`.http`.
"""

from __future__ import annotations

from .client import READY_TIMEOUT, AtClient
from .connections import Connection, LinkState, Server
from .control import SimControl, SimControlError
from .core import AtCore
from .errors import (
    AtBusyError,
    AtClientError,
    AtCommandError,
    AtConnectionError,
    AtParseError,
    AtTimeoutError,
    JoinError,
    JoinReason,
    ModuleResetError,
)
from .http import HttpApiError
from .links import InProcessPort, Link, ModuleLink, SerialLink, TcpLink, open_link
from .messages import Response, Urc, UrcStream
from .protocol import build_command, escape, is_urc
from .results import (
    AccessPoint,
    Addresses,
    ApConnection,
    HeapInfo,
    IpConfig,
    JoinResult,
    RollbackInfo,
    SoftApConfig,
    Station,
    StationState,
    StationStatus,
    UartConfig,
    UserPartition,
    Version,
    WifiMode,
)
from .web import WebApi, WebApiError

__all__ = [
    "READY_TIMEOUT",
    "AccessPoint",
    "Addresses",
    "ApConnection",
    "AtBusyError",
    "AtClient",
    "AtClientError",
    "AtCommandError",
    "AtConnectionError",
    "AtCore",
    "AtParseError",
    "AtTimeoutError",
    "Connection",
    "HeapInfo",
    "HttpApiError",
    "InProcessPort",
    "IpConfig",
    "JoinError",
    "JoinReason",
    "JoinResult",
    "Link",
    "LinkState",
    "ModuleLink",
    "ModuleResetError",
    "Response",
    "RollbackInfo",
    "SerialLink",
    "Server",
    "SimControl",
    "SimControlError",
    "SoftApConfig",
    "Station",
    "StationState",
    "StationStatus",
    "TcpLink",
    "UartConfig",
    "Urc",
    "UrcStream",
    "UserPartition",
    "Version",
    "WebApi",
    "WebApiError",
    "WifiMode",
    "build_command",
    "escape",
    "is_urc",
    "open_link",
]
