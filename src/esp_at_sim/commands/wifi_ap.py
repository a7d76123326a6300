"""SoftAP AT commands: AT+CWSAP, AT+CWLIF, AT+CWQIF, AT+CWDHCP and AT+CWDHCPS.

They need a mode with the SoftAP (2 or 3), except AT+CWDHCP, which also sets the
station's DHCP client. Every parameter is checked before anything changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num
from ..at.table import Args, Command, IntParam, StrParam
from ..device.settings_schema import DHCPS
from ..device.softap import ECN_AUTH, MAX_CONN, ApSettings
from ..radio.addresses import DhcpPool
from .wifi_common import ensure, ip_param, mac_param, need_ap, quoted, wifi_on

if TYPE_CHECKING:
    from ..device.module import Module

Lines = list[bytes | str]
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _cwsap_query(m: Module, a: Args) -> Lines:
    cfg = need_ap(m).ap.settings
    tail = f",{cfg.channel},{cfg.ecn},{cfg.max_conn},{int(cfg.hidden)}"
    return [b"+CWSAP:" + quoted(cfg.ssid) + b"," + quoted(cfg.password) + tail.encode()]


def _cwsap_set(m: Module, a: Args) -> None:
    wifi = need_ap(m)
    ssid, password, channel, ecn = a.octets(0), a.octets(1), a.integer(2), a.integer(3)
    ensure(ecn in ECN_AUTH, para_invalid(3, "ecn must be 0, 2, 3 or 4"))
    if ecn != 0:
        ensure(len(password) >= 8, para_invalid(1, "password shorter than 8 bytes"))
        ensure(len(password) < 64 or set(password) <= _HEX, para_invalid(1, "64 bytes: hex"))
    ensure(wifi.channel_allowed(channel), para_invalid(2, "channel outside the country"))
    cfg = ApSettings(ssid, password, channel, ecn, a.integer(4), a.integer(5) == 1)
    wifi.ap.settings = cfg
    wifi.persist_softap()
    wifi.ap.refresh()


def _cwlif_execute(m: Module, a: Args) -> Lines:
    stations = need_ap(m).softap_stations()
    return [f"+CWLIF:{s.ip},{s.mac}" for s in stations if s.ip is not None]


def _cwqif_execute(m: Module, a: Args) -> None:
    need_ap(m)
    for station in m.wifi.softap_stations():
        m.radio.leave_phone(station.mac)


def _cwqif_set(m: Module, a: Args) -> None:
    wifi = need_ap(m)
    mac = mac_param(a.octets(0), 0)
    known = any(station.mac == mac for station in wifi.softap_stations())
    ensure(known, exec_fail(reason="no such station"))
    m.radio.leave_phone(mac)


def _cwdhcp_query(m: Module, a: Args) -> Lines:
    return [f"+CWDHCP:{wifi_on(m).dhcp_bits}"]


def _cwdhcp_set(m: Module, a: Args) -> None:
    wifi_on(m).set_dhcp(a.integer(0) == 1, a.integer(1))


def _cwdhcps_query(m: Module, a: Args) -> Lines:
    pool = need_ap(m).ap.pool
    # The AT core prints the range bare (its format is "+CWDHCPS:%d,%s,%s"), unlike the
    # quoted addresses of AT+CIPAP? and AT+CIFSR.
    return [f"+CWDHCPS:{pool.lease_minutes},{pool.start},{pool.end}"]


def _cwdhcps_set(m: Module, a: Args) -> None:
    wifi = need_ap(m)
    if a.integer(0) == 0:
        wifi.ap.set_pool(None)
        wifi.persist(DHCPS.cleared())
        return
    if not all(a.given(i) for i in range(4)):
        raise para_num(4, len(a))
    start, end = ip_param(a.octets(2), 2), ip_param(a.octets(3), 3)
    pool = DhcpPool(start, end, a.integer(1))
    ensure(pool.fits(wifi.ap.address.ip), para_invalid(3, "range does not fit"))
    wifi.ap.set_pool(pool)
    wifi.persist(DHCPS.entry(pool))


COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWSAP",
        query=_cwsap_query,
        set=_cwsap_set,
        params=(
            StrParam("ssid", 32, min_len=1),
            StrParam("pwd", 64, secret=True),
            IntParam("chl", 1, 14),
            IntParam("ecn", 0, 4),
            IntParam("max_conn", 1, MAX_CONN, optional=True, default=4),
            IntParam("ssid_hidden", 0, 1, optional=True, default=0),
        ),
    ),
    Command("AT+CWLIF", execute=_cwlif_execute),
    Command(
        "AT+CWQIF",
        execute=_cwqif_execute,
        set=_cwqif_set,
        params=(StrParam("mac", 17, min_len=1),),
    ),
    Command(
        "AT+CWDHCP",
        query=_cwdhcp_query,
        set=_cwdhcp_set,
        params=(IntParam("operate", 0, 1), IntParam("mode", 0, 3)),
    ),
    Command(
        "AT+CWDHCPS",
        query=_cwdhcps_query,
        set=_cwdhcps_set,
        params=(
            IntParam("enable", 0, 1),
            IntParam("lease_time", 1, 2880, optional=True),
            StrParam("start_ip", 15, optional=True),
            StrParam("end_ip", 15, optional=True),
        ),
    ),
]
