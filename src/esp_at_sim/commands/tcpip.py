"""TCP/IP AT commands that host drivers send at start-up: AT+CIPMUX, AT+CIPSTATE,
AT+CIPSTATUS, AT+CIPRECVMODE, AT+CIPDINFO and AT+CIPSSLCCONF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num, para_type
from ..at.table import Args, Command, IntParam
from ..device.net import MAX_LINKS, SslClientConfig

if TYPE_CHECKING:
    from ..device.module import Module


def _mux_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPMUX:{int(module.net.mux)}"]


def _mux_set(module: Module, args: Args) -> None:
    if module.links.count():
        raise exec_fail(reason="connections are open")
    if module.passthrough.mode and args.integer(0):
        raise exec_fail(reason="AT+CIPMODE=1 allows a single connection only")
    if module.servers.running and not args.integer(0):
        raise exec_fail(reason="delete the server first (AT+CIPSERVER=0)")
    module.net.mux = bool(args.integer(0))


def _cipstate(module: Module, args: Args) -> list[str]:
    return [f"+CIPSTATE:{link.state_fields()}" for link in module.links.open_links()]


def _cipstatus(module: Module, args: Args) -> list[str]:
    lines = [f"+CIPSTATUS:{link.state_fields()}" for link in module.links.open_links()]
    return [f"STATUS:{module.links.status_code()}", *lines]


def _recvmode_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPRECVMODE:{module.net.recv_mode}"]


def _recvmode_set(module: Module, args: Args) -> None:
    module.net.recv_mode = args.integer(0)
    module.net.recv_types = [module.net.recv_mode] * MAX_LINKS


def _dinfo_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPDINFO:{'true' if module.net.dinfo else 'false'}"]


def _dinfo_set(module: Module, args: Args) -> None:
    module.net.dinfo = bool(args.integer(0))


def _sslcconf_query(module: Module, args: Args) -> list[str]:
    links = range(MAX_LINKS) if module.net.mux else range(1)
    return [
        f"+CIPSSLCCONF:{i},{c.auth_mode},{c.pki_number},{c.ca_number}"
        for i in links
        for c in (module.net.ssl_client[i],)
    ]


def _sslcconf_set(module: Module, args: Args) -> None:
    values: list[int] = []
    for index, param in enumerate(args.params):
        if param.is_empty:
            values.append(0)
        elif param.kind != "int" or not isinstance(param.value, int):
            raise para_type(index)
        else:
            values.append(param.value)
    first = 1 if module.net.mux else 0
    if not first + 1 <= len(values) <= first + 3:
        raise para_num(first + 3, len(values))
    link = values[0] if module.net.mux else 0
    if not 0 <= link <= MAX_LINKS:
        raise para_invalid(0)
    auth, pki, ca = [*values[first:], 0, 0][:3]
    if not 0 <= auth <= 3:
        raise para_invalid(first)
    if pki < 0 or ca < 0:
        raise para_invalid(first + 1 if pki < 0 else first + 2)
    config = SslClientConfig(auth, pki if auth in (1, 3) else 0, ca if auth in (2, 3) else 0)
    targets = range(MAX_LINKS) if link == MAX_LINKS else (link,)
    for target in targets:
        module.net.ssl_client[target] = config
    module.persist(module.net.ssl_entry(), always=True)


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPSTATUS", execute=_cipstatus),
    Command("AT+CIPSTATE", query=_cipstate),
    Command("AT+CIPMUX", query=_mux_query, set=_mux_set, params=(IntParam("mode", 0, 1),)),
    Command("AT+CIPDINFO", query=_dinfo_query, set=_dinfo_set, params=(IntParam("mode", 0, 1),)),
    Command("AT+CIPSSLCCONF", query=_sslcconf_query, set=_sslcconf_set),
    Command(
        "AT+CIPRECVMODE", query=_recvmode_query, set=_recvmode_set, params=(IntParam("mode", 0, 1),)
    ),
]
