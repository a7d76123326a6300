"""Typed answers: one frozen dataclass per query the client understands, and the parsers
that read them from the exact lines the firmware prints.

The firmware prints strings (SSIDs, passwords) raw between double quotes, without
escaping, so an SSID may itself hold ``"`` and ``,``. The parsers therefore anchor on
what cannot vary: the numeric fields counted from the right, and MAC addresses, which
never hold a quote. SSIDs stay bytes (they need not be UTF-8).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .errors import AtParseError
from .protocol import split_fields

_MAC = rb"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
# Lookaheads, so that overlapping candidates are all found (an SSID may end in a MAC).
_QUOTED_MAC_INSIDE = re.compile(rb'(?=,"(' + _MAC + rb')",)')
_QUOTED_MAC_AFTER_SSID = re.compile(rb'(?=","(' + _MAC + rb')"(?:,|$))')
_MAC_FIELD = 21  # ,"aa:bb:cc:dd:ee:ff"  or  ","aa:bb:cc:dd:ee:ff  (quotes and comma)


class WifiMode(enum.IntEnum):
    """AT+CWMODE's ``<mode>``."""

    OFF = 0
    STATION = 1
    SOFTAP = 2
    STATION_SOFTAP = 3


class StationState(enum.IntEnum):
    """AT+CWSTATE's ``<state>``."""

    IDLE = 0
    CONNECTED = 1  # associated, no IPv4 address yet
    GOT_IP = 2
    CONNECTING = 3
    DISCONNECTED = 4


def _int(field: bytes, what: str) -> int:
    try:
        return int(field.strip(), 0)
    except ValueError:
        raise AtParseError(f"{what}: not a number: {field!r}") from None


def _unquote(field: bytes) -> bytes:
    field = field.strip()
    if len(field) >= 2 and field[:1] == b'"' and field[-1:] == b'"':
        return field[1:-1]
    return field


def _text(field: bytes) -> str:
    return _unquote(field).decode("utf-8", "replace")


def one_payload(payloads: list[bytes], name: str) -> bytes:
    if not payloads:
        raise AtParseError(f"no +{name}: line in the answer")
    return payloads[0]


# ------------------------------------------------------------------------ AT+GMR
@dataclass(frozen=True)
class Version:
    """AT+GMR: the AT core version, the SDK (ESP-IDF) version, the build time, the
    firmware (bin) version and the module name."""

    at_version: str
    sdk_version: str
    compile_time: str
    bin_version: str
    module_name: str
    lines: tuple[str, ...]


def parse_version(lines: tuple[bytes, ...]) -> Version:
    text = [line.decode("utf-8", "replace") for line in lines]
    at = sdk = compiled = binary = name = ""
    for line in text:
        if line.startswith("AT version:"):
            at = line[len("AT version:") :].partition("(")[0].strip()
        elif line.startswith("SDK version:"):
            sdk = line[len("SDK version:") :].strip()
        elif match := re.match(r"compile time(?:\([^)]*\))?:(.*)", line):
            compiled = match.group(1).strip()
        elif match := re.match(r"Bin version:(.*?)\(([^()]*)\)\s*$", line):
            binary, name = match.group(1).strip(), match.group(2)
        elif match := re.match(r"Bin version(?:\(([^)]*)\))?:(.*)", line):  # ESP8266 form
            binary, name = match.group(2).strip(), match.group(1) or ""
    if not at:
        raise AtParseError(f"no 'AT version:' line in {text!r}")
    return Version(at, sdk, compiled, binary, name, tuple(text))


# ---------------------------------------------------------------- station / scan
@dataclass(frozen=True)
class JoinResult:
    """A successful AT+CWJAP: the URCs of its answer (``WIFI CONNECTED``…)."""

    lines: tuple[bytes, ...]

    @property
    def got_ip(self) -> bool:
        return b"WIFI GOT IP" in self.lines


@dataclass(frozen=True)
class ApConnection:
    """AT+CWJAP?: the AP the station is connected to. Fields a firmware does not print
    are ``None``."""

    ssid: bytes
    bssid: str
    channel: int
    rssi: int
    pci_en: int | None = None
    reconn_interval: int | None = None
    listen_interval: int | None = None
    scan_mode: int | None = None
    pmf: int | None = None


def parse_cwjap(payload: bytes) -> ApConnection:
    matches = list(_QUOTED_MAC_AFTER_SSID.finditer(payload))
    if not payload.startswith(b'"') or not matches:
        raise AtParseError(f"+CWJAP: line not understood: {payload!r}")
    match = matches[-1]
    ssid = payload[1 : match.start()]
    tail = payload[match.start() + _MAC_FIELD + 1 :]
    numbers = [_int(f, "+CWJAP") for f in tail.split(b",") if f]
    if len(numbers) < 2:
        raise AtParseError(f"+CWJAP: channel and rssi missing: {payload!r}")
    extra: list[int | None] = [*numbers[2:7], None, None, None, None, None][:5]
    return ApConnection(ssid, match.group(1).decode().lower(), numbers[0], numbers[1], *extra)


@dataclass(frozen=True)
class AccessPoint:
    """One AT+CWLAP line. ``ecn`` is the auth mode (0 open … 6 WPA3_PSK…); the fields
    after ``channel`` are ``None`` when AT+CWLAPOPT hides them."""

    ecn: int
    ssid: bytes
    rssi: int
    mac: str
    channel: int
    freq_offset: int | None = None
    freqcal_val: int | None = None
    pairwise_cipher: int | None = None
    group_cipher: int | None = None
    bgn: int | None = None
    wps: int | None = None

    @property
    def ssid_text(self) -> str:
        return self.ssid.decode("utf-8", "replace")


def parse_cwlap(payload: bytes) -> AccessPoint:
    body = payload.strip()
    if not (body.startswith(b"(") and body.endswith(b")")):
        raise AtParseError(f"+CWLAP: line not understood: {payload!r}")
    body = body[1:-1] + b","
    matches = list(_QUOTED_MAC_INSIDE.finditer(body))
    if not matches:
        raise AtParseError(f"+CWLAP: no MAC address in {payload!r}")
    match = matches[-1]
    ecn, _, rest = body[: match.start()].partition(b",")
    ssid_field, _, rssi = rest.rpartition(b",")
    numbers = [_int(f, "+CWLAP") for f in body[match.start() + _MAC_FIELD :].split(b",") if f]
    if not numbers:
        raise AtParseError(f"+CWLAP: no channel in {payload!r}")
    extra: list[int | None] = [*numbers[1:7], None, None, None, None, None, None][:6]
    return AccessPoint(
        _int(ecn, "ecn"),
        _unquote(ssid_field),
        _int(rssi, "rssi"),
        match.group(1).decode().lower(),
        numbers[0],
        *extra,
    )


@dataclass(frozen=True)
class StationStatus:
    """AT+CWSTATE?: the station's state and the SSID it is (or was) connecting to."""

    state: StationState | int
    ssid: bytes


def parse_cwstate(payload: bytes) -> StationStatus:
    state, _, ssid = payload.partition(b",")
    number = _int(state, "+CWSTATE")
    known = number in {s.value for s in StationState}
    return StationStatus(StationState(number) if known else number, _unquote(ssid))


# ------------------------------------------------------------------ SoftAP / IP
@dataclass(frozen=True)
class SoftApConfig:
    """AT+CWSAP?: the SoftAP's configuration. When both SSID and password contain
    ``","`` the split is ambiguous; the password is taken as the text after the last one."""

    ssid: bytes
    password: bytes
    channel: int
    ecn: int
    max_conn: int
    hidden: bool


def parse_cwsap(payload: bytes) -> SoftApConfig:
    parts = payload.rsplit(b",", 4)
    if len(parts) != 5:
        raise AtParseError(f"+CWSAP: line not understood: {payload!r}")
    strings, channel, ecn, max_conn, hidden = parts
    cut = strings.rfind(b'","')
    if not (strings.startswith(b'"') and strings.endswith(b'"')) or cut < 0:
        raise AtParseError(f"+CWSAP: SSID and password not found in {payload!r}")
    return SoftApConfig(
        strings[1:cut],
        strings[cut + 3 : -1],
        _int(channel, "channel"),
        _int(ecn, "ecn"),
        _int(max_conn, "max conn"),
        _int(hidden, "ssid hidden") == 1,
    )


@dataclass(frozen=True)
class Station:
    """AT+CWLIF: a station on the SoftAP."""

    ip: str
    mac: str


def parse_cwlif(payload: bytes) -> Station:
    ip, sep, mac = payload.partition(b",")
    if not sep:
        raise AtParseError(f"+CWLIF: line not understood: {payload!r}")
    return Station(_text(ip), _text(mac).lower())


@dataclass(frozen=True)
class IpConfig:
    """AT+CIPSTA? / AT+CIPAP?: an interface's IPv4 address (and IPv6 when printed)."""

    ip: str
    gateway: str
    netmask: str
    ip6ll: str | None = None
    ip6gl: str | None = None


def parse_ipconfig(payloads: list[bytes], name: str) -> IpConfig:
    values: dict[str, str] = {}
    for payload in payloads:
        key, sep, value = payload.partition(b":")
        if sep:
            values[key.decode("ascii", "replace")] = _text(value)
    missing = [k for k in ("ip", "gateway", "netmask") if k not in values]
    if missing:
        raise AtParseError(f"+{name}: {', '.join(missing)} missing")
    return IpConfig(
        values["ip"], values["gateway"], values["netmask"], values.get("ip6ll"), values.get("ip6gl")
    )


@dataclass(frozen=True)
class Addresses:
    """AT+CIFSR: every ``+CIFSR:<name>,"<value>"`` pair, with the usual four at hand."""

    entries: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.entries if key == name), None)

    @property
    def ap_ip(self) -> str | None:
        return self.get("APIP")

    @property
    def ap_mac(self) -> str | None:
        return self.get("APMAC")

    @property
    def sta_ip(self) -> str | None:
        return self.get("STAIP")

    @property
    def sta_mac(self) -> str | None:
        return self.get("STAMAC")


def parse_cifsr(payloads: list[bytes]) -> Addresses:
    entries = []
    for payload in payloads:
        key, sep, value = payload.partition(b",")
        if not sep:
            raise AtParseError(f"+CIFSR: line not understood: {payload!r}")
        entries.append((key.decode("ascii", "replace"), _text(value)))
    return Addresses(tuple(entries))


# ------------------------------------------------------------------------ system
@dataclass(frozen=True)
class HeapInfo:
    """AT+SYSRAM?: free heap now and the lowest it has been since boot (bytes)."""

    free: int
    minimum: int


def parse_sysram(payload: bytes) -> HeapInfo:
    fields = payload.split(b",")
    if len(fields) < 2:
        raise AtParseError(f"+SYSRAM: line not understood: {payload!r}")
    return HeapInfo(_int(fields[0], "free"), _int(fields[1], "minimum"))


@dataclass(frozen=True)
class UartConfig:
    """AT+UART_CUR?: the AT port's line settings (the baud rate as the chip achieves it)."""

    baudrate: int
    databits: int
    stopbits: int
    parity: int
    flow_control: int


def parse_uart(payload: bytes) -> UartConfig:
    fields = payload.split(b",")
    if len(fields) != 5:
        raise AtParseError(f"+UART_CUR: line not understood: {payload!r}")
    return UartConfig(*(_int(f, "+UART_CUR") for f in fields))


@dataclass(frozen=True)
class UserPartition:
    """One AT+SYSFLASH? line: a user partition of the flash."""

    name: str
    type: int
    subtype: int
    address: int
    size: int


def parse_sysflash(payload: bytes) -> UserPartition:
    parts = payload.rsplit(b",", 4)
    if len(parts) != 5:
        raise AtParseError(f"+SYSFLASH: line not understood: {payload!r}")
    name, *numbers = parts
    return UserPartition(_text(name), *(_int(n, "+SYSFLASH") for n in numbers))


@dataclass(frozen=True)
class RollbackInfo:
    """AT+SYSROLLBACK?: where the running firmware and the one to roll back to live."""

    running_address: int
    running_version: str
    rollback_address: int
    rollback_version: str


def parse_sysrollback(payload: bytes) -> RollbackInfo:
    fields = split_fields(payload)
    if len(fields) != 4:
        raise AtParseError(f"+SYSROLLBACK: line not understood: {payload!r}")
    return RollbackInfo(
        _int(fields[0], "running_app_addr"),
        _text(fields[1]),
        _int(fields[2], "rollback_app_addr"),
        _text(fields[3]),
    )
