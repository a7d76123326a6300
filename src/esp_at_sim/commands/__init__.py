"""The command groups of the firmware, one module each, assembled into one table."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from ..at.table import CommandTable
from . import (
    basic,
    sysmfg,
    system,
    tcpip,
    tcpip_conf,
    tcpip_links,
    tcpip_ping,
    tcpip_recv,
    tcpip_sendl,
    tcpip_server,
    tcpip_sntp,
    tcpip_ssl,
    tcpip_trans,
    web,
    wifi,
)

if TYPE_CHECKING:
    from ..device.module import Module


def build_table() -> CommandTable[Module]:
    """Every command, in the order ``AT+CMD?`` lists them."""
    table: CommandTable[Module] = CommandTable()
    for group in (
        basic,
        system,
        sysmfg,
        wifi,
        tcpip,
        tcpip_links,
        tcpip_recv,
        tcpip_server,
        tcpip_conf,
        tcpip_ssl,
        tcpip_sntp,
        tcpip_ping,
        tcpip_trans,
        tcpip_sendl,
        web,
    ):
        table.extend(group.COMMANDS)
    return table


@functools.cache
def shared_table() -> CommandTable[Module]:
    """The one frozen table every module of the process uses: commands are immutable, so
    a module holds no copy of its own (:func:`build_table` makes a private, open one)."""
    return build_table().freeze()
