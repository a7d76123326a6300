"""The module's web server as a service: started and stopped by ``AT+WEBSERVER``, gone
at every reset, reachable on the host through the port map of :class:`WebConfig`.

:func:`install_web` attaches a :class:`WebServer` to the module as ``module.web``. Every
request goes to one handler, :meth:`WebServer._handle` (aiohttp's low-level server with
our handler in place of the application's): it takes the request's place in the turn
budget, makes the client a phone on the SoftAP the first time it shows up, and hands a
request for an API endpoint of :data:`ROUTES` (its exact target and method) straight to
the endpoint, after the ``Origin`` and ``Host`` checks of a POST. Everything else goes
through an aiohttp :class:`~aiohttp.web.Application` with the same routes and the page
(:mod:`.page`), whose middleware, :meth:`WebServer._checked`, checks the target (length,
literal path) and turns whatever we do not serve (404, 405, 414) into a redirect to the
page while the captive portal is on (a JSON error otherwise). Paths match byte
for byte as on ESP-IDF's server: a percent escape is not decoded, so it matches nothing.
Every request is one ``http`` event in the module's log (method, path, status, client;
never a body).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler as AppHandler

from ..core.acceptor import Acceptor, listen
from ..core.turns import TurnBudget, serve_first
from .config import DNS_PORT, WebConfig, http_url, url_host
from .connections import ConnectionPool, LimitedConnection
from .dns import start_dns
from .endpoints import (
    WebContext,
    get_ap_record,
    get_ota_info,
    get_result,
    get_sta_info,
    get_version,
    set_ota_data,
    set_sta_info,
)
from .http import (
    MAX_URI,
    own_host,
    page_url,
    redirect,
    same_origin,
)
from .ota_backend import OtaBackend, module_backend
from .page import add_page, finish_file, hidden, is_file_request
from .provisioning import Provisioning
from .wire import error

if TYPE_CHECKING:
    from ..device.module import Module

log = logging.getLogger(__name__)

Handler = Callable[[WebContext, web.BaseRequest], Awaitable[web.StreamResponse]]
ROUTES: dict[str, dict[str, Handler]] = {
    "/getversion": {"GET": get_version},
    "/getstainfo": {"GET": get_sta_info},
    "/setstainfo": {"POST": set_sta_info},
    "/getresult": {"POST": get_result},
    "/getaprecord": {"GET": get_ap_record},
    "/getotainfo": {"GET": get_ota_info},
    "/setotadata": {"POST": set_ota_data},
}
_UNHANDLED = {404: "not found", 405: "method not allowed", 414: "URI too long"}
# aiohttp's connection options: no access log (every request is an event instead), bodies
# as sent, request lines of at most 8190 bytes
_OPTIONS: dict[str, Any] = {"access_log": None, "auto_decompress": False, "max_line_size": 8190}
SHUTDOWN_TIMEOUT = 1.0  # real seconds a stopping server gives requests in flight
DRAIN_MAX = 8 * 1024 * 1024  # unread body bytes dropped after an early answer
DRAIN_SECONDS = 10.0  # real seconds a client gets to finish sending such a body
# Requests that start per turn of the event loop; the rest wait for the next turns, so a
# crowd of clients never holds a line on the AT port back for more than a few requests.
REQUESTS_PER_TURN = 8


class WebStartError(OSError):
    """The HTTP port could not be opened."""


class WebServer:
    """The web server of one module (one instance per module, started on demand)."""

    def __init__(
        self,
        module: Module,
        config: WebConfig,
        backend: Callable[[], OtaBackend] | None = None,
    ) -> None:
        self.module = module
        self.config = config
        self._phones: dict[str, str] = {}  # client address → phone MAC
        # --strict-httpd: one request at a time, as the firmware's single httpd task
        self._single_task = asyncio.Lock() if config.strict_httpd else None
        self._turns = TurnBudget(REQUESTS_PER_TURN)
        self.provisioning = Provisioning(module, config, self._phones, self._single_task)
        self.context = WebContext(
            module,
            config,
            self.provisioning,
            backend or (lambda: module_backend(module)),
        )
        self.device_port: int | None = None
        self.http_port: int | None = None
        self.dns_port: int | None = None
        self._runner: web.AppRunner | None = None
        self._app_handler: AppHandler | None = None  # the application's (see _handle)
        self._listener: Acceptor | None = None
        self._root = Path()  # the web root, resolved when the server starts
        self._dns: asyncio.DatagramTransport | None = None
        self._pool = ConnectionPool(config.limits, module.clock.scale)

    # ------------------------------------------------------------------ control
    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def url(self) -> str | None:
        """The page's URL on the host while the server runs."""
        if self.http_port is None:
            return None
        return http_url(self.config.host, self.http_port)

    def set_timeout(self, seconds: int) -> None:
        """``connection_timeout``: how long provisioning waits for a station address."""
        self.provisioning.timeout = seconds

    async def start(self, device_port: int, timeout: int) -> None:
        """Listen on the host port that maps ``device_port`` (a running server only
        takes the new timeout). :class:`WebStartError` when the port cannot be had."""
        self.set_timeout(timeout)
        if self.running:
            return
        host, port = self.config.host, self.config.host_port(device_port)
        try:
            sock = listen(host, port)
        except OSError as exc:
            log.error("web server: cannot listen on %s port %d: %s", host, port, exc.strerror)
            self.module.emit("web.error", host=host, port=port, error=str(exc))
            raise WebStartError(exc.errno, f"cannot listen on {host}:{port}") from exc
        runner = web.AppRunner(self._application(), shutdown_timeout=SHUTDOWN_TIMEOUT)
        try:
            await runner.setup()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        assert runner.server is not None
        # the connections call _handle, which calls the application's handler for what it
        # does not answer itself
        self._app_handler = runner.server.request_handler
        runner.server.request_handler = self._handle
        factory = functools.partial(self._connection, runner, self._pool)
        self._listener = Acceptor(sock, factory, "web server")
        self._listener.start()
        self._runner = runner
        self.device_port = device_port
        self.http_port = int(sock.getsockname()[1])
        self.module.emit("web.start", device_port=device_port, url=self.url)
        self.config.announce(f"Web server: {self.url}")
        if self.config.captive_portal:
            await self._start_dns()

    async def _start_dns(self) -> None:
        host, port = self.config.host, self.config.host_port(DNS_PORT)
        try:
            self._dns, self.dns_port = await start_dns(
                host, port, lambda: self.module.wifi.ap.address.ip, self._dns_event
            )
        except OSError as exc:
            log.warning("captive DNS: cannot listen on %s UDP port %d: %s", host, port, exc)
            self.module.emit("web.error", host=host, port=port, error=str(exc))
            return
        self.config.announce(f"Captive DNS: udp://{url_host(host)}:{self.dns_port}")

    def _dns_event(self, size: int, answered: bool) -> None:
        self.module.emit("dns", size=size, answered=answered)

    async def stop(self) -> None:
        """Stop serving and forget all provisioning state (``AT+WEBSERVER=0``, reset)."""
        self.provisioning.reset()
        dns, self._dns = self._dns, None
        if dns is not None:
            dns.close()
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        self.device_port = self.http_port = self.dns_port = None
        self._phones.clear()
        if runner is not None:
            await runner.cleanup()
            self.module.emit("web.stop")

    # ---------------------------------------------------------------- requests
    def _application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for path, methods in ROUTES.items():
            for method, handler in methods.items():
                app.router.add_route(method, path, functools.partial(handler, self.context))
        self._root = add_page(app, self.config.web_root)
        return app

    @staticmethod
    def _connection(runner: web.AppRunner, pool: ConnectionPool) -> web.RequestHandler:
        assert runner.server is not None
        return LimitedConnection(
            runner.server, pool=pool, loop=asyncio.get_running_loop(), **_OPTIONS
        )

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Every request: its turn, then :meth:`_serve` (one at a time with
        ``--strict-httpd``)."""
        if not self._turns.take():
            await self._turns.admit()
        serve_first(self.module)  # the AT port's bytes go before this request
        if self._single_task is None:
            return await self._serve(request)
        async with self._single_task:
            return await self._serve(request)

    async def _serve(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.monotonic()
        self._phone_for(request)
        try:
            methods = ROUTES.get(request.raw_path)
            endpoint = methods.get(request.method) if methods is not None else None
            if endpoint is None or hdrs.EXPECT in request.headers:
                assert self._app_handler is not None
                # (the application's request factory made it: a web.Request)
                response = await self._app_handler(cast(web.Request, request))
            elif request.method == "POST" and (refused := self._refusal(request)) is not None:
                response = refused
            else:
                response = await endpoint(self.context, request)
        except Exception:
            log.exception("web server: %s %s failed", request.method, request.path)
            response = error(500, "internal error")
        if not request.content.is_eof() and not response.prepared:
            if isinstance(response, web.FileResponse):
                # aiohttp sends a file itself, and its prepare cannot run twice: drop the
                # body first, then let aiohttp send the file
                if not await _drain(request):
                    request.protocol.force_close()
            else:
                await _answer_then_drain(request, response)
        if self.module.bus.listening("http"):
            self.module.emit(
                "http",
                method=request.method,
                path=request.raw_path.split("?", 1)[0][:MAX_URI],
                status=response.status,
                client=request.remote,
                ms=round((time.monotonic() - started) * 1000, 1),
            )
        return response

    @web.middleware
    async def _middleware(self, request: web.Request, handler: AppHandler) -> web.StreamResponse:
        return await self._checked(request, handler)

    async def _checked(self, request: web.Request, handler: AppHandler) -> web.StreamResponse:
        if len(request.raw_path) > MAX_URI:
            return self._unhandled(request, 414)
        if request.raw_path.split("?", 1)[0] != request.path:  # escapes are not decoded
            return self._unhandled(request, 404)
        exception = request.match_info.http_exception
        if exception is not None:
            return self._unhandled(request, 405 if exception.status == 405 else 404)
        if is_file_request(request):
            return await self._file(request, handler)
        if request.method == "POST":
            refused = self._refusal(request)
            if refused is not None:
                return refused
        return await handler(request)

    def _refusal(self, request: web.BaseRequest) -> web.Response | None:
        """A state-changing request a web page of another site may have sent: refused
        when its ``Origin`` names another site, or when its ``Host`` names another server
        (a page whose DNS name was rebound to our address: its Origin matches its Host)."""
        if self.config.check_origin and not same_origin(request):
            return error(403, "cross-origin request refused")
        softap_ip = self.module.wifi.ap.address.ip
        if self.config.check_host and not own_host(request, softap_ip, self.device_port):
            return error(403, "request for another host refused")
        return None

    async def _file(self, request: web.Request, handler: AppHandler) -> web.StreamResponse:
        """A file beside the page, through aiohttp's static resource."""
        if hidden(request):
            return self._unhandled(request, 404)
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPForbidden):  # outside the root, or a folder
            return self._unhandled(request, 404)
        if not finish_file(self._root, request, response):
            return self._unhandled(request, 404)
        return response

    def _unhandled(self, request: web.BaseRequest, status: int) -> web.StreamResponse:
        if self.config.captive_portal:
            return redirect(page_url(request, self.url or "/"))
        return error(status, _UNHANDLED[status])

    def _phone_for(self, request: web.BaseRequest) -> None:
        """The first request from a client address makes a phone join the SoftAP (the
        same phone again if it has left since); no SoftAP, no phone."""
        client = request.remote
        if not client:
            return
        known = self._phones.get(client)
        if known is not None and any(s.mac == known for s in self.module.wifi.softap_stations()):
            return
        with contextlib.suppress(ValueError):
            station = self.module.radio.join_phone(known)
            if station is not None:
                self._phones[client] = station.mac
                self.module.emit("web.phone", client=client, mac=station.mac)


async def _answer_then_drain(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Send an answer given before the body was read, then read and drop the rest of
    the body (within bounds), so the client gets the answer intact instead of a reset
    connection, and a keep-alive connection stays usable. A body beyond the bounds, or a
    client that stops sending, ends the connection."""
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        return
    if not await _drain(request):
        request.protocol.force_close()


async def _drain(request: web.BaseRequest) -> bool:
    """Read and drop the rest of the body: ``True`` when it ended within bounds (at most
    :data:`DRAIN_MAX` bytes, within :data:`DRAIN_SECONDS`)."""
    declared = request.content_length
    if declared is not None and declared > DRAIN_MAX:
        return False
    drained = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while drained <= DRAIN_MAX:
                chunk = await request.content.readany()
                if not chunk:
                    return True
                drained += len(chunk)
    except Exception:  # the client went away, or took too long
        pass
    return False


def install_web(
    module: Module,
    config: WebConfig | None = None,
    *,
    backend: Callable[[], OtaBackend] | None = None,
) -> WebServer:
    """Give ``module`` its web server (started later by ``AT+WEBSERVER``): registered as
    ``module.web`` and stopped at every reset. ``backend`` gives what the
    OTA endpoints write to (default: the module's flash, ``module.firmware``)."""
    server = WebServer(module, config or WebConfig(), backend)
    module.web = server
    module.on_reset(server.stop)
    return server
