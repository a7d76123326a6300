"""Name resolution and connection settings: AT+CIPDOMAIN, AT+CIPDNS, AT+CIPTCPOPT and
AT+CIPRECONNINTV.

AT+CIPDNS, AT+CIPTCPOPT and AT+CIPRECONNINTV are stored when ``AT+SYSSTORE=1``. Names
resolve through the scenario's ``[net] hosts`` whatever DNS servers are set (the servers
are reported, not asked).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num
from ..at.table import Args, Command, IntParam
from ..device.net import DEFAULT_DNS, MAX_LINKS, TcpOptions
from ..device.settings_schema import RECONN_INTV
from ..radio.addresses import parse_ipv4
from .tcpip_links import HOST_MAX, int_param, link_param, opt_int, resolve, str_param

if TYPE_CHECKING:
    from ..device.module import Module


# -- AT+CIPDOMAIN ----------------------------------------------------------------------------
def _cipdomain(module: Module, args: Args) -> Awaitable[list[str]]:
    if len(args) > 4:
        raise para_num(4, len(args))
    name = str_param(args, 0, HOST_MAX)
    assert name is not None
    network = opt_int(args, 1, 1, 3, 1)
    opt_int(args, 2, 0, 60000, 0)
    opt_int(args, 3, 0, 1, 0)
    if network == 3:
        raise exec_fail(reason="IPv6 is not enabled (AT+CIPV6)")
    return _lookup(module, name)


async def _lookup(module: Module, name: bytes) -> list[str]:
    if module.wifi.station_ip() is None:
        raise exec_fail(reason="no IP address")
    return [f'+CIPDOMAIN:"{await resolve(module, name)}"']


# -- AT+CIPDNS -------------------------------------------------------------------------------
def _dns_query(module: Module, args: Args) -> list[str]:
    servers = ",".join(f'"{ip}"' for ip in module.net.dns_servers)
    return [f"+CIPDNS:{int(module.net.dns_manual)},{servers}"]


def _dns_set(module: Module, args: Args) -> None:
    if not 1 <= len(args) <= 4:
        raise para_num(4, len(args))
    enable = int_param(args, 0, 0, 1)
    servers: list[str] = []
    for index in range(1, len(args)):
        raw = str_param(args, index, 64, optional=True)
        if raw is None:
            continue
        ip = parse_ipv4(raw)
        if ip is None or ip in servers:
            raise para_invalid(index, "not an IPv4 address, or given twice")
        servers.append(ip)
    net = module.net
    net.dns_manual = bool(enable)
    net.dns_servers = tuple(servers) if enable and servers else DEFAULT_DNS
    module.persist(net.dns_entry())


# -- AT+CIPTCPOPT ----------------------------------------------------------------------------
def _tcpopt_query(module: Module, args: Args) -> list[str]:
    links = range(MAX_LINKS) if module.net.mux else range(1)
    return [f"+CIPTCPOPT:{i},{module.net.tcp_options[i].text()}" for i in links]


def _tcpopt_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    if not first + 3 <= len(args) <= first + 4:
        raise para_num(first + 4, len(args))
    targets = range(MAX_LINKS) if link_id == MAX_LINKS else (link_id,)
    for target in targets:
        old = module.net.tcp_options[target]
        module.net.tcp_options[target] = TcpOptions(
            opt_int(args, first, -1, 2**31 - 1, old.linger),
            opt_int(args, first + 1, 0, 1, old.nodelay),
            opt_int(args, first + 2, 0, 2**31 - 1, old.send_timeout),
            opt_int(args, first + 3, 0, 7200, old.keep_alive),
        )
    module.persist(module.net.tcp_entry())


# -- AT+CIPRECONNINTV ------------------------------------------------------------------------
def _reconn_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPRECONNINTV:{module.net.reconn_interval}"]


def _reconn_set(module: Module, args: Args) -> None:
    module.net.reconn_interval = args.integer(0)
    module.persist(RECONN_INTV.entry(module.net.reconn_interval))


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPDOMAIN", set=_cipdomain),
    Command("AT+CIPDNS", query=_dns_query, set=_dns_set),
    Command("AT+CIPTCPOPT", query=_tcpopt_query, set=_tcpopt_set),
    Command(
        "AT+CIPRECONNINTV",
        query=_reconn_query,
        set=_reconn_set,
        params=(IntParam("interval", 1, 36000),),
    ),
]
