"""Radio settings: AT+CWBANDWIDTH, AT+CWCONFIG, AT+CWAPPROTO and AT+CWSTAPROTO.

Each works on an interface the Wi-Fi mode has on (the station for <netif> 0 and
AT+CWSTAPROTO, the SoftAP for <netif> 1 and AT+CWAPPROTO), checks every parameter before
it changes anything, and stores what it sets when AT+SYSSTORE=1. The rules of the values
are ESP-IDF's (:mod:`esp_at_sim.device.phy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_num
from ..at.table import Args, Command, IntParam
from ..device.phy import AP, STA
from .wifi_common import ensure, need_ap, need_sta, wifi_on

if TYPE_CHECKING:
    from ..device.module import Module
    from ..device.wifi import Wifi

Lines = list[bytes | str]


def _interface(m: Module, netif: int) -> Wifi:
    return need_sta(m) if netif == STA else need_ap(m)


def _store(m: Module) -> None:
    m.wifi.persist_phy()


# --------------------------------------------------------------------- CWBANDWIDTH
def _bandwidth_query(m: Module, a: Args) -> Lines:
    wifi = wifi_on(m)
    shown = [netif for netif, on in ((STA, wifi.has_sta), (AP, wifi.has_ap)) if on]
    ensure(bool(shown), exec_fail(reason="Wi-Fi mode 0 has no interface"))
    # the 5 GHz field is 0 ("not valid") on a chip without 5 GHz
    return [f"+CWBANDWIDTH:{netif},{wifi.phy.bandwidth[netif]},0" for netif in shown]


def _bandwidth_set(m: Module, a: Args) -> None:
    netif, bandwidth = a.integer(0), a.integer(1)
    wifi = _interface(m, netif)
    if bandwidth == 0:  # keep the 2.4 GHz bandwidth as it is
        return
    try:
        wifi.phy.set_bandwidth(netif, bandwidth)
    except ValueError as exc:
        raise exec_fail(reason=str(exc)) from exc
    _store(m)


# ------------------------------------------------------------------------ CWCONFIG
def _config_query(m: Module, a: Args) -> Lines:
    wifi = wifi_on(m)
    phy = wifi.phy
    return [f"+CWCONFIG:{phy.ap_inactive},{phy.sta_inactive},{wifi.sta.config.listen_interval}"]


def _config_set(m: Module, a: Args) -> None:
    wifi = wifi_on(m)
    if not any(a.given(i) for i in range(3)):
        raise para_num(3, 0)
    phy, sta = wifi.phy, wifi.sta
    if a.given(0):
        phy.ap_inactive = a.integer(0)
    if a.given(1):
        phy.sta_inactive = a.integer(1)
    if a.given(2):
        sta.config = replace(sta.config, listen_interval=a.integer(2))
    _store(m)


# ------------------------------------------------------------ CWAPPROTO / CWSTAPROTO
def _proto_query(netif: int, name: str) -> Callable[[Module, Args], Lines]:
    def query(m: Module, a: Args) -> Lines:
        return [f"+{name}:{_interface(m, netif).phy.protocol[netif]}"]

    return query


def _proto_set(netif: int) -> Callable[[Module, Args], None]:
    def setter(m: Module, a: Args) -> None:
        wifi = _interface(m, netif)
        try:
            wifi.phy.set_protocol(netif, a.integer(0))
        except ValueError as exc:
            raise exec_fail(reason=str(exc)) from exc
        _store(m)

    return setter


def _proto_command(name: str, netif: int) -> Command[Module]:
    return Command(
        f"AT+{name}",
        query=_proto_query(netif, name),
        set=_proto_set(netif),
        params=(IntParam("protocol_2g", 0, 0x7F),),
    )


BANDWIDTH_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWBANDWIDTH",
        query=_bandwidth_query,
        set=_bandwidth_set,
        params=(
            IntParam("netif", 0, 1),
            IntParam("bandwidth_2ghz", 0, 2),
            IntParam("bandwidth_5ghz", 0, 2, optional=True, default=0),
        ),
    )
]
CONFIG_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWCONFIG",
        query=_config_query,
        set=_config_set,
        params=(
            IntParam("ap_inactive_time", 10, 3600, optional=True),
            IntParam("sta_inactive_time", 3, 600, optional=True),
            IntParam("listen_interval", 1, 100, optional=True),
        ),
    )
]
PROTO_COMMANDS: list[Command[Module]] = [
    _proto_command("CWAPPROTO", AP),
    _proto_command("CWSTAPROTO", STA),
]
