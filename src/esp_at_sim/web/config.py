"""How the web server of a simulated module is exposed on the host.

The module thinks it serves HTTP on its own port (``AT+WEBSERVER=1,80,25``) and DNS on
port 53 of its SoftAP. On the host those device ports are mapped: an explicit
``port_map`` entry wins, otherwise ports below 1024 (which need root) move up by 8000
(80 → 8080, 53 → 8053) and the others stay as they are. A mapped port of 0 lets the
operating system pick a free one, which is what tests do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PRIVILEGED_LIMIT = 1024
PRIVILEGED_SHIFT = 8000
DNS_PORT = 53

Announce = Callable[[str], None]


@dataclass(frozen=True)
class HttpLimits:
    """Limits of the HTTP server (see :mod:`.connections`). ``head_timeout``,
    ``idle_timeout``: module seconds; ``max_head``: bytes of a request head (request line
    and header fields; the module itself takes 1 KiB, we take more so that browsers with
    long cookies or many headers still get through); ``max_connections``: open HTTP
    connections at once (the module has 7)."""

    head_timeout: float = 10.0
    idle_timeout: float = 30.0
    max_head: int = 8 * 1024
    max_connections: int = 64

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.head_timeout <= 0 or self.idle_timeout <= 0 or self.max_head < 64:
            raise ValueError("HTTP limits must be positive (max_head at least 64 bytes)")


def print_line(line: str) -> None:
    """The default announcer: one line on standard output, flushed at once so that a
    script reading our output sees it while the module keeps running."""
    print(line, file=sys.stdout, flush=True)


@dataclass(frozen=True)
class WebConfig:
    """Where and how the web server and its captive portal listen.

    ``host``: the host address every service binds to. ``port_map``: device port →
    host port (0: any free port). ``captive_portal``: run the DNS responder and turn
    404/405/414 into redirects to the page. ``compat_echo_password``: send the stored
    password back in ``/getstainfo`` as old firmware does. ``web_root``: a folder whose
    ``index.html`` (and the files beside it) replaces our page. ``check_origin``: refuse
    POSTs whose ``Origin`` names another site. ``check_host``: refuse POSTs whose
    ``Host`` is not an address of the server (DNS rebinding). ``limits``: timeouts, head
    size and connection cap of the HTTP server. ``strict_httpd``: handle one request at a
    time, and none while the applet's phone-hotspot search runs, as the firmware's
    single-task server does. ``announce``: called with one line per endpoint once it
    listens. ``free_ports``: a device port not in ``port_map`` takes any free host port
    (else the shift of :meth:`host_port`).
    """

    host: str = "127.0.0.1"
    port_map: Mapping[int, int] = field(default_factory=dict)
    captive_portal: bool = True
    compat_echo_password: bool = False
    web_root: Path | None = None
    check_origin: bool = True
    check_host: bool = True
    limits: HttpLimits = field(default_factory=HttpLimits)
    strict_httpd: bool = False
    announce: Announce = print_line
    free_ports: bool = False

    def host_port(self, device_port: int) -> int:
        """The host port that serves ``device_port`` of the module."""
        if device_port in self.port_map:
            return self.port_map[device_port]
        if self.free_ports:
            return 0
        if device_port < PRIVILEGED_LIMIT:
            return device_port + PRIVILEGED_SHIFT
        return device_port


def url_host(host: str) -> str:
    """``host`` as it appears in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def http_url(host: str, port: int) -> str:
    """The root URL of an HTTP server on ``host``:``port`` (no port shown for 80)."""
    suffix = "" if port == 80 else f":{port}"
    return f"http://{url_host(host)}{suffix}/"
