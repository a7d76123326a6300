"""Provisioning by the air: AT+CWSTARTSMART, AT+CWSTOPSMART (SmartConfig) and AT+WPS.

SmartConfig runs in station mode only (AT+CWMODE=1); WPS needs the station interface
(mode 1 or 3). Both answer ``OK`` at once and report later (see
:mod:`esp_at_sim.device.smartconfig`); starting either while it runs is ``ERROR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid
from ..at.table import Args, Command, IntParam, StrParam
from ..device.smartconfig import SetupUnavailable
from ..device.wifi import MODE_STA
from .wifi_common import ensure, need_sta, wifi_on

if TYPE_CHECKING:
    from ..device.module import Module

ESPTOUCH_AIRKISS = 3
ESPTOUCH_V2 = 4


def _start(m: Module, sc_type: int, floor: int, key: bytes | None) -> None:
    wifi = wifi_on(m)
    ensure(wifi.mode == MODE_STA, exec_fail(reason="SmartConfig needs station mode (1)"))
    try:
        wifi.smart.start(sc_type, floor, key)
    except SetupUnavailable as exc:
        raise exec_fail(reason=str(exc)) from exc


def _startsmart_execute(m: Module, a: Args) -> None:
    _start(m, ESPTOUCH_AIRKISS, 0, None)


def _startsmart_set(m: Module, a: Args) -> None:
    sc_type, key = a.integer(0), a.opt_octets(2)
    ensure(key is None or sc_type == ESPTOUCH_V2, para_invalid(2, "a key is for ESP-Touch v2"))
    _start(m, sc_type, a.integer(1), key)


def _stopsmart_execute(m: Module, a: Args) -> None:
    m.wifi.smart.stop()


def _wps_set(m: Module, a: Args) -> None:
    if a.integer(0) == 0:
        m.wifi.wps.disable()
        return
    wifi = need_sta(m)
    try:
        wifi.wps.enable(a.integer(1))
    except SetupUnavailable as exc:
        raise exec_fail(reason=str(exc)) from exc


COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWSTARTSMART",
        execute=_startsmart_execute,
        set=_startsmart_set,
        params=(
            IntParam("type", 1, 4),
            IntParam("auth_floor", 0, 15, optional=True, default=0),
            StrParam("esptouch_v2_key", 16, min_len=16, optional=True, secret=True),
        ),
    ),
    Command("AT+CWSTOPSMART", execute=_stopsmart_execute),
    Command(
        "AT+WPS",
        set=_wps_set,
        params=(IntParam("enable", 0, 1), IntParam("auth_floor", 0, 15, optional=True, default=0)),
    ),
]
