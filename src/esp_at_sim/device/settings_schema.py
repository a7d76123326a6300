"""Every setting the module keeps in flash, each with the one codec that writes and reads it.

A :class:`Setting` names its NVS key, what a good stored value looks like, its default and
its codec: ``encode`` turns the module's value into what the store keeps (``int``, text or
a blob) and ``decode`` turns it back, checking it on the way (:class:`BadSetting` for
anything that a command of the module could not have stored). Everything that reads or
writes a setting goes through this table:

- writing: ``module.persist(OPMODE.entry(3), ...)``; :meth:`Setting.entry` refuses a
  value its own decoder would refuse, so nothing unreadable is ever written;
- reading at boot: :meth:`Setting.read`, which never raises: a corrupt stored value (a
  damaged flash file, one written by hand or by a different build) falls back to the
  setting's default, and :func:`check` lists each one so that the module reports it
  (event ``flash.bad_setting``) and ``esp-at-sim flash info`` shows it.

A default of ``None`` means "the module's own default", which depends on the module (its
MAC addresses, the SoftAP SSID made from them).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..core.settings import I8, NAMESPACE_SEP, U8, U16, SettingValue, split_key
from ..flash.nvs_store import DEFAULT_NAMESPACE, UART_NAMESPACE, WIFI_NAMESPACE
from ..radio.addresses import MAX_LEASE_MINUTES, DhcpPool, parse_ipv4, parse_mac
from ..radio.base import IpInfo
from .phy import (
    AP_INACTIVE_DEFAULT,
    BW_20,
    BW_40,
    PROTO_B,
    PROTO_BGN,
    PROTO_G,
    PROTO_LR,
    STA_INACTIVE_DEFAULT,
    VALID_PROTOCOLS,
)

T = TypeVar("T")
Entry = tuple[str, SettingValue | None]
Numbers = tuple[int, ...]

_NUMBER = re.compile(r"-?[0-9]{1,10}")
_I32 = (-(2**31), 2**31 - 1)


class BadSetting(ValueError):
    """A stored value that its setting's codec refuses."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One stored setting: its key, the form of a good value, its default and codec."""

    key: str
    form: str  # what a good stored value looks like, for reports
    default: T
    encode: Callable[[T], SettingValue]
    decode: Callable[[SettingValue], T]  # raises BadSetting

    def entry(self, value: T) -> Entry:
        """``(key, stored value)`` for :meth:`Module.persist`; a value this setting could
        not read back is refused here (a bug of the caller) rather than stored."""
        raw = self.encode(value)
        self.decode(raw)
        return self.key, raw

    def cleared(self) -> Entry:
        """``(key, None)``: forget the stored value (the default applies again)."""
        return self.key, None

    def read(self, saved: Mapping[str, SettingValue]) -> T:
        """The stored value, or the default when there is none or it is corrupt."""
        value = self.stored(saved)
        return self.default if value is None else value

    def stored(self, saved: Mapping[str, SettingValue]) -> T | None:
        """The stored value; ``None`` when there is none or it is corrupt."""
        raw = saved.get(self.key)
        if raw is None:
            return None
        try:
            return self.decode(raw)
        except BadSetting:
            return None


@dataclass(frozen=True)
class BadValue:
    """A corrupt stored value found at boot or by ``flash info``."""

    key: str
    stored: str  # the value as stored (repr), or a mask for a secret
    problem: str

    @property
    def name(self) -> str:
        """``namespace.key`` as NVS tools show it."""
        namespace, key = split_key(self.key)
        return f"{namespace or DEFAULT_NAMESPACE}.{key}"

    def __str__(self) -> str:
        return f"{self.name} = {self.stored}: {self.problem}"


# -- codec building blocks --------------------------------------------------------------------
def _need(ok: bool, problem: str) -> None:
    if not ok:
        raise BadSetting(problem)


def _int_of(raw: SettingValue) -> int:
    _need(isinstance(raw, int) and not isinstance(raw, bool), "not an integer")
    assert isinstance(raw, int)
    return raw


def _text_of(raw: SettingValue) -> str:
    _need(isinstance(raw, str), "not text")
    assert isinstance(raw, str)
    return raw


def _blob_of(raw: SettingValue) -> bytes:
    _need(isinstance(raw, bytes), "not a blob")
    assert isinstance(raw, bytes)
    return raw


def _numbers(text: str, ranges: Sequence[tuple[int, int]]) -> Numbers:
    parts = text.split(",")
    _need(len(parts) == len(ranges), f"{len(parts)} numbers where {len(ranges)} belong")
    _need(all(_NUMBER.fullmatch(p) for p in parts), "not a list of integers")
    values = tuple(int(p) for p in parts)
    for index, (value, (lo, hi)) in enumerate(zip(values, ranges, strict=True)):
        _need(lo <= value <= hi, f"number {index + 1} is {value}, outside {lo}..{hi}")
    return values


def integer(key: str, lo: int, hi: int, default: int) -> Setting[int]:
    """An integer in ``lo..hi`` (stored as I32)."""

    def decode(raw: SettingValue) -> int:
        value = _int_of(raw)
        _need(lo <= value <= hi, f"{value} is outside {lo}..{hi}")
        return value

    return Setting(key, f"an integer {lo}..{hi}", default, lambda v: v, decode)


def flag(key: str, default: bool) -> Setting[bool]:
    """On or off, stored as 1 or 0."""

    def decode(raw: SettingValue) -> bool:
        value = _int_of(raw)
        _need(value in (0, 1), f"{value} is neither 0 nor 1")
        return value == 1

    return Setting(key, "0 or 1", default, int, decode)


def blob(key: str, max_len: int) -> Setting[bytes | None]:
    """Raw bytes (an SSID, a password), at most ``max_len``."""

    def encode(value: bytes | None) -> SettingValue:
        assert value is not None, f"{key}: clear the setting instead of storing None"
        return value

    def decode(raw: SettingValue) -> bytes | None:
        value = _blob_of(raw)
        _need(len(value) <= max_len, f"{len(value)} bytes, more than {max_len}")
        return value

    return Setting(key, f"a blob of at most {max_len} bytes", None, encode, decode)


def record(key: str, ranges: Sequence[tuple[int, int]], default: Numbers) -> Setting[Numbers]:
    """A fixed number of integers, each in its range: ``"a,b,c"``."""

    def encode(value: Numbers) -> SettingValue:
        return ",".join(str(v) for v in value)

    def decode(raw: SettingValue) -> Numbers:
        return _numbers(_text_of(raw), ranges)

    return Setting(key, f"{len(ranges)} integers joined by ','", default, encode, decode)


def records(
    key: str, ranges: Sequence[tuple[int, int]], count: int
) -> Setting[tuple[Numbers, ...] | None]:
    """One record per link (at most ``count``): ``"a,b;a,b;..."``; missing records keep
    their default."""

    def encode(value: tuple[Numbers, ...] | None) -> SettingValue:
        assert value is not None
        return ";".join(",".join(str(v) for v in item) for item in value)

    def decode(raw: SettingValue) -> tuple[Numbers, ...] | None:
        items = _text_of(raw).split(";")
        _need(len(items) <= count, f"{len(items)} records, more than {count}")
        return tuple(_numbers(item, ranges) for item in items)

    form = f"up to {count} records of {len(ranges)} integers joined by ';'"
    return Setting(key, form, None, encode, decode)


def mac(key: str) -> Setting[str | None]:
    """A MAC address in its long form."""

    def decode(raw: SettingValue) -> str | None:
        _need(raw != "", "not a MAC address")
        return _decode_bssid(raw)

    return Setting(key, "a MAC address aa:bb:cc:dd:ee:ff", None, _encode_bssid, decode)


def _address(key: str) -> Setting[IpInfo | None]:
    def encode(value: IpInfo | None) -> SettingValue:
        assert value is not None
        return f"{value.ip},{value.gateway},{value.netmask}"

    def decode(raw: SettingValue) -> IpInfo | None:
        parts = [parse_ipv4(p.encode()) for p in _text_of(raw).split(",")]
        _need(len(parts) == 3 and None not in parts, "not three IPv4 addresses")
        ip, gateway, netmask = (str(p) for p in parts)
        return IpInfo(ip, gateway, netmask)

    return Setting(key, "ip,gateway,netmask", None, encode, decode)


def _encode_pool(pool: DhcpPool | None) -> SettingValue:
    assert pool is not None
    return f"{pool.lease_minutes},{pool.start},{pool.end}"


def _decode_pool(raw: SettingValue) -> DhcpPool | None:
    lease, _, rest = _text_of(raw).partition(",")
    start, _, end = rest.partition(",")
    first, last = parse_ipv4(start.encode()), parse_ipv4(end.encode())
    _need(lease.isdigit() and first is not None and last is not None, "not lease,start,end")
    _need(1 <= int(lease) <= MAX_LEASE_MINUTES, f"lease outside 1..{MAX_LEASE_MINUTES}")
    assert first is not None and last is not None
    return DhcpPool(first, last, int(lease))


def _encode_bssid(value: str | None) -> SettingValue:
    return value or ""


def _decode_bssid(raw: SettingValue) -> str | None:
    if raw == "":
        return None
    value = parse_mac(_text_of(raw))
    _need(value is not None, "not a MAC address")
    return value


def _encode_dns(servers: tuple[str, ...]) -> SettingValue:
    return f"1;{','.join(servers)}" if servers else "0;"


def _decode_dns(raw: SettingValue) -> tuple[str, ...]:
    text = _text_of(raw)
    if text == "0;":
        return ()
    _need(text.startswith("1;"), "neither '0;' nor '1;' and servers")
    servers = tuple(text[2:].split(","))
    _need(1 <= len(servers) <= 3, "not 1 to 3 servers")
    _need(all(parse_ipv4(s.encode()) == s for s in servers), "a server is not an IPv4 address")
    return servers


def utc_offset(zone: int) -> int | None:
    """Seconds east of UTC for AT+CIPSNTPCFG's ``<timezone>`` (whole hours in -12..14, or
    ``[+|-]hhmm`` with hh in -12..14 and mm in 0..59); ``None`` when it is neither."""
    if -12 <= zone <= 14:
        return zone * 3600
    hours, minutes = divmod(abs(zone), 100)
    sign = -1 if zone < 0 else 1
    if minutes > 59 or not -12 <= sign * hours <= 14:
        return None
    return sign * (hours * 3600 + minutes * 60)


SntpSetting = tuple[bool, int, tuple[str, ...]]  # enabled, <timezone> as given, servers


def _encode_sntp(value: SntpSetting) -> SettingValue:
    enabled, zone, servers = value
    return f"{int(enabled)};{zone};{','.join(servers)}"


def _decode_sntp(raw: SettingValue) -> SntpSetting:
    parts = _text_of(raw).split(";")
    _need(len(parts) == 3, "not 'enable;zone;servers'")
    enabled, zone, names = parts
    _need(enabled in ("0", "1"), "enable is neither 0 nor 1")
    _need(bool(_NUMBER.fullmatch(zone)) and utc_offset(int(zone)) is not None, "not a time zone")
    servers = tuple(names.split(",")) if names else ()
    _need(len(servers) <= 3 and all(servers), "not 0 to 3 server names")
    return enabled == "1", int(zone), servers


def _decode_protocols(raw: SettingValue) -> Numbers:
    values = _numbers(_text_of(raw), ((1, 15), (1, 15)))
    _need(all(v in VALID_PROTOCOLS for v in values), "not a protocol set ESP-IDF takes")
    return values


# AT+SAVETRANSLINK: <mode>,<type>,<port>,<keep-alive, local port or CA flag>,<netif>,<host>
_SAVED_LINK = re.compile(r"([13]),(TCP|UDP|SSL),([0-9]{1,5}),([0-9]{1,5}),([0-3]),(.{0,64})", re.S)


def _decode_saved_link(raw: SettingValue) -> str | None:
    text = _text_of(raw)
    match = _SAVED_LINK.fullmatch(text)
    _need(match is not None, "not mode,type,port,extra,netif,host")
    assert match is not None
    _need(1 <= int(match.group(3)) <= 65535, "port out of range")
    _need(match.group(1) == "3" or bool(match.group(6)), "no host")
    return text


# -- the Wi-Fi driver's own encodings (nvs.net80211) ------------------------------------------
def u8(key: str, lo: int, hi: int, default: int) -> Setting[int]:
    """An integer in ``lo..hi`` stored as NVS U8."""
    plain = integer(key, lo, hi, default)
    return Setting(key, f"a u8 {lo}..{hi}", default, U8, plain.decode)


def u8_flag(key: str, default: bool) -> Setting[bool]:
    """On or off as NVS U8 1 or 0."""
    plain = flag(key, default)
    return Setting(key, "a u8 0 or 1", default, lambda v: U8(int(v)), plain.decode)


def sized_text(key: str, size: int) -> Setting[bytes | None]:
    """Bytes as the driver keeps an SSID: u32 length, then ``size`` bytes, zero-filled
    (``esp-idf-nvs-partition-gen``'s ``blob_sz_fill``)."""

    def encode(value: bytes | None) -> SettingValue:
        assert value is not None
        return struct.pack("<I", len(value)) + value.ljust(size, b"\0")

    def decode(raw: SettingValue) -> bytes | None:
        data = _blob_of(raw)
        _need(len(data) == 4 + size, f"{len(data)} bytes where {4 + size} belong")
        (length,) = struct.unpack_from("<I", data)
        _need(length <= size, f"length {length}, more than {size}")
        return data[4 : 4 + length]

    return Setting(key, f"a blob: u32 length and {size} bytes", None, encode, decode)


def filled_text(key: str, size: int) -> Setting[bytes | None]:
    """Bytes as the driver keeps a password: ``size`` bytes, zero-filled (``blob_fill``);
    the value ends at the first zero, so a password with a zero byte in it comes back cut
    there, as the firmware reads it."""

    def encode(value: bytes | None) -> SettingValue:
        assert value is not None
        return value.ljust(size, b"\0")

    def decode(raw: SettingValue) -> bytes | None:
        data = _blob_of(raw)
        _need(len(data) == size, f"{len(data)} bytes where {size} belong")
        return data.split(b"\0", 1)[0]

    return Setting(key, f"a blob of {size} bytes", None, encode, decode)


def fixed(key: str, size: int) -> Setting[bytes | None]:
    """A blob of exactly ``size`` bytes."""

    def encode(value: bytes | None) -> SettingValue:
        assert value is not None
        return value

    def decode(raw: SettingValue) -> bytes | None:
        data = _blob_of(raw)
        _need(len(data) == size, f"{len(data)} bytes where {size} belong")
        return data

    return Setting(key, f"a blob of {size} bytes", None, encode, decode)


def pmk(ssid: bytes, password: bytes) -> bytes:
    """The WPA pairwise master key: a 64-digit hex password is the key itself, a
    passphrase is stretched with PBKDF2-HMAC-SHA1 (4096 rounds, the SSID as salt)."""
    if len(password) == 64:
        return bytes.fromhex(password.decode("ascii"))
    return hashlib.pbkdf2_hmac("sha1", password, ssid, 4096, 32)


def _encode_raw_mac(value: str | None) -> SettingValue:
    return bytes(int(part, 16) for part in value.split(":")) if value else bytes(6)


def _decode_raw_mac(raw: SettingValue) -> str | None:
    data = _blob_of(raw)
    _need(len(data) == 6, f"{len(data)} bytes where 6 belong")
    return ":".join(f"{b:02x}" for b in data)


def _decode_listen(raw: SettingValue) -> int:
    value = _int_of(raw)
    _need(0 <= value <= 100, f"{value} is outside 0..100")
    return value or 3  # 0: the driver's default


def coded_i8(key: str, coding: Mapping[int, int], default: int) -> Setting[int]:
    """An AT number stored as NVS I8 in another numbering (``coding``: AT number to
    stored value)."""
    decoding = {stored: number for number, stored in coding.items()}

    def decode(raw: SettingValue) -> int:
        value = _int_of(raw)
        _need(value in decoding, f"{value} is not one of {sorted(decoding)}")
        return decoding[value]

    def encode(number: int) -> SettingValue:
        return I8(coding.get(number, -128))

    return Setting(key, f"an i8, one of {sorted(decoding)}", default, encode, decode)


# A phy mode as the driver stores it (sta.phym, ap.phym) and the protocol set it stands for:
# 3 is the driver's own default (it writes 3 while its default set is b/g/n); 1 and 2 follow
# Espressif's numbering of the phy modes (802.11b 1, 802.11g 2, 802.11n 3).
_PHY_MODES = {1: PROTO_B, 2: PROTO_B | PROTO_G, 3: PROTO_BGN}
_PHY_MODE_OF = {protocols: mode for mode, protocols in _PHY_MODES.items()}


def phy_mode(key: str) -> Setting[int]:
    """An interface's 802.11 protocol set without LR (1, 3 or 7), as a u8 phy mode."""

    def decode(raw: SettingValue) -> int:
        value = _int_of(raw)
        _need(value in _PHY_MODES, f"{value} is not a phy mode (1, 2 or 3)")
        return _PHY_MODES[value]

    def encode(protocols: int) -> SettingValue:
        return U8(_PHY_MODE_OF.get(protocols, 0))

    form = "a u8 phy mode: 1 (802.11b), 2 (b/g) or 3 (b/g/n)"
    return Setting(key, form, PROTO_BGN, encode, decode)


def _decode_lr_protocols(raw: SettingValue) -> Numbers:
    values = _numbers(_text_of(raw), ((0, 15), (0, 15)))
    with_lr = all(v == 0 or (v in VALID_PROTOCOLS and v & PROTO_LR) for v in values)
    _need(with_lr, "not 0 or a protocol set with LR")
    return values


# -- the settings -----------------------------------------------------------------------------
# Where ESP-IDF's Wi-Fi driver keeps its configuration, with its keys and types.
WIFI = f"{WIFI_NAMESPACE}{NAMESPACE_SEP}"
OPMODE = u8(WIFI + "opmode", 0, 3, 1)  # AT+CWMODE
STA_SSID = sized_text(WIFI + "sta.ssid", 32)
STA_PSWD = filled_text(WIFI + "sta.pswd", 64)
BSSID_SET = u8_flag(WIFI + "bssid.set", False)
STA_BSSID = Setting(WIFI + "sta.bssid", "a blob of 6 bytes", None, _encode_raw_mac, _decode_raw_mac)
STA_LISTEN = Setting(WIFI + "sta.lis_intval", "a u16 0..100", 3, U16, _decode_listen)
STA_MINAUTH = u8(WIFI + "sta.minauth", 0, 16, 0)  # AT+CWJAP <pci_en>: the weakest auth mode
STA_PMF_R = u8_flag(WIFI + "sta.pmf_r", False)  # AT+CWJAP <pmf> bit 1: PMF required
STA_PMF_E = u8_flag(WIFI + "sta.pmf_e", True)  # AT+CWJAP <pmf> bit 0: PMF capable
STA_SCAN = u8(WIFI + "sta.scan_method", 0, 1, 0)  # AT+CWJAP <scan_mode>: 0 fast, 1 all channels
# Written with the station configuration, as the driver keeps them: no AP details cached
# yet (all 0xFF), no PMK computed yet (zeros), and a 2-byte word of zeros.
STA_APINFO = fixed(WIFI + "sta.apinfo", 140)
STA_PMK = fixed(WIFI + "sta.pmk", 32)
STA_APSW = fixed(WIFI + "sta.apsw", 2)
AP_SSID = sized_text(WIFI + "ap.ssid", 32)
AP_PASSWD = filled_text(WIFI + "ap.passwd", 64)
AP_CHAN = u8(WIFI + "ap.chan", 1, 14, 1)
AP_AUTHMODE = u8(WIFI + "ap.authmode", 0, 4, 0)  # wifi_auth_mode_t, the same as <ecn>
AP_HIDDEN = u8_flag(WIFI + "ap.hidden", False)
AP_MAX_CONN = u8(WIFI + "ap.max.conn", 1, 10, 4)
AP_PMK_INFO = fixed(WIFI + "ap.pmk_info", 132)  # 100 zero bytes, then the SoftAP's PMK
# What ESP-AT adds (its own keys could not be established: kept in our namespace).
SYSMSG = integer("sysmsg", 0, 7, 0)
# ESP-AT's UART configuration (AT+UART_DEF) as its at_uart_api.c keeps it: the rate as I32,
# the rest as I8 in ESP-IDF's numbering (data bits 0..3 for 5..8, stop bits 1..3, parity
# 0 none / 3 odd / 2 even, flow control 0..3).
UART = f"{UART_NAMESPACE}{NAMESPACE_SEP}"
UART_RATE = integer(UART + "rate", 80, 5_000_000, 115200)
UART_DATABITS = coded_i8(UART + "databits", {bits: bits - 5 for bits in range(5, 9)}, 8)
UART_STOPBITS = coded_i8(UART + "stopbits", {n: n for n in (1, 2, 3)}, 1)
UART_PARITY = coded_i8(UART + "parity", {0: 0, 1: 3, 2: 2}, 0)
UART_FLOW = coded_i8(UART + "flow_ctrl", {n: n for n in range(4)}, 0)
UART_FIELDS = (UART_RATE, UART_DATABITS, UART_STOPBITS, UART_PARITY, UART_FLOW)
RECONN_INTV = integer("reconnintv", 1, 36000, 1)
SNTP_OFF: SntpSetting = (False, 8, ())  # ESP-AT's default: off, UTC+8, default servers
SNTP_CFG = Setting("sntpcfg", "'E;ZONE;server,...'", SNTP_OFF, _encode_sntp, _decode_sntp)
NO_SERVERS: tuple[str, ...] = ()  # AT+CIPDNS=0: the automatic servers
CIPDNS = Setting("cipdns", "'0;' or '1;' and 1..3 servers", NO_SERVERS, _encode_dns, _decode_dns)
TCP_OPT = records("tcpopt", ((-1, _I32[1]), (0, 1), (0, _I32[1]), (0, 7200)), 5)
SSL_CCONF = records("sslcconf", ((0, 3), (0, _I32[1]), (0, _I32[1])), 5)
SAVE_TRANS: Setting[str | None] = Setting(
    "savetranslink", "mode,type,port,extra,netif,host", None, str, _decode_saved_link
)
AUTOCONN = flag("autoconn", True)
JAP_TIMEOUT = integer("jap_timeout", 3, 600, 15)  # AT+CWJAP's <jap_timeout>
RECONN_CFG = record("reconncfg", ((0, 7200), (0, 1000)), (0, 0))  # AT+CWRECONNCFG
DHCP = integer("dhcp", 0, 3, 3)  # bit 0 station DHCP client, bit 1 SoftAP DHCP server
STA_IP = _address("sta_ip")
AP_IP = _address("ap_ip")
DHCPS = Setting("dhcps", "lease,start,end", None, _encode_pool, _decode_pool)
STA_MAC = mac("sta_mac")
AP_MAC = mac("ap_mac")
# The radio settings: the driver keeps each interface's bandwidth (wifi_bandwidth_t: 1 20 MHz,
# 2 40 MHz; AT+CWBANDWIDTH) and its 802.11 mode (AT+CWSTAPROTO, AT+CWAPPROTO) as a phy
# mode; what a phy mode cannot say (Espressif's long-range mode) is kept in ours.
STA_PHYBW = u8(WIFI + "sta.phybw", BW_20, BW_40, BW_40)
AP_PHYBW = u8(WIFI + "ap.phybw", BW_20, BW_40, BW_40)
STA_PHYM = phy_mode(WIFI + "sta.phym")
AP_PHYM = phy_mode(WIFI + "ap.phym")
CW_PROTO_LR: Setting[Numbers] = Setting(
    "cwproto_lr",
    "2 numbers (station, SoftAP), each 0 or a protocol set with LR (8, 9, 11, 15)",
    (0, 0),
    lambda v: ",".join(str(x) for x in v),
    _decode_lr_protocols,
)
# SoftAP and station inactive times (AT+CWCONFIG)
CW_CONFIG = record("cwconfig", ((10, 3600), (3, 600)), (AP_INACTIVE_DEFAULT, STA_INACTIVE_DEFAULT))

SCHEMA: dict[str, Setting[Any]] = {
    s.key: s
    for s in (
        OPMODE, STA_SSID, STA_PSWD, BSSID_SET, STA_BSSID, STA_LISTEN, STA_MINAUTH, STA_PMF_R,
        STA_APINFO, STA_PMK, STA_APSW, AP_SSID, AP_PASSWD, AP_CHAN, AP_AUTHMODE, AP_HIDDEN,
        AP_MAX_CONN, AP_PMK_INFO, SYSMSG, *UART_FIELDS, RECONN_INTV, SNTP_CFG, CIPDNS, TCP_OPT,
        SSL_CCONF, SAVE_TRANS, AUTOCONN, JAP_TIMEOUT, RECONN_CFG, DHCP, STA_IP, AP_IP, DHCPS,
        STA_MAC, AP_MAC, STA_PMF_E, STA_SCAN, STA_PHYBW, AP_PHYBW, STA_PHYM, AP_PHYM,
        CW_PROTO_LR, CW_CONFIG,
    )
}  # fmt: skip

# Our earlier form, kept only to read old flash files: the first save rewrites it as above.
_OLD_MODE = integer("cwmode", 0, 3, 1)
_OLD_STA_SSID = blob("sta_ssid", 32)
_OLD_STA_PWD = blob("sta_pwd", 64)
_OLD_STA_BSSID = Setting("sta_bssid", "'' or a MAC address", None, _encode_bssid, _decode_bssid)
_OLD_STA_CFG = record("sta_cfg", ((0, 16), (1, 100), (0, 1), (3, 600), (0, 3)), (0, 3, 0, 15, 1))
_OLD_SAP_SSID = blob("sap_ssid", 32)
_OLD_SAP_PWD = blob("sap_pwd", 64)
_OLD_SAP_CFG = record("sap_cfg", ((1, 14), (0, 4), (1, 10), (0, 1)), (1, 0, 4, 0))
_OLD_STA_OPTS = record("sta_opts", ((0, 1), (3, 600), (0, 1)), (0, 15, 1))
_OLD_UART_DEF = record(
    "uart_def", ((80, 5_000_000), (5, 8), (1, 3), (0, 2), (0, 3)), (115200, 8, 1, 0, 0)
)
_OLD_CW_BANDWIDTH = record("cwbandwidth", ((BW_20, BW_40), (BW_20, BW_40)), (BW_40, BW_40))
_OLD_CW_PROTO: Setting[Numbers] = Setting(
    "cwproto",
    "2 protocol sets (1, 3, 7, 8, 9, 11 or 15) joined by ','",
    (PROTO_BGN, PROTO_BGN),
    lambda v: ",".join(str(x) for x in v),
    _decode_protocols,
)
OLD_SCHEMA: dict[str, Setting[Any]] = {
    s.key: s
    for s in (
        _OLD_MODE, _OLD_STA_SSID, _OLD_STA_PWD, _OLD_STA_BSSID, _OLD_STA_CFG, _OLD_SAP_SSID,
        _OLD_SAP_PWD, _OLD_SAP_CFG, _OLD_CW_BANDWIDTH, _OLD_CW_PROTO, _OLD_UART_DEF,
        _OLD_STA_OPTS,
    )
}  # fmt: skip

# Stored settings that hold a secret (never shown unless asked), as keys and as the NVS
# keys ``flash info`` lists.
SECRET_KEYS = frozenset(
    {
        *(s.key for s in (STA_PSWD, STA_PMK, AP_PASSWD, AP_PMK_INFO, _OLD_STA_PWD, _OLD_SAP_PWD)),
        *("sta.pswd", "sta.pmk", "ap.passwd", "ap.pmk_info"),  # a PMK is as good as the password
    }
)
SECRET_SHOWN = "***"


def station_entries(
    ssid: bytes, password: bytes, bssid: str | None, numbers: Numbers
) -> list[Entry]:
    """The station configuration as the driver stores it, and ESP-AT's part in ours;
    ``numbers`` are AT+CWJAP's authmode, listen interval, scan mode, timeout and PMF."""
    return [
        STA_SSID.entry(ssid),
        STA_APINFO.entry(b"\xff" * 140),
        STA_PMK.entry(bytes(32)),
        STA_APSW.entry(bytes(2)),
        STA_PSWD.entry(password),
        BSSID_SET.entry(bssid is not None),
        STA_BSSID.entry(bssid),
        *station_options(numbers),
    ]


def station_options(numbers: Numbers) -> list[Entry]:
    """AT+CWJAP's authmode, listen interval, scan mode, timeout and PMF as stored: the
    driver's part in nvs.net80211, ESP-AT's in ours."""
    auth, listen, scan, timeout, pmf = numbers
    return [
        STA_LISTEN.entry(listen),
        STA_MINAUTH.entry(auth),
        STA_PMF_R.entry(bool(pmf & 2)),
        STA_PMF_E.entry(bool(pmf & 1)),
        STA_SCAN.entry(scan),
        JAP_TIMEOUT.entry(timeout),
    ]


def station_numbers(saved: Mapping[str, SettingValue]) -> Numbers:
    """AT+CWJAP's authmode, listen interval, scan mode, timeout and PMF as stored."""
    pmf = int(STA_PMF_E.read(saved)) | int(STA_PMF_R.read(saved)) << 1
    scan, timeout = STA_SCAN.read(saved), JAP_TIMEOUT.read(saved)
    return STA_MINAUTH.read(saved), STA_LISTEN.read(saved), scan, timeout, pmf


def softap_entries(ssid: bytes, password: bytes, numbers: Numbers) -> list[Entry]:
    """The SoftAP configuration as the driver stores it; ``numbers`` are AT+CWSAP's
    channel, ecn, max connections and hidden."""
    channel, ecn, max_conn, hidden = numbers
    secured = ecn != 0 and bool(password)
    return [
        AP_SSID.entry(ssid),
        AP_PASSWD.entry(password),
        AP_CHAN.entry(channel),
        AP_AUTHMODE.entry(ecn),
        AP_HIDDEN.entry(bool(hidden)),
        AP_MAX_CONN.entry(max_conn),
        AP_PMK_INFO.entry(bytes(100) + pmk(ssid, password)) if secured else AP_PMK_INFO.cleared(),
    ]


Pair = tuple[int, int]  # station, SoftAP


def phy_entries(bandwidth: Pair, protocols: Pair) -> list[Entry]:
    """Each interface's bandwidth and protocol set as stored: the driver's phy bandwidth
    and phy mode in nvs.net80211, and in ours the sets with LR (none: no entry); an
    LR-only interface has no phy mode."""
    lr = (
        protocols[0] if protocols[0] & PROTO_LR else 0,
        protocols[1] if protocols[1] & PROTO_LR else 0,
    )
    out = [STA_PHYBW.entry(bandwidth[0]), AP_PHYBW.entry(bandwidth[1])]
    for setting, protocol in ((STA_PHYM, protocols[0]), (AP_PHYM, protocols[1])):
        base = protocol & PROTO_BGN
        out.append(setting.entry(base) if base else setting.cleared())
    out.append(CW_PROTO_LR.entry(lr) if any(lr) else CW_PROTO_LR.cleared())
    return out


def phy_settings(saved: Mapping[str, SettingValue]) -> tuple[Pair, Pair]:
    """Each interface's bandwidth and protocol set as stored. A stored set with LR counts
    while the driver's phy mode still matches its b/g/n part (a tool that changed the phy
    mode since wins)."""
    lr = CW_PROTO_LR.read(saved)
    found = []
    for index, setting in enumerate((STA_PHYM, AP_PHYM)):
        base = setting.stored(saved)
        if lr[index] and lr[index] & PROTO_BGN == (base or 0):
            found.append(lr[index])
        else:
            found.append(PROTO_BGN if base is None else base)
    return (STA_PHYBW.read(saved), AP_PHYBW.read(saved)), (found[0], found[1])


UartNumbers = tuple[int, int, int, int, int]


def uart_entries(numbers: UartNumbers) -> list[Entry]:
    """AT+UART_DEF's rate, data bits, stop bits, parity and flow control as stored."""
    return [setting.entry(number) for setting, number in zip(UART_FIELDS, numbers, strict=True)]


def uart_stored(saved: Mapping[str, SettingValue]) -> bool:
    """Whether a UART configuration is stored: ESP-AT takes it only when all five keys
    are there (else its defaults)."""
    return all(setting.key in saved for setting in UART_FIELDS)


def uart_numbers(saved: Mapping[str, SettingValue], default: UartNumbers) -> UartNumbers:
    """The stored UART configuration; a value out of its range keeps its default, as
    ESP-AT reads it."""
    if not uart_stored(saved):
        return default
    rate, data, stop, parity, flow = (
        value if (value := setting.stored(saved)) is not None else fallback
        for setting, fallback in zip(UART_FIELDS, default, strict=True)
    )
    return rate, data, stop, parity, flow


def _old_phy(saved: Mapping[str, SettingValue]) -> list[Entry]:
    bandwidth, protocols = _OLD_CW_BANDWIDTH.stored(saved), _OLD_CW_PROTO.stored(saved)
    if bandwidth is None and protocols is None:
        return []
    bandwidth = bandwidth or _OLD_CW_BANDWIDTH.default
    protocols = protocols or _OLD_CW_PROTO.default
    return phy_entries((bandwidth[0], bandwidth[1]), (protocols[0], protocols[1]))


def _old_station(saved: Mapping[str, SettingValue]) -> list[Entry]:
    ssid, pwd = _OLD_STA_SSID.stored(saved), _OLD_STA_PWD.stored(saved)
    numbers = _OLD_STA_CFG.stored(saved)
    out: list[Entry] = []
    if ssid is not None and pwd is not None:
        bssid = _OLD_STA_BSSID.stored(saved)
        out = station_entries(ssid, pwd, bssid, numbers or _OLD_STA_CFG.default)
    elif numbers is not None:
        out = station_options(numbers)
    return out


def _old_softap(saved: Mapping[str, SettingValue]) -> list[Entry]:
    ssid, pwd = _OLD_SAP_SSID.stored(saved), _OLD_SAP_PWD.stored(saved)
    numbers = _OLD_SAP_CFG.stored(saved)
    if ssid and pwd is not None and numbers is not None:
        return softap_entries(ssid, pwd, numbers)
    return []


def migration(saved: Mapping[str, SettingValue]) -> dict[str, SettingValue | None]:
    """What rewrites settings stored in our earlier form in today's: the old keys go, and
    what they held (when it was good) goes where the firmware keeps it. Empty for settings
    already in today's form."""
    if not any(key in saved for key in OLD_SCHEMA):
        return {}
    updates: dict[str, SettingValue | None] = dict.fromkeys(
        (key for key in OLD_SCHEMA if key in saved), None
    )
    mode = _OLD_MODE.stored(saved)
    moved = [OPMODE.entry(mode)] if mode is not None else []
    moved += _old_station(saved) + _old_softap(saved) + _old_phy(saved)
    opts = _OLD_STA_OPTS.stored(saved)
    if opts is not None:
        scan, timeout, capable = opts
        moved += [STA_SCAN.entry(scan), JAP_TIMEOUT.entry(timeout), STA_PMF_E.entry(bool(capable))]
    uart = _OLD_UART_DEF.stored(saved)
    if uart is not None:
        moved += uart_entries((uart[0], uart[1], uart[2], uart[3], uart[4]))
    updates.update((key, value) for key, value in moved if key not in saved)
    return updates


def check(saved: Mapping[str, SettingValue]) -> list[BadValue]:
    """Every stored value in ``saved`` that its setting's codec refuses (secrets masked)."""
    bad = []
    for key, raw in saved.items():
        setting = SCHEMA.get(key) or OLD_SCHEMA.get(key)
        if setting is None:
            continue
        try:
            setting.decode(raw)
        except BadSetting as exc:
            shown = SECRET_SHOWN if key in SECRET_KEYS else repr(raw)
            bad.append(BadValue(key, shown, f"{exc}; expected {setting.form}"))
    return bad
