"""SNTP: AT+CIPSNTPCFG, AT+CIPSNTPTIME and AT+CIPSNTPINTV (see
:mod:`esp_at_sim.device.sntp`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import para_invalid, para_num
from ..at.table import Args, Command, IntParam
from ..device.settings_schema import utc_offset
from ..device.sntp import SntpConfig
from .tcpip_links import int_param, str_param

if TYPE_CHECKING:
    from ..device.module import Module

SERVER_MAX = 64  # bytes of a server name
INTERVAL_MIN, INTERVAL_MAX = 15, 4294967


def _cfg_query(module: Module, args: Args) -> list[str]:
    config = module.sntp.config
    servers = "".join(f',"{name}"' for name in config.effective_servers)
    return [f"+CIPSNTPCFG:{int(config.enabled)},{config.shown_timezone}{servers}"]


def _cfg_set(module: Module, args: Args) -> None:
    if not 1 <= len(args) <= 5:
        raise para_num(5, len(args))
    enable = int_param(args, 0, 0, 1)
    old = module.sntp.config
    timezone = old.timezone
    if len(args) > 1 and not args.params[1].is_empty:
        timezone = int_param(args, 1, -(2**31), 2**31 - 1)
        if utc_offset(timezone) is None:
            raise para_invalid(1, "not a time zone")
    servers: list[str] = []
    for index in range(2, len(args)):
        raw = str_param(args, index, SERVER_MAX, optional=True)
        if raw:
            servers.append(raw.decode("utf-8", "replace"))
    module.sntp.configure(SntpConfig(bool(enable), timezone, tuple(servers)))


def _time_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPSNTPTIME:{module.sntp.local_asctime()}"]


def _intv_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPSNTPINTV:{module.sntp.interval}"]


def _intv_set(module: Module, args: Args) -> None:
    module.sntp.set_interval(args.integer(0))


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPSNTPCFG", query=_cfg_query, set=_cfg_set),
    Command("AT+CIPSNTPTIME", query=_time_query),
    Command(
        "AT+CIPSNTPINTV",
        query=_intv_query,
        set=_intv_set,
        params=(IntParam("interval", INTERVAL_MIN, INTERVAL_MAX),),
    ),
]
