"""Wi-Fi AT commands: mode and driver, the station (join, reconnect, scan, leave), host
name and country. The SoftAP commands live in :mod:`.wifi_ap`, the address commands in
:mod:`.wifi_ip`; :data:`COMMANDS` lists all of them in the manual's order.

Set commands check every parameter before they change anything, so an ``ERROR`` leaves
the module as it was. No command here has a test form: the manual documents none.
:mod:`.wifi_phy` holds the radio settings, :mod:`.wifi_smart` SmartConfig and WPS.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid
from ..at.table import Args, Command, IntParam, Reply, StrParam
from ..device.settings_schema import AUTOCONN
from ..device.station import StaConfig, StaState
from ..device.wifi import Country, LapOptions
from ..radio.base import ScanResult
from . import wifi_ap, wifi_ip, wifi_phy, wifi_smart
from .wifi_common import c_string, ensure, mac_param, need_sta, quoted, wifi_on

if TYPE_CHECKING:
    from ..device.module import Module

Lines = list[bytes | str]


# ---------------------------------------------------------------- CWINIT / CWMODE
def _cwinit_query(m: Module, a: Args) -> Lines:
    return [f"+CWINIT:{int(m.wifi.initialized)}"]


def _cwinit_set(m: Module, a: Args) -> None:
    m.wifi.set_initialized(a.integer(0) == 1)


def _cwmode_query(m: Module, a: Args) -> Lines:
    return [f"+CWMODE:{wifi_on(m).mode}"]


def _cwmode_set(m: Module, a: Args) -> None:
    wifi_on(m).set_mode(a.integer(0), a.integer(1) == 1)


def _cwstate_query(m: Module, a: Args) -> Lines:
    sta = need_sta(m).sta
    return [f"+CWSTATE:{int(sta.state)},".encode() + quoted(sta.config.ssid)]


# ------------------------------------------------------------------------ CWJAP
def _cwjap_query(m: Module, a: Args) -> Lines:
    sta = need_sta(m).sta
    if sta.assoc is None:
        return ["No AP"]
    ap, cfg = sta.assoc.ap, sta.config
    tail = (
        f",{quoted(ap.bssid).decode()},{ap.channel},{ap.rssi},{cfg.authmode},"
        f"{sta.reconn_interval},{cfg.listen_interval},{cfg.scan_mode},{cfg.pmf}"
    )
    return [b"+CWJAP:" + quoted(c_string(ap.ssid)) + tail.encode()]


def _cwjap_set(m: Module, a: Args) -> Awaitable[Reply]:
    wifi = need_sta(m)
    old = wifi.sta.config
    ssid = a.opt_octets(0)
    password = a.opt_octets(1)
    bssid_raw = a.opt_octets(2)
    bssid = mac_param(bssid_raw, 2) if bssid_raw else None
    cfg = StaConfig(
        ssid=old.ssid if ssid is None else ssid,
        password=old.password if password is None else password,
        bssid=bssid,
        authmode=a.integer(3),
        listen_interval=a.integer(5),
        scan_mode=a.integer(6),
        jap_timeout=a.integer(7),
        pmf=a.integer(8),
    )
    ensure(bool(cfg.ssid), para_invalid(0, "no SSID configured"))
    wifi.sta.config = cfg
    wifi.sta.reconn_interval = a.integer(4)
    wifi.persist_station()
    return _join(m)


def _cwjap_execute(m: Module, a: Args) -> Awaitable[Reply]:
    wifi = need_sta(m)
    ensure(bool(wifi.sta.config.ssid), exec_fail(reason="no SSID configured"))
    return _join(m)


async def _join(m: Module) -> Reply:
    failure = await m.wifi.sta.join()
    if failure is not None:
        raise exec_fail(int(failure), lines=(f"+CWJAP:{int(failure)}",))
    return None


# ------------------------------------------------------------- CWRECONNCFG / CWQAP
def _reconncfg_query(m: Module, a: Args) -> Lines:
    sta = m.wifi.sta
    return [f"+CWRECONNCFG:{sta.reconn_interval},{sta.reconn_repeat}"]


def _reconncfg_set(m: Module, a: Args) -> None:
    wifi = wifi_on(m)
    sta = wifi.sta
    sta.reconn_interval, sta.reconn_repeat = a.integer(0), a.integer(1)
    wifi.persist(wifi.reconn_entry())
    idle = sta.state not in (StaState.CONNECTED, StaState.GOT_IP) and not sta.connecting
    if a.integer(2) == 1 and wifi.has_sta and sta.config.ssid and idle:
        sta.start(retry=True)


async def _cwqap_execute(m: Module, a: Args) -> Reply:
    need_sta(m).disconnect()
    return None


# --------------------------------------------------------------- CWLAPOPT / CWLAP
def _lapopt_set(m: Module, a: Args) -> None:
    m.wifi.lap = LapOptions(a.integer(1), a.integer(2), a.integer(3))


def _lap_line(ap: ScanResult, mask: int) -> bytes:
    fields: list[bytes] = [
        str(int(ap.auth)).encode(),
        quoted(c_string(ap.ssid)),
        str(ap.rssi).encode(),
        quoted(ap.bssid),
        str(ap.channel).encode(),
        b"-1",  # frequency offset: the firmware reports none
        b"-1",  # frequency calibration: likewise
        str(ap.pairwise_cipher).encode(),
        str(ap.group_cipher).encode(),
        str(ap.bgn).encode(),
        str(ap.wps).encode(),
    ]
    shown = [field for bit, field in enumerate(fields) if mask >> bit & 1]
    return b"+CWLAP:(" + b",".join(shown) + b")"


async def _list_aps(
    m: Module, ssid: bytes | None, bssid: str | None, channel: int, bitmap: int
) -> Reply:
    found = await m.wifi.scan(ssid, bssid, channel)
    opts = m.wifi.lap
    if not channel and bitmap:
        found = [ap for ap in found if bitmap >> ap.channel & 1]
    shown = [ap for ap in found if ap.rssi >= opts.rssi_filter and opts.auth_mask >> ap.auth & 1]
    return [_lap_line(ap, opts.print_mask) for ap in shown]


def _cwlap_set(m: Module, a: Args) -> Awaitable[Reply]:
    need_sta(m)
    bssid_raw = a.opt_octets(1)
    bssid = mac_param(bssid_raw, 1) if bssid_raw else None
    ssid = a.opt_octets(0) or None
    return _list_aps(m, ssid, bssid, a.integer(2), a.integer(6))


def _cwlap_execute(m: Module, a: Args) -> Awaitable[Reply]:
    need_sta(m)
    return _list_aps(m, None, None, 0, 0)


# ------------------------------------------------------------ CWAUTOCONN and others
def _autoconn_query(m: Module, a: Args) -> Lines:
    return [f"+CWAUTOCONN:{int(m.wifi.autoconn)}"]


def _autoconn_set(m: Module, a: Args) -> None:
    m.wifi.autoconn = a.integer(0) == 1
    m.persist(AUTOCONN.entry(m.wifi.autoconn), always=True)


def _hostname_query(m: Module, a: Args) -> Lines:
    return [b"+CWHOSTNAME:" + wifi_on(m).hostname]


def _hostname_set(m: Module, a: Args) -> None:
    need_sta(m).hostname = a.octets(0)


def _country_query(m: Module, a: Args) -> Lines:
    c = wifi_on(m).country
    return [f'+CWCOUNTRY:{c.policy},"{c.code}",{c.start_channel},{c.channel_count}']


def _country_set(m: Module, a: Args) -> None:
    wifi = wifi_on(m)
    start, count = a.integer(2), a.integer(3)
    ensure(start + count - 1 <= 14, para_invalid(3, "channels beyond 14"))
    code = a.octets(1)
    ensure(code.isascii(), para_invalid(1, "country code must be ASCII"))
    wifi.country = Country(a.integer(0), code.decode("ascii"), start, count)


_JAP_PARAMS = (
    StrParam("ssid", 32, min_len=1, optional=True),
    StrParam("pwd", 64, optional=True, secret=True),
    StrParam("bssid", 17, optional=True),
    IntParam("authmode", 0, 16, optional=True, default=0),
    IntParam("reconn_interval", 0, 7200, optional=True, default=1),
    IntParam("listen_interval", 1, 100, optional=True, default=3),
    IntParam("scan_mode", 0, 1, optional=True, default=0),
    IntParam("jap_timeout", 3, 600, optional=True, default=15),
    IntParam("pmf", 0, 3, optional=True, default=1),
)
_LAP_PARAMS = (
    StrParam("ssid", 32, optional=True),
    StrParam("mac", 17, optional=True),
    IntParam("channel", 0, 14, optional=True, default=0),
    IntParam("scan_type", 0, 1, optional=True, default=0),
    IntParam("scan_time_min", 0, 1500, optional=True, default=0),
    IntParam("scan_time_max", 0, 1500, optional=True, default=0),
    IntParam("2ghz_channel_bitmap", 0, 0xFFFF, optional=True, default=0),
)

_STATION_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWINIT",
        query=_cwinit_query,
        set=_cwinit_set,
        params=(IntParam("init", 0, 1),),
    ),
    Command(
        "AT+CWMODE",
        query=_cwmode_query,
        set=_cwmode_set,
        params=(IntParam("mode", 0, 3), IntParam("auto_connect", 0, 1, optional=True, default=1)),
    ),
    *wifi_phy.BANDWIDTH_COMMANDS,
    Command("AT+CWSTATE", query=_cwstate_query),
    *wifi_phy.CONFIG_COMMANDS,
    Command(
        "AT+CWJAP",
        query=_cwjap_query,
        set=_cwjap_set,
        execute=_cwjap_execute,
        params=_JAP_PARAMS,
        min_params=2,
    ),
    Command(
        "AT+CWRECONNCFG",
        query=_reconncfg_query,
        set=_reconncfg_set,
        params=(
            IntParam("interval_second", 0, 7200),
            IntParam("repeat_count", 0, 1000),
            IntParam("reconnect_now", 0, 1, optional=True, default=0),
        ),
    ),
    Command(
        "AT+CWLAPOPT",
        set=_lapopt_set,
        params=(
            IntParam("reserved", 0, 1, optional=True, default=0),
            IntParam("print_mask", 0, 0x7FF),
            IntParam("rssi_filter", -100, 40, optional=True, default=-100),
            IntParam("authmode_mask", 0, 0xFFFF, optional=True, default=0xFFFF),
        ),
        min_params=2,
    ),
    Command("AT+CWLAP", set=_cwlap_set, execute=_cwlap_execute, params=_LAP_PARAMS),
    Command("AT+CWQAP", execute=_cwqap_execute),
]

_LATE_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWAUTOCONN",
        query=_autoconn_query,
        set=_autoconn_set,
        params=(IntParam("enable", 0, 1),),
    ),
]

_NAME_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+CWHOSTNAME",
        query=_hostname_query,
        set=_hostname_set,
        params=(StrParam("hostname", 32, min_len=1),),
    ),
    Command(
        "AT+CWCOUNTRY",
        query=_country_query,
        set=_country_set,
        params=(
            IntParam("country_policy", 0, 1),
            StrParam("country_code", 3, min_len=1),
            IntParam("start_channel", 1, 14),
            IntParam("total_channel_count", 1, 14),
        ),
    ),
]

COMMANDS: list[Command[Module]] = [
    *_STATION_COMMANDS,
    *wifi_ap.COMMANDS,
    *_LATE_COMMANDS,
    *wifi_phy.PROTO_COMMANDS,
    *wifi_ip.MAC_IP_COMMANDS,
    *wifi_smart.COMMANDS,
    *_NAME_COMMANDS,
    *wifi_ip.CIFSR_COMMANDS,
]
"""Every Wi-Fi command, in the order of the manual's command list."""
