"""The module as a server: AT+CIPSERVER, AT+CIPSERVERMAXCONN and AT+CIPSTO.

A server needs ``AT+CIPMUX=1`` and there is one at most (creating it again answers
``no change``). Its clients take link IDs and are announced with ``<id>,CONNECT``
(:mod:`esp_at_sim.device.servers`). IPv6 types fail as on a module without IPv6; an
``"SSL"`` server needs the module's server certificate. With ``AT+SYSLOG=1`` a port this
machine refuses adds ``+ERRNO:<code>`` before ``ERR CODE``.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ..at.errors import AtError, exec_fail, para_invalid, para_num
from ..at.table import Args, Command, IntParam, Result
from ..device.servers import DEFAULT_PORT, ServerConfig
from .tcpip_links import int_param, opt_int, str_param

if TYPE_CHECKING:
    from ..device.module import Module

_TYPES = ("TCP", "SSL")
_V6_TYPES = ("TCPv6", "SSLv6")
# lwIP's errno values, which +ERRNO reports.
_LWIP_ERRNO = {errno.EADDRINUSE: 112, errno.EACCES: 13, errno.EADDRNOTAVAIL: 125}
_LWIP_EADDRINUSE = 112


def _query(module: Module, args: Args) -> list[str]:
    config = module.servers.config
    return [f"+CIPSERVER:1,{config.fields()}" if config else "+CIPSERVER:0"]


def _set(module: Module, args: Args) -> Result | Awaitable[Result]:
    mode = int_param(args, 0, 0, 1)
    if mode == 0:
        if len(args) > 2:
            raise para_num(2, len(args))
        close_all = opt_int(args, 1, 0, 1, 0)
        if not module.servers.running:
            raise exec_fail(reason="no server is running")
        closed = module.servers.stop(bool(close_all))
        return Result(tuple(f"{i},CLOSED" for i in closed))
    if len(args) > 5:
        raise para_num(5, len(args))
    port = opt_int(args, 1, 1, 65535, DEFAULT_PORT)
    raw_kind = str_param(args, 2, 8, optional=True)
    kind = raw_kind.decode("ascii", "replace") if raw_kind is not None else "TCP"
    if kind not in _TYPES and kind not in _V6_TYPES:
        raise para_invalid(2, f"unknown server type {kind}")
    ca = opt_int(args, 3, 0, 1, 0)
    netif = opt_int(args, 4, 0, 3, 0)
    if not module.net.mux:
        raise exec_fail(reason="a server needs AT+CIPMUX=1")
    if module.servers.running:
        return Result(("no change",))
    if kind in _V6_TYPES:
        raise exec_fail(reason="IPv6 is not enabled (AT+CIPV6)")
    tls = None
    if kind == "SSL":
        factory = module.servers.tls_factory
        tls = factory(bool(ca)) if factory is not None else None
        if tls is None:
            raise exec_fail(reason="no server certificate")
    return _start(module, ServerConfig(port, kind, ca, netif), tls)


async def _start(module: Module, config: ServerConfig, tls: ssl.SSLContext | None) -> Result:
    try:
        await module.servers.start(config, tls)
    except OSError as exc:
        code = _LWIP_ERRNO.get(exc.errno or 0, _LWIP_EADDRINUSE)
        lines = (f"+ERRNO:{code}",) if module.engine.syslog else ()
        raise AtError(exec_fail().sub, lines=lines, reason=f"cannot listen: {exc}") from exc
    return Result()


def _maxconn_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPSERVERMAXCONN:{module.servers.max_conn}"]


def _maxconn_set(module: Module, args: Args) -> None:
    if module.servers.running:
        raise exec_fail(reason="set the limit before creating the server")
    module.servers.max_conn = args.integer(0)


def _sto_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPSTO:{module.servers.timeout}"]


def _sto_set(module: Module, args: Args) -> None:
    if not module.servers.running:
        raise exec_fail(reason="no server is running")
    module.servers.set_timeout(args.integer(0))


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPSERVER", query=_query, set=_set),
    Command(
        "AT+CIPSERVERMAXCONN",
        query=_maxconn_query,
        set=_maxconn_set,
        params=(IntParam("num", 1, 5),),
    ),
    Command("AT+CIPSTO", query=_sto_query, set=_sto_set, params=(IntParam("time", 0, 7200),)),
]
