"""AT+CIPSENDL, AT+CIPSENDLCFG and AT+CIPCONNPERSIST.

AT+CIPSENDL sends while the data still arrives (:mod:`esp_at_sim.device.sendl`);
AT+CIPSENDLCFG sets how it reports and packs (not stored). AT+CIPCONNPERSIST keeps a
TCP link open when the station loses its network (per link, not stored).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_num
from ..at.table import Args, Command, Result
from ..device.net import MAX_LINKS
from ..device.sendl import SendL
from .tcpip_links import int_param, link_param, opt_int, send_params

if TYPE_CHECKING:
    from ..device.module import Module

LENGTH_MAX = 2**31 - 1


def _sendl(module: Module, args: Args) -> Result:
    if module.passthrough.mode:
        raise exec_fail(reason="AT+CIPMODE=1: send with AT+CIPSEND alone")
    link, length, to = send_params(module, args, LENGTH_MAX)
    module.engine.write(b"\r\nOK\r\n\r\n>")
    SendL(module, link, length, to).start()
    return Result(final="")


def _sendlcfg_query(module: Module, args: Args) -> list[str]:
    config = module.net.sendl
    return [f"+CIPSENDLCFG:{config.report_size},{config.transmit_size}"]


def _sendlcfg_set(module: Module, args: Args) -> None:
    if not 1 <= len(args) <= 2:
        raise para_num(2, len(args))
    config = module.net.sendl
    report = int_param(args, 0, 100, 2**20)
    transmit = opt_int(args, 1, 100, 2920, config.transmit_size)
    module.net.sendl = replace(config, report_size=report, transmit_size=transmit)


def _persist_query(module: Module, args: Args) -> list[str]:
    links = range(MAX_LINKS) if module.net.mux else range(1)
    values = ",".join(str(module.net.conn_persist[i]) for i in links)
    return [f"+CIPCONNPERSIST:{values}"]


def _persist_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args)
    if len(args) != first + 1:
        raise para_num(first + 1, len(args))
    module.net.conn_persist[link_id] = int_param(args, first, 0, 1)


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPSENDL", set=_sendl),
    Command("AT+CIPSENDLCFG", query=_sendlcfg_query, set=_sendlcfg_set),
    Command("AT+CIPCONNPERSIST", query=_persist_query, set=_persist_set),
]
