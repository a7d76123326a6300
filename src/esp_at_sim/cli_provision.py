"""``esp-at-sim provision``: a module's provisioning API driven from a terminal, the way
the retired WeChat applet drives it (``esp-at-sim ota`` is in :mod:`.cli_ota` and shares
the small HTTP helpers here).

It speaks plain HTTP (aiohttp's client) and, for the phone-hotspot report, UDP; nothing
of the simulator is imported, so they work against a real ESP32 as well.

``provision URL --ssid S --password P [--udp-port N]`` posts ``/setstainfo`` as the stock
page does (``ssid``, ``password``, ``ssid_len``, ``password_len``; with ``--udp-port``
the applet's ``&udp_port=N`` after the JSON), follows ``/getstainfo`` about once a second
and, once the module says "connect OK", collects the result with ``/getresult``
(``received=1``). A failure is not collected, as the stock page leaves it.

``provision URL --password P`` (no SSID) is the applet's "local phone hotspot": this
host plays the phone. It listens on ``--udp-port`` (any free port when absent), posts an
empty SSID with that port, and waits for the module's ``ip=<address>&port=3339``,
answering ``received`` to every copy (that is the acknowledgement the module prints
``+WEBSERVERRSP:2`` for, so ``/getresult`` is not sent). Meanwhile ``/getstainfo`` is
watched to report a failure early; afterwards one more look confirms the state, when the
module is still reachable.

Exit status: 0 done; 1 the module tried and failed, or refused; 2 bad arguments or file,
or no module answering at URL.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TIMEOUT = 70.0  # seconds: connection_timeout (≤ 60) plus the report and margins
POLL_INTERVAL = 1.0  # seconds between two /getstainfo
REQUEST_TIMEOUT = 10.0  # seconds one small request may take
REPORT_GRACE = 12.0  # seconds to wait for the UDP report once the module says "connect OK"
MAX_SSID, MAX_PASSWORD, MAX_BODY = 32, 64, 320  # bytes, as the firmware takes them
ACK = b"received"


class Failure(Exception):
    """Ends a command: the message for standard error and the exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def say(text: str) -> None:
    print(text, flush=True)


def base_url(url: str) -> str:
    """``URL`` as the root of the module's web server (``http://`` may be left out)."""
    text = url if "://" in url else f"http://{url}"
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise Failure(f"not an http:// URL: {url}", EXIT_USAGE)
    return f"http://{parts.netloc}"


class Api:
    """The module's web API on one HTTP session; network trouble becomes :class:`Failure`."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self, method: str, path: str, *, code: int = EXIT_USAGE, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """Status and JSON answer (``None`` when not JSON); :class:`Failure` with ``code``
        when the module cannot be reached."""
        try:
            async with self.session.request(method, self.base + path, **kwargs) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise Failure(f"no answer from the module at {self.base} ({reason})", code) from exc
        try:
            data = json.loads(raw)
        except ValueError:
            return response.status, None
        return response.status, data if isinstance(data, dict) else None

    async def stainfo(self, *, code: int = EXIT_USAGE) -> dict[str, Any]:
        status, data = await self.call("GET", "/getstainfo", code=code)
        if status != 200 or data is None or not isinstance(data.get("state"), int):
            raise Failure(f"{self.base} does not answer like an ESP-AT web server", code)
        return data


async def _main(work: Awaitable[None], name: str) -> int:
    try:
        await work
    except Failure as exc:
        print(f"esp-at-sim {name}: {exc}", file=sys.stderr, flush=True)
        return exc.code
    return EXIT_OK


def _session(read_timeout: float = REQUEST_TIMEOUT) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=REQUEST_TIMEOUT, sock_read=read_timeout
    )
    return aiohttp.ClientSession(timeout=timeout)


# ------------------------------------------------------------------ provision
def cmd_provision(args: argparse.Namespace) -> int:
    """``esp-at-sim provision``."""
    timeout = getattr(args, "timeout", None) or DEFAULT_TIMEOUT
    ssid, password, port = args.ssid, args.password, args.udp_port
    return asyncio.run(
        provision(args.url, ssid=ssid, password=password, udp_port=port, timeout=timeout)
    )


async def provision(
    url: str,
    *,
    ssid: str | None,
    password: str,
    udp_port: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Provision the module at ``url``; the exit status."""
    return await _main(_provision(url, ssid or "", password, udp_port, timeout), "provision")


def stainfo_body(ssid: str, password: str, udp_port: int | None) -> bytes:
    """The ``/setstainfo`` body: the stock page's JSON, then the applet's port."""
    ssid_raw, password_raw = ssid.encode(), password.encode()
    if len(ssid_raw) > MAX_SSID:
        raise Failure(f"the SSID is {len(ssid_raw)} bytes long; at most {MAX_SSID}", EXIT_USAGE)
    if len(password_raw) > MAX_PASSWORD:
        raise Failure(f"the password is over {MAX_PASSWORD} bytes long", EXIT_USAGE)
    fields = {
        "ssid": ssid,
        "password": password,
        "ssid_len": len(ssid_raw),
        "password_len": len(password_raw),
    }
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    if udp_port is not None:
        body += b"&udp_port=%d" % udp_port
    if len(body) >= MAX_BODY:
        raise Failure(f"the request would be {len(body)} bytes; the module takes < 320", EXIT_USAGE)
    return body


async def _provision(url: str, ssid: str, password: str, port: int | None, timeout: float) -> None:
    base = base_url(url)
    if port is not None and not 0 <= port <= 65535:
        raise Failure(f"--udp-port {port}: not a port number", EXIT_USAGE)
    if not ssid and not password:
        raise Failure("give --ssid, or the phone hotspot's --password", EXIT_USAGE)
    stainfo_body(ssid, password, port if ssid else 65535)  # bad input: before any traffic
    async with _session() as session:
        api = Api(session, base)
        info = await api.stainfo()
        say(f"module at {base}: {info.get('message', '?')}")
        if ssid:
            await _with_ssid(api, stainfo_body(ssid, password, port), ssid, timeout)
        else:
            await _phone_hotspot(api, password, port, timeout)


async def _post_credentials(api: Api, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    status, _ = await api.call("POST", "/setstainfo", data=body, headers=headers, code=EXIT_FAILED)
    if status == 400:
        raise Failure("the module refused the credentials (it needs AT+CWMODE=3 and no other run)")
    if status != 200:
        raise Failure(f"the module refused the credentials (HTTP {status})")


async def _with_ssid(api: Api, body: bytes, ssid: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    await _post_credentials(api, body)
    say(f"credentials for {ssid!r} sent; the module connects")
    watch = _Watch()
    while True:
        await asyncio.sleep(POLL_INTERVAL)
        try:
            info = await api.stainfo(code=EXIT_FAILED)
        except Failure as exc:
            if time.monotonic() >= deadline:
                raise Failure(f"{exc}; the result is unknown") from None
            continue
        if watch.see(info):
            break
        if time.monotonic() >= deadline:
            raise Failure(f"no result after {timeout:g} s")
    status, _ = await api.call("POST", "/getresult", data={"received": "1"}, code=EXIT_FAILED)
    if status != 200:
        say(f"warning: /getresult answered HTTP {status}")
    address = next((info[k] for k in ("sta_ip", "ip") if isinstance(info.get(k), str)), None)
    say(f"connected to {ssid!r}" + (f": the module's address is {address}" if address else ""))


class _Watch:
    """Follows ``/getstainfo`` answers: prints each new stage, says when the result is
    in (``True`` for connect OK), raises :class:`Failure` for a failure."""

    def __init__(self) -> None:
        self.message: str | None = None
        self.started = False

    def see(self, info: dict[str, Any]) -> bool:
        message = str(info.get("message", ""))
        if message != self.message:
            self.message = message
            say(f"module: {message}")
        if info["state"] == 1:
            return True
        if info["state"] == 2:
            reason = info.get("reason")
            raise Failure(
                "the module could not connect" + (f" (reason: {reason})" if reason else "")
            )
        if message == "waiting config" and self.started:
            raise Failure(
                "the module is back at 'waiting config' (restarted, or the result was taken)"
            )
        self.started = self.started or message != "waiting config"
        return False


# ---------------------------------------------------- the phone hotspot
class _ReportListener(asyncio.DatagramProtocol):
    """The applet's UDP socket: takes the module's report and acknowledges every copy."""

    def __init__(self) -> None:
        self.report: tuple[str, int, tuple[str, int]] | None = None  # ip, port, source
        self.arrived = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        parsed = parse_report(data)
        if parsed is None or self.transport is None:
            return
        self.transport.sendto(ACK, addr)
        if self.report is None:
            self.report = (*parsed, (str(addr[0]), int(addr[1])))
            self.arrived.set()

    def error_received(self, exc: Exception) -> None:
        """A late ``received`` to a module that has closed its port: nothing to do."""


def parse_report(data: bytes) -> tuple[str, int] | None:
    """``ip=A.B.C.D&port=N`` → (address, port); ``None`` for anything else."""
    try:
        fields = dict(part.split("=", 1) for part in data.decode("ascii").split("&"))
        return str(ipaddress.IPv4Address(fields["ip"])), int(fields["port"])
    except (UnicodeDecodeError, ValueError, KeyError):
        return None


async def _phone_hotspot(api: Api, password: str, port: int | None, timeout: float) -> None:
    host = urlsplit(api.base).hostname or ""
    bind = "::" if ":" in host else "0.0.0.0"
    listener = _ReportListener()
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: listener, local_addr=(bind, port or 0)
        )
    except OSError as exc:
        raise Failure(
            f"cannot listen on UDP port {port or 0}: {exc.strerror or exc}", EXIT_USAGE
        ) from exc
    try:
        port = int(transport.get_extra_info("sockname")[1])
        await _post_credentials(api, stainfo_body("", password, port))
        say(
            f"password sent; turn the phone's hotspot on. Waiting for the report on UDP port {port}"
        )
        report = await _await_report(api, listener, timeout)
    finally:
        transport.close()
    if report is None:
        say(f"warning: the module connected but no report reached UDP port {port}")
        say("connected")
        return
    ip, module_port, (source, source_port) = report
    say(f"report from {source}:{source_port}: ip={ip}&port={module_port}; answered 'received'")
    try:
        info = await api.stainfo(code=EXIT_FAILED)
        say(f"module: {info.get('message', '?')}")
    except Failure:
        say("the module's web server is out of reach now (expected once this host left its SoftAP)")
    say(f"connected: the module's address is {ip}")


async def _await_report(
    api: Api, listener: _ReportListener, timeout: float
) -> tuple[str, int, tuple[str, int]] | None:
    """The report, or ``None`` when the module says "connect OK" but none comes."""
    deadline = time.monotonic() + timeout
    connected_at: float | None = None
    watch = _Watch()
    while listener.report is None:
        now = time.monotonic()
        if now >= deadline:
            raise Failure(f"no result after {timeout:g} s")
        if connected_at is not None and now - connected_at >= REPORT_GRACE:
            return None
        try:
            await asyncio.wait_for(listener.arrived.wait(), min(POLL_INTERVAL, deadline - now))
            break
        except TimeoutError:
            pass
        try:
            info = await api.stainfo(code=EXIT_FAILED)
        except Failure:
            continue  # the module's SoftAP may be busy; the report is what counts
        if watch.see(info) and connected_at is None:
            connected_at = time.monotonic()
    return listener.report


# ------------------------------------------------------------------------ ota
