"""Passive receive: AT+CIPRECVTYPE, AT+CIPRECVDATA and AT+CIPRECVLEN.

In passive mode a link keeps what arrives (up to the 5760-byte window; a full window
holds TCP back and drops UDP) and says so once with ``+IPD,[<id>,]<len>``; the host reads
with AT+CIPRECVDATA, which prints the bytes straight after its header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_num
from ..at.table import Args, Command
from ..device.net import MAX_LINKS
from .tcpip_links import int_param, link_param, open_link, opt_int

if TYPE_CHECKING:
    from ..device.module import Module

RECV_MAX = 0x7FFFFFFF


def _type_query(module: Module, args: Args) -> list[str]:
    links = range(MAX_LINKS) if module.net.mux else range(1)
    return [f"+CIPRECVTYPE:{i},{module.net.recv_types[i]}" for i in links]


def _type_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    if not first + 1 <= len(args) <= first + 2:
        raise para_num(first + 2, len(args))
    mode = int_param(args, first, 0, 1)
    report = opt_int(args, first + 1, 0, 1, 0)
    targets = range(MAX_LINKS) if link_id == MAX_LINKS else (link_id,)
    for target in targets:
        module.net.recv_types[target] = mode
        module.net.recv_reports[target] = report


def _recvdata(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args)
    if not first + 1 <= len(args) <= first + 2:
        raise para_num(first + 2, len(args))
    size = int_param(args, first, 1, RECV_MAX)
    whole = opt_int(args, first + 1, 0, 1, 0)
    if module.net.recv_types[link_id] != 1:
        raise exec_fail(reason="the link is not in passive receive mode")
    link = open_link(module, link_id)
    if not link.buffer:
        raise exec_fail(reason="nothing to read")
    try:
        data, ip, port = module.links.read(link, size, whole=bool(whole))
    except ValueError as exc:  # <keep_datagram_integrity> 1 and a longer datagram
        raise exec_fail(reason=str(exc)) from None
    info = f'"{ip}",{port},' if module.net.dinfo else ""
    module.engine.write(f"+CIPRECVDATA:{len(data)},{info}".encode() + data)


def _recvlen(module: Module, args: Args) -> list[str]:
    if not module.net.mux:
        link = module.links.get(0)
        return [f"+CIPRECVLEN:{module.links.pending(link) if link else 0}"]
    fields = []
    for link_id in range(MAX_LINKS):
        link = module.links.get(link_id)
        fields.append("" if link is None else str(module.links.pending(link)))
    return ["+CIPRECVLEN:" + ",".join(fields)]


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPRECVTYPE", query=_type_query, set=_type_set),
    Command("AT+CIPRECVDATA", set=_recvdata),
    Command("AT+CIPRECVLEN", query=_recvlen),
]
