"""Passthrough: AT+CIPMODE, AT+CIPSEND without parameters, AT+TRANSINTVL and
AT+SAVETRANSLINK (the manual lists the last two among the basic commands; they only
concern passthrough, so they live here). The mode itself is
:mod:`esp_at_sim.device.passthrough`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num
from ..at.table import Args, Command, IntParam
from ..device.passthrough import SavedLink
from .tcpip_links import HOST_MAX, int_param, opt_int, str_param

if TYPE_CHECKING:
    from ..device.module import Module


def _mode_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPMODE:{module.passthrough.mode}"]


def _mode_set(module: Module, args: Args) -> None:
    module.passthrough.mode = args.integer(0)


def _intvl_query(module: Module, args: Args) -> list[str]:
    return [f"+TRANSINTVL:{module.passthrough.interval}"]


def _intvl_set(module: Module, args: Args) -> None:
    module.passthrough.interval = args.integer(0)


def _type(args: Args, index: int, allowed: tuple[str, ...], default: str) -> str:
    raw = str_param(args, index, 8, optional=True)
    kind = raw.decode("ascii", "replace") if raw is not None else default
    if kind.endswith("v6") and kind[:-2] in allowed:
        raise exec_fail(reason="IPv6 is not enabled (AT+CIPV6)")
    if kind not in allowed:
        raise para_invalid(index, f"unknown type {kind}")
    return kind


def _savetrans(module: Module, args: Args) -> None:
    mode = int_param(args, 0, 0, 3)
    if mode == 2:
        raise exec_fail(reason="Bluetooth LE passthrough is not supported")
    saved: SavedLink | None
    if mode == 0:
        if len(args) > 1:
            raise para_num(1, len(args))
        saved = None
    elif mode == 1:
        if not 3 <= len(args) <= 5:
            raise para_num(5, len(args))
        host = str_param(args, 1, HOST_MAX)
        assert host is not None
        if not host:
            raise para_invalid(1, "empty host")
        port = int_param(args, 2, 1, 65535)
        kind = _type(args, 3, ("TCP", "SSL", "UDP"), "TCP")
        extra = opt_int(args, 4, 0, 7200 if kind != "UDP" else 65535, 0)
        saved = SavedLink(1, kind, host.decode("utf-8", "replace"), port, extra)
    else:
        if len(args) > 5:
            raise para_num(5, len(args))
        port = opt_int(args, 1, 1, 65535, 333)
        kind = _type(args, 2, ("TCP", "SSL"), "TCP")
        # <CA enable> counts for "SSL" only; a "TCP" server ignores it
        ca = opt_int(args, 3, 0, 1, 0) if kind == "SSL" else 0
        netif = opt_int(args, 4, 0, 3, 0)
        saved = SavedLink(3, kind, "", port, ca, netif)
    module.passthrough.save(saved)


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPMODE", query=_mode_query, set=_mode_set, params=(IntParam("mode", 0, 1),)),
    Command(
        "AT+TRANSINTVL",
        query=_intvl_query,
        set=_intvl_set,
        params=(IntParam("interval", 0, 1000),),
    ),
    Command("AT+SAVETRANSLINK", set=_savetrans),
]
