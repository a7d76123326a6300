"""HTTP plumbing below the endpoints: connections that answer with JSON errors, the
captive-portal redirect, the same-origin and own-host checks, and where a client
reached us.

aiohttp answers requests it cannot parse by itself, in plain text, before any
middleware sees them; our connection class turns those answers into JSON bodies
(``{"state": 1, "error": …}``) so that every 4xx of the API is JSON.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from http import HTTPStatus

from aiohttp import web
from yarl import URL

from .config import http_url
from .wire import error

log = logging.getLogger(__name__)

MAX_URI = 512  # longer request targets get 414, as on ESP-IDF's HTTP server
REDIRECT_REASON = "Temporary Redirect"
REDIRECT_BODY = "Redirecting to the provisioning page"
_HOST_RE = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


class JsonErrorConnection(web.RequestHandler):
    """aiohttp's connection handler, with JSON bodies for the errors it answers itself
    (unparsable requests, handler crashes). A request the client got wrong (a 4xx) is
    logged at debug level only: aiohttp would log each one as an error with a traceback,
    so any client could fill the operator's console with them."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status < 500:
            log.debug("bad request from %s: %s", request.remote, exc or message)
            if request.writer.output_size > 0:  # as aiohttp: the connection is broken
                raise ConnectionError("a response was sent already")
        else:
            status = super().handle_error(request, status, exc, message).status
        try:
            phrase = HTTPStatus(status).phrase.lower()
        except ValueError:
            phrase = "error"
        response = error(status, phrase)
        response.force_close()
        return response


def local_address(request: web.BaseRequest) -> tuple[str, int] | None:
    """The address and port the request's connection arrived on."""
    transport = request.transport
    name = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(name, tuple) and len(name) >= 2:
        return str(name[0]), int(name[1])
    return None


def _host_name(authority: str) -> str:
    """The host part of ``host[:port]`` (brackets of an IPv6 literal removed)."""
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0] if ":" in authority else authority


def _is_address(authority: str) -> bool:
    name = _host_name(authority)
    if name.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def page_url(request: web.BaseRequest, fallback: str) -> str:
    """The page's address as this client reaches it: its ``Host`` header when that is
    an address (or ``localhost``); for a name (a phone probing some other site through
    our DNS) the address the connection arrived on, as the module names itself."""
    host = request.headers.get("Host", "")
    if _HOST_RE.fullmatch(host) and _is_address(host):
        return f"http://{host}/"
    local = local_address(request)
    return http_url(*local) if local is not None else fallback


def redirect(location: str) -> web.Response:
    """The captive portal's answer to a request for anything we do not serve: a 302 to
    the page, with a short body (iOS only notices a portal when there is content)."""
    response = web.Response(status=302, reason=REDIRECT_REASON, text=REDIRECT_BODY)
    response.headers["Content-Type"] = "text/html"
    response.headers["Location"] = location
    return response


def same_origin(request: web.BaseRequest) -> bool:
    """Whether a request's ``Origin`` (when it has one) names the site the client
    reached: same host and port, plain http. ``Origin: null`` (sandboxed frames, local
    files) is another site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = request.headers.get("Host")
    if host is None:
        local = local_address(request)
        if local is None:
            return False
        host = http_url(*local)[len("http://") : -1]
    try:
        theirs = URL(origin)
        ours = URL(f"http://{host}")
    except ValueError:
        return False
    if theirs.scheme != "http" or not theirs.host or not ours.host:
        return False
    return theirs.host.lower() == ours.host.lower() and theirs.port == ours.port


def _port(authority: str) -> int | None:
    """The port of ``host[:port]``, ``None`` without one."""
    tail = authority.rsplit("]", 1)[1] if authority.startswith("[") else authority
    _, colon, port = tail.rpartition(":")
    return int(port) if colon and port.isdigit() else None


def _same_host(name: str, address: str) -> bool:
    """Whether a host name from a header is the address ``address`` (IPv4 addresses
    mapped into IPv6, as a dual-stack socket reports them, count as themselves)."""
    try:
        ours = ipaddress.ip_address(address)
        theirs = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ours, ipaddress.IPv6Address) and ours.ipv4_mapped is not None:
        ours = ours.ipv4_mapped
    return theirs == ours


def own_host(request: web.BaseRequest, softap_ip: str, device_port: int | None) -> bool:
    """Whether the request's ``Host`` names this server: the address the connection
    arrived on, the SoftAP address or ``localhost``, without a port or with the port the
    client reached (or the module's own port). A request without ``Host`` (HTTP/1.0
    tools) passes: a browser, the only client DNS rebinding can steer, always sends one.
    """
    host = request.headers.get("Host")
    if host is None:
        return True
    if not _HOST_RE.fullmatch(host):
        return False
    local = local_address(request)
    ports: set[int | None] = {None, device_port}
    addresses = [softap_ip]
    if local is not None:
        ports.add(local[1])
        addresses.append(local[0])
    name = _host_name(host)
    if _port(host) not in ports:
        return False
    return name.lower() == "localhost" or any(_same_host(name, a) for a in addresses)
