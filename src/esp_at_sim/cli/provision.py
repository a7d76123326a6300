"""``esp-at-sim provision``: a module's provisioning API driven from a terminal, the way
the retired WeChat applet drives it.

It speaks HTTP through :class:`esp_at_sim.client.WebApi` and, for the phone-hotspot
report, UDP; nothing of the simulator is imported, so it works against a real ESP32 too.

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
import time
from typing import Any
from urllib.parse import urlsplit

from ..client.web import WebApi, WebApiError, stainfo_body
from .common import (
    EXIT_USAGE,
    Failure,
    Subcommands,
    answer,
    finish,
    open_api,
    report,
    run_loop,
    say,
)

DEFAULT_TIMEOUT = 70.0  # seconds: connection_timeout (≤ 60) plus the report and margins
POLL_INTERVAL = 1.0  # seconds between two /getstainfo
REPORT_GRACE = 12.0  # seconds to wait for the UDP report once the module says "connect OK"
ACK = b"received"


def add_parser(sub: Subcommands) -> None:
    """Register ``provision`` on the subcommand set ``sub``."""
    parser = sub.add_parser("provision", help="provision a module through its web server")
    parser.add_argument("url", metavar="URL")
    parser.add_argument(
        "--ssid", metavar="S", help="the router's SSID; leave it out for phone-hotspot mode"
    )
    parser.add_argument("--password", required=True, metavar="P")
    parser.add_argument(
        "--udp-port",
        type=int,
        metavar="N",
        help="the applet's udp_port (phone-hotspot mode: where to listen; default any free port)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="give up after this long (default 70)",
    )
    parser.set_defaults(func=cmd_provision)


# ------------------------------------------------------------------ provision
def cmd_provision(args: argparse.Namespace) -> int:
    """``esp-at-sim provision``."""
    timeout = getattr(args, "timeout", None) or DEFAULT_TIMEOUT
    ssid, password, port = args.ssid, args.password, args.udp_port
    try:
        return run_loop(
            provision(args.url, ssid=ssid, password=password, udp_port=port, timeout=timeout)
        )
    except Failure as exc:
        return report(exc, "provision")


async def provision(
    url: str,
    *,
    ssid: str | None,
    password: str,
    udp_port: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Provision the module at ``url``; the exit status."""
    return await finish(_provision(url, ssid or "", password, udp_port, timeout), "provision")


def check_credentials(ssid: str, password: str, udp_port: int | None) -> None:
    """Refuse what the module would refuse, before any traffic."""
    if udp_port is not None and not 0 <= udp_port <= 65535:
        raise Failure(f"--udp-port {udp_port}: not a port number", EXIT_USAGE)
    if not ssid and not password:
        raise Failure("give --ssid, or the phone hotspot's --password", EXIT_USAGE)
    try:
        stainfo_body(ssid, password, udp_port if ssid else 65535)
    except ValueError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None


async def _provision(url: str, ssid: str, password: str, port: int | None, timeout: float) -> None:
    check_credentials(ssid, password, port)
    async with open_api(url) as api:
        info = await answer(api.getstainfo(), EXIT_USAGE)
        say(f"module at {api.base}: {info.get('message', '?')}")
        if ssid:
            await _with_ssid(api, ssid, password, port, timeout)
        else:
            await _phone_hotspot(api, password, port, timeout)


async def _post_credentials(api: WebApi, ssid: str, password: str, port: int | None) -> None:
    status = await answer(api.setstainfo(ssid, password, port))
    if status == 400:
        raise Failure("the module refused the credentials (it needs AT+CWMODE=3 and no other run)")
    if status != 200:
        raise Failure(f"the module refused the credentials (HTTP {status})")


async def _with_ssid(
    api: WebApi, ssid: str, password: str, port: int | None, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    await _post_credentials(api, ssid, password, port)
    say(f"credentials for {ssid!r} sent; the module connects")
    watch = _Watch()
    while True:
        await asyncio.sleep(POLL_INTERVAL)
        try:
            info = await api.getstainfo()
        except WebApiError as exc:
            if time.monotonic() >= deadline:
                raise Failure(f"{exc}; the result is unknown") from None
            continue
        if watch.see(info):
            break
        if time.monotonic() >= deadline:
            raise Failure(f"no result after {timeout:g} s")
    status = await answer(api.getresult())
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
        reason = info.get("reason")
        if info["state"] == 2:
            raise Failure(f"the module could not connect: {_why(reason, info)}")
        if info.get("retrying") and reason in RETRY_REASONS:
            raise Failure(
                f"the module could not connect: {_why(reason, info)}. It keeps retrying "
                "until its connection_timeout ends; run provision again with the right "
                "settings (esp-at-sim takes them at once, a module after that timeout)"
            )
        if message == "waiting config" and self.started:
            raise Failure(
                "the module is back at 'waiting config' (restarted, or the result was taken)"
            )
        self.started = self.started or message != "waiting config"
        return False


# What ``reason`` in /getstainfo means (an esp-at-sim addition; a real module sends none).
REASONS = {
    "wrong_password": "the password for {ssid!r} is wrong",
    "not_found": "no network called {ssid!r} was found",
    "no_ip": "it joined {ssid!r} but got no IP address from its DHCP server",
    "timeout": "connecting to {ssid!r} took too long",
    "failed": "the access point of {ssid!r} refused the connection",
}
# Reasons reported while the module still retries: retrying will not change them.
RETRY_REASONS = ("wrong_password", "not_found")


def _why(reason: object, info: dict[str, Any]) -> str:
    ssid = str(info.get("sta_ssid", ""))
    if reason == "not_found" and not ssid:  # the applet's phone-hotspot search
        return f"it found no phone hotspot it could join (reason: {reason})"
    if isinstance(reason, str) and reason in REASONS:
        return f"{REASONS[reason].format(ssid=ssid)} (reason: {reason})"
    return "no reason given"


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


async def _phone_hotspot(api: WebApi, password: str, port: int | None, timeout: float) -> None:
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
        await _post_credentials(api, "", password, port)
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
        info = await api.getstainfo()
        say(f"module: {info.get('message', '?')}")
    except WebApiError:
        say("the module's web server is out of reach now (expected once this host left its SoftAP)")
    say(f"connected: the module's address is {ip}")


async def _await_report(
    api: WebApi, listener: _ReportListener, timeout: float
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
            info = await api.getstainfo()
        except WebApiError:
            continue  # the module's SoftAP may be busy; the report is what counts
        if watch.see(info) and connected_at is None:
            connected_at = time.monotonic()
    return listener.report
