"""The module's web server: provisioning and OTA API, the page, the captive portal.

``install_web(module, WebConfig(...))`` gives a module its server; ``AT+WEBSERVER``
starts and stops it. See ``docs/openapi.yaml`` for the HTTP API and
``/work/shared/spec/web-server.md`` for the behaviour it reproduces.
"""

from __future__ import annotations

from .config import WebConfig
from .ota_backend import FirmwareError, FirmwareInfo, FlashBackend, NoFlash, OtaBackend
from .provisioning import Credentials, Provisioning, ProvState
from .server import WebServer, WebStartError, install_web

__all__ = [
    "Credentials",
    "FirmwareError",
    "FirmwareInfo",
    "FlashBackend",
    "NoFlash",
    "OtaBackend",
    "ProvState",
    "Provisioning",
    "WebConfig",
    "WebServer",
    "WebStartError",
    "install_web",
]
