"""Connections: AT+CIPSTART, AT+CIPSTARTEX, AT+CIPSEND, AT+CIPSENDEX and AT+CIPCLOSE.

Parameters shift by one with ``AT+CIPMUX=1`` (the link ID comes first), so these handlers
check their raw parameters themselves. A connection needs an address: the station's (or,
for a destination on the SoftAP's subnet, the SoftAP's); without one the answer is
``no ip`` and ``ERROR``. A destination the network does not answer fails after the
command's ``<timeout>`` (default :data:`CONNECT_TIMEOUT` seconds of simulated time).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ..at.errors import AtError, exec_fail, para_invalid, para_length, para_num, para_type
from ..at.table import Args, Command, Result
from ..device.links import SEND_MAX, Link
from ..device.net import MAX_LINKS
from ..device.tls import TlsSetupError, client_context
from ..radio.network import NetError

if TYPE_CHECKING:
    from ..device.module import Module

CONNECT_TIMEOUT = 20.0  # seconds an unanswered connect takes when <timeout> is 0
HOST_MAX = 64
_TYPES = ("TCP", "UDP", "SSL")
_V6_TYPES = ("TCPv6", "UDPv6", "SSLv6")


# -- parameters ------------------------------------------------------------------------
def int_param(args: Args, index: int, lo: int, hi: int) -> int:
    """A required integer parameter in ``lo..hi``."""
    if index >= len(args) or args.params[index].is_empty:
        raise para_num(index + 1, len(args))
    value = args.values[index]
    if args.params[index].kind != "int" or not isinstance(value, int):
        raise para_type(index)
    if not lo <= value <= hi:
        raise para_invalid(index, f"must be {lo}..{hi}")
    return value


def opt_int(args: Args, index: int, lo: int, hi: int, default: int) -> int:
    """An optional integer parameter (absent or empty: ``default``)."""
    if index >= len(args) or args.params[index].is_empty:
        return default
    return int_param(args, index, lo, hi)


def str_param(args: Args, index: int, max_len: int, *, optional: bool = False) -> bytes | None:
    """A quoted string parameter of at most ``max_len`` bytes."""
    if index >= len(args) or args.params[index].is_empty:
        if optional:
            return None
        raise para_num(index + 1, len(args))
    value = args.values[index]
    if args.params[index].kind != "str" or not isinstance(value, bytes):
        raise para_type(index)
    if len(value) > max_len:
        raise para_length(index)
    return value


def link_param(module: Module, args: Args, *, hi: int = MAX_LINKS - 1) -> tuple[int, int]:
    """The link ID (0 in single-connection mode) and the index of the next parameter."""
    if not module.net.mux:
        return 0, 0
    return int_param(args, 0, 0, hi), 1


def open_link(module: Module, link_id: int) -> Link:
    """The open link with this ID, or ``link is not valid`` and ``ERROR``."""
    link = module.links.get(link_id)
    if link is None:
        raise AtError(exec_fail().sub, lines=("link is not valid",), reason="no such link")
    return link


def local_address_for(module: Module, ip: str) -> bool | None:
    """Whether a connection to ``ip`` goes over the station (True), the SoftAP (False),
    or cannot go anywhere (None)."""
    wifi = module.wifi
    if wifi.has_ap and wifi.ap.address.ip != "0.0.0.0":
        net = ipaddress.IPv4Network(f"{wifi.ap.address.ip}/{wifi.ap.address.netmask}", strict=False)
        if ipaddress.IPv4Address(ip) in net:
            return False
    if wifi.station_ip() is not None:
        return True
    return None


def _no_ip() -> AtError:
    return AtError(exec_fail().sub, lines=("no ip",), reason="no IP address")


async def resolve(module: Module, host: bytes) -> str:
    """The address of a remote host given as a name or a dotted quad."""
    network = module.links.network
    name = host.decode("utf-8", "replace")
    if network is None:
        raise exec_fail(reason="this radio carries no data")
    if module.wifi.station_ip() is None and not module.wifi.has_ap:
        raise _no_ip()
    address = await network.resolve(name)
    if address is None:
        raise exec_fail(reason=f"{name} does not resolve")
    return address


# -- AT+CIPSTART -------------------------------------------------------------------------
def _local_ip(args: Args, index: int) -> None:
    """``<"local IP">``: empty or an IPv4 address (the connection leaves from the module's
    own address whatever it names; see the README)."""
    raw = str_param(args, index, HOST_MAX, optional=True)
    if not raw:
        return
    text = raw.decode("utf-8", "replace")
    if ":" in text:
        raise exec_fail(reason="IPv6 is not enabled (AT+CIPV6)")
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        raise para_invalid(index, f"local IP {text!r} is not an IPv4 address") from None


def _start(module: Module, args: Args, link_id: int, first: int) -> Awaitable[Result]:
    kind_raw = str_param(args, first, 8)
    assert kind_raw is not None
    kind = kind_raw.decode("ascii", "replace")
    if kind in _V6_TYPES:
        raise exec_fail(reason="IPv6 is not enabled (AT+CIPV6)")
    if kind not in _TYPES:
        raise para_invalid(first, f"unknown type {kind}")
    host = str_param(args, first + 1, HOST_MAX)
    assert host is not None
    port = int_param(args, first + 2, 0, 65535)
    rest = first + 3
    if kind == "UDP":
        if len(args) > rest + 4:
            raise para_num(rest + 4, len(args))
        local_port = opt_int(args, rest, 0, 65535, 0)
        mode = opt_int(args, rest + 1, 0, 2, 0)
        _local_ip(args, rest + 2)
        timeout_ms = opt_int(args, rest + 3, 0, 60000, 0)
        keep_alive = 0
    else:
        if len(args) > rest + 3:
            raise para_num(rest + 3, len(args))
        keep_alive = opt_int(args, rest, 0, 7200, -1)
        _local_ip(args, rest + 1)
        timeout_ms = opt_int(args, rest + 2, 0, 60000, 0)
        local_port = mode = 0
    if module.links.get(link_id) is not None:
        raise AtError(exec_fail().sub, lines=("ALREADY CONNECTED",), reason="link in use")
    if kind != "UDP" and port == 0:
        raise para_invalid(first + 2, "remote port must be 1..65535")
    if keep_alive >= 0:
        module.net.set_keep_alive(link_id, keep_alive)
    timeout = timeout_ms / 1000 if timeout_ms else CONNECT_TIMEOUT
    return _connect(module, link_id, kind, host, port, timeout, local_port, mode)


async def _connect(
    module: Module,
    link_id: int,
    kind: str,
    host: bytes,
    port: int,
    timeout: float,
    local_port: int,
    mode: int,
) -> Result:
    ip = await resolve(module, host)
    over = local_address_for(module, ip)
    if over is None:
        raise _no_ip()
    network = module.links.network
    assert network is not None
    if module.links.get(link_id) is not None:
        raise AtError(exec_fail().sub, lines=("ALREADY CONNECTED",), reason="link in use")
    tls, sni = None, None
    if kind == "SSL":
        try:
            tls, sni = client_context(module, link_id)
        except TlsSetupError as exc:
            module.emit("net.connect_failed", link=link_id, remote=ip, port=port, why="tls")
            lines = (exc.line,) if exc.line else ()
            raise AtError(exec_fail().sub, lines=lines, reason=str(exc)) from exc
    link = Link(link_id, kind, ip, port, local_port, over_station=over, udp_mode=mode)
    events = module.links.add(link)
    try:
        if kind == "UDP":
            link.datagram = await network.open_datagram(local_port, events)
            link.local_port = local_port or link.datagram.local_port
        else:
            link.stream = await network.open_stream(
                ip, port, events, timeout=timeout, tls=tls, server_hostname=sni
            )
            link.local_port = link.stream.local_port
    except (NetError, OSError) as exc:
        module.links.close(link_id)
        failure = exc.failure.value if isinstance(exc, NetError) else "os"
        module.emit("net.connect_failed", link=link_id, remote=ip, port=port, why=failure)
        raise exec_fail(reason=str(exc)) from exc
    return Result((f"{module.links.prefix(link)}CONNECT",))


def _cipstart(module: Module, args: Args) -> Awaitable[Result]:
    link_id, first = link_param(module, args)
    return _start(module, args, link_id, first)


def _cipstartex(module: Module, args: Args) -> Awaitable[Result]:
    link_id = module.links.free_id() if module.net.mux else 0
    if link_id is None:
        raise exec_fail(reason="no free link")
    return _start(module, args, link_id, 0)


# -- AT+CIPSEND / AT+CIPSENDEX -------------------------------------------------------------
def send_params(
    module: Module, args: Args, max_length: int
) -> tuple[Link, int, tuple[str, int] | None]:
    """``[<link ID>,]<length>[,<"remote host">,<remote port>]``: the open link, the
    length and the UDP remote given (as a name or an address)."""
    link_id, first = link_param(module, args)
    length = int_param(args, first, 1, max_length)
    to: tuple[str, int] | None = None
    link = open_link(module, link_id)
    if len(args) > first + 1:
        if len(args) != first + 3:
            raise para_num(first + 3, len(args))
        host = str_param(args, first + 1, HOST_MAX)
        port = int_param(args, first + 2, 0, 65535)
        if link.kind != "UDP":
            raise exec_fail(reason="a remote can be given for UDP only")
        assert host is not None
        to = (host.decode("utf-8", "replace"), port)
    return link, length, to


def _send_setup(module: Module, args: Args, escapes: bool) -> Result:
    if module.passthrough.mode:
        raise exec_fail(reason="AT+CIPMODE=1: send with AT+CIPSEND alone")
    link, length, to = send_params(module, args, SEND_MAX)
    module.engine.write(b"\r\nOK\r\n\r\n>")

    def got(data: bytes) -> Awaitable[Result]:
        module.engine.reply("", f"Recv {len(data)} bytes")
        return _deliver(module, link, data, to)

    module.expect_data(length, got, escapes=escapes)
    return Result(final="")


async def _deliver(module: Module, link: Link, data: bytes, to: tuple[str, int] | None) -> Result:
    if module.links.get(link.id) is not link:
        return Result(final="SEND FAIL")
    try:
        if to is not None:
            ip = await resolve(module, to[0].encode())
            to = (ip, to[1])
        await module.links.send(link, data, to)
    except (NetError, AtError):
        return Result(final="SEND FAIL")
    return Result(final="SEND OK")


def _cipsend_passthrough(module: Module, args: Args) -> Result:
    """AT+CIPSEND: ``>`` and passthrough mode on the link passthrough uses."""
    passthrough = module.passthrough
    if passthrough.mode != 1:
        raise exec_fail(reason="AT+CIPSEND without parameters needs AT+CIPMODE=1")
    link = passthrough.candidate()
    if link is None:
        raise exec_fail(reason="no link for passthrough")
    if link.kind == "UDP" and link.udp_mode != 0:
        raise exec_fail(reason="UDP passthrough needs <mode> 0")
    module.engine.write(b"\r\nOK\r\n\r\n>")
    passthrough.enter(link)
    return Result(final="")


def _cipsend(module: Module, args: Args) -> Result:
    return _send_setup(module, args, escapes=False)


def _cipsendex(module: Module, args: Args) -> Result:
    return _send_setup(module, args, escapes=True)


# -- AT+CIPCLOSE ---------------------------------------------------------------------------
def _cipclose_set(module: Module, args: Args) -> list[str]:
    if not module.net.mux:
        raise exec_fail(reason="single connection mode closes with AT+CIPCLOSE")
    if len(args) != 1:
        raise para_num(1, len(args))
    link_id = int_param(args, 0, 0, MAX_LINKS)
    targets = range(MAX_LINKS) if link_id == MAX_LINKS else (link_id,)
    closed = [i for i in targets if module.links.close(i)]
    if not closed and link_id != MAX_LINKS:
        raise exec_fail(reason="link not open")
    return [f"{i},CLOSED" for i in closed]


def _cipclose(module: Module, args: Args) -> list[str]:
    """The single connection's link; in multiple connections mode the one client of a
    server limited to one (the link passthrough uses), as the manual's server passthrough
    walkthrough closes it, answered as there with ``CLOSED``."""
    link_id = 0
    if module.net.mux:
        link = module.passthrough.candidate()
        if link is None:
            raise exec_fail(reason="multiple connections close with AT+CIPCLOSE=<link ID>")
        link_id = link.id
    if not module.links.close(link_id):
        raise exec_fail(reason="no connection")
    return ["CLOSED"]


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPSTART", set=_cipstart),
    Command("AT+CIPSTARTEX", set=_cipstartex),
    Command("AT+CIPSEND", set=_cipsend, execute=_cipsend_passthrough),
    Command("AT+CIPSENDEX", set=_cipsendex),
    Command("AT+CIPCLOSE", set=_cipclose_set, execute=_cipclose),
]
