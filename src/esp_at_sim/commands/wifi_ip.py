"""Address commands: AT+CIPSTAMAC, AT+CIPAPMAC, AT+CIPSTA, AT+CIPAP and AT+CIFSR.

Each needs the interface it names to be on (the station in modes 1 and 3, the SoftAP in
modes 2 and 3). A static address given alone gets gateway ``x.y.z.1`` and netmask
``255.255.255.0``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..at.errors import para_invalid, para_num
from ..at.table import Args, Command, StrParam
from ..device.settings_schema import AP_IP, AP_MAC, STA_MAC
from ..radio.addresses import DEFAULT_NETMASK, default_gateway
from ..radio.base import IpInfo
from .wifi_common import ensure, ip_param, mac_param, need_ap, need_sta, wifi_on

if TYPE_CHECKING:
    from ..device.module import Module

Lines = list[bytes | str]


def _stamac_query(m: Module, a: Args) -> Lines:
    return [f'+CIPSTAMAC:"{need_sta(m).sta_mac}"']


def _stamac_set(m: Module, a: Args) -> None:
    wifi = need_sta(m)
    mac = mac_param(a.octets(0), 0)
    ensure(not wifi.mac_conflict(mac, wifi.ap_mac), para_invalid(0, "MAC not allowed"))
    wifi.sta_mac = mac
    wifi.persist(STA_MAC.entry(mac))


def _apmac_query(m: Module, a: Args) -> Lines:
    return [f'+CIPAPMAC:"{need_ap(m).ap_mac}"']


def _apmac_set(m: Module, a: Args) -> None:
    wifi = need_ap(m)
    mac = mac_param(a.octets(0), 0)
    ensure(not wifi.mac_conflict(mac, wifi.sta_mac), para_invalid(0, "MAC not allowed"))
    wifi.ap_mac = mac
    wifi.persist(AP_MAC.entry(mac))


def _address_lines(prefix: str, info: IpInfo) -> Lines:
    return [
        f'{prefix}:ip:"{info.ip}"',
        f'{prefix}:gateway:"{info.gateway}"',
        f'{prefix}:netmask:"{info.netmask}"',
    ]


def _address_param(a: Args) -> IpInfo:
    if len(a) == 2:
        raise para_num(3, 2)
    ip = ip_param(a.octets(0), 0)
    if len(a) == 1:
        return IpInfo(ip, default_gateway(ip), DEFAULT_NETMASK)
    return IpInfo(ip, ip_param(a.octets(1), 1), ip_param(a.octets(2), 2))


def _cipsta_query(m: Module, a: Args) -> Lines:
    return _address_lines("+CIPSTA", need_sta(m).sta.ip())


def _cipsta_set(m: Module, a: Args) -> None:
    wifi = need_sta(m)
    wifi.set_static_ip(_address_param(a))


def _cipap_query(m: Module, a: Args) -> Lines:
    return _address_lines("+CIPAP", need_ap(m).ap.address)


def _cipap_set(m: Module, a: Args) -> None:
    wifi = need_ap(m)
    info = _address_param(a)
    wifi.ap.set_address(info)
    wifi.persist(AP_IP.entry(info))


def _cifsr_execute(m: Module, a: Args) -> Lines:
    wifi = wifi_on(m)
    lines: Lines = []
    if wifi.has_ap:
        lines += [f'+CIFSR:APIP,"{wifi.ap.address.ip}"', f'+CIFSR:APMAC,"{wifi.ap_mac}"']
    if wifi.has_sta:
        lines += [f'+CIFSR:STAIP,"{wifi.sta.ip().ip}"', f'+CIFSR:STAMAC,"{wifi.sta_mac}"']
    return lines


_ADDRESS_PARAMS = (
    StrParam("ip", 15),
    StrParam("gateway", 15, optional=True),
    StrParam("netmask", 15, optional=True),
)


def _mac_command(
    name: str, query: Callable[[Module, Args], Lines], setter: Callable[[Module, Args], None]
) -> Command[Module]:
    return Command(name, query=query, set=setter, params=(StrParam("mac", 17, min_len=1),))


MAC_IP_COMMANDS: list[Command[Module]] = [
    _mac_command("AT+CIPSTAMAC", _stamac_query, _stamac_set),
    _mac_command("AT+CIPAPMAC", _apmac_query, _apmac_set),
    Command("AT+CIPSTA", query=_cipsta_query, set=_cipsta_set, params=_ADDRESS_PARAMS),
    Command("AT+CIPAP", query=_cipap_query, set=_cipap_set, params=_ADDRESS_PARAMS),
]
CIFSR_COMMANDS: list[Command[Module]] = [Command("AT+CIFSR", execute=_cifsr_execute)]
