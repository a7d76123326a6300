"""Scenario files: the simulated air around one module, written in TOML.

A scenario describes the module itself (MAC addresses, the names and versions AT+GMR
prints), the access points its station can see and join, with their faults, and the
phones that join its SoftAP. :func:`load_scenario` reads a file, :func:`parse_scenario` a
string and :func:`default_scenario` the built-in "home".

Every mistake raises :class:`ScenarioError` naming the file, the line and the key, as in
``home.toml:12: ap[1].channel: must be 1..13, got 14``. Arrays count from 0: ``ap[0]`` is
the first ``[[ap]]`` table. The dataclasses check their own fields too, so configurations
built in Python (``ApConfig.create("Lab", "pass1234")``) obey the same rules and raise
:class:`FieldError` instead.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import ipaddress
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from esp_at_sim.radio import fields as check
from esp_at_sim.radio.base import AuthMode
from esp_at_sim.radio.fields import FieldError, generated_bssid, softap_mac_for

__all__ = [
    "ApConfig",
    "Chip",
    "FieldError",
    "ModuleConfig",
    "PhoneConfig",
    "Scenario",
    "ScenarioError",
    "default_scenario",
    "generated_bssid",
    "load_scenario",
    "parse_scenario",
    "softap_mac_for",
]

Chip = Literal["esp32", "esp32c3"]
_T = TypeVar("_T")

_MODULE_NAMES: dict[str, str] = {"esp32": "WROOM-32", "esp32c3": "MINI-1"}


class ScenarioError(ValueError):
    """A scenario file is wrong; the message reads ``FILE:LINE: KEY: what is wrong``."""

    def __init__(self, filename: str, line: int, key: str | None, message: str) -> None:
        where = f"{filename}:{line}: " + (f"{key}: " if key else "")
        super().__init__(where + message)
        self.filename = filename
        self.line = line
        self.key = key
        self.message = message


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


# -- the configuration dataclasses --------------------------------------------------------


@dataclass(frozen=True)
class ModuleConfig:
    """The module itself. Empty ``ap_mac``, ``name`` and ``bin_version`` are derived."""

    sta_mac: str = "24:0a:c4:00:00:01"
    ap_mac: str = ""  # "" → sta_mac with the last byte + 1, as ESP32 chips derive it
    name: str = ""  # "" → "WROOM-32" on esp32, "MINI-1" on esp32c3 (AT+GMR's Bin version)
    at_version: str = "4.1.1.0"
    sdk_version: str = "v5.4.1"
    bin_version: str = ""  # "" → "v" + at_version
    hostname: str = "espressif"
    country: str = "CN"
    chip: Chip = "esp32"

    def __post_init__(self) -> None:
        if not isinstance(self.chip, str) or self.chip not in _MODULE_NAMES:
            raise FieldError("chip", f"must be esp32 or esp32c3, got {check.describe(self.chip)}")
        sta = check.mac("sta_mac", self.sta_mac)
        _set(self, "sta_mac", sta)
        _set(
            self, "ap_mac", check.mac("ap_mac", self.ap_mac) if self.ap_mac else softap_mac_for(sta)
        )
        if self.ap_mac == sta:
            raise FieldError("ap_mac", "must differ from sta_mac")
        _set(self, "name", check.text("name", self.name) if self.name else _MODULE_NAMES[self.chip])
        at = check.text("at_version", self.at_version)
        check.text("sdk_version", self.sdk_version)
        _set(self, "bin_version", check.text("bin_version", self.bin_version or f"v{at}"))
        check.hostname("hostname", self.hostname)
        country = check.text("country", self.country)
        if not re.fullmatch(r"[A-Z0-9]{2}", country):
            raise FieldError(
                "country", f'must be a two-letter code like "CN", got {check.describe(country)}'
            )


@dataclass(frozen=True)
class ApConfig:
    """One access point: what it looks like on the air, how it behaves, how it fails.

    Times (``appear_at``, ``vanish_at``) are simulated seconds since the module started;
    ``drop_after`` counts from each association. An empty ``bssid`` is generated from
    the SSID. :meth:`create` also derives ``auth`` and the addresses as a file does.
    """

    ssid: str
    password: str | None = None
    auth: AuthMode = AuthMode.OPEN
    channel: int = 1
    rssi: int = -50
    bssid: str = ""
    hidden: bool = False
    ip: str = "192.168.50.100"
    gateway: str = "192.168.50.1"
    netmask: str = "255.255.255.0"
    assoc_delay: float = 1.0
    dhcp_delay: float = 0.5
    refuse_first: int = 0
    no_ip: bool = False
    appear_at: float | None = None
    vanish_at: float | None = None
    drop_after: float | None = None
    drop_reason: int = 200  # ESP-IDF WIFI_REASON_BEACON_TIMEOUT
    phone_hotspot: bool = False

    def __post_init__(self) -> None:
        ssid = check.text("ssid", self.ssid, printable=False)
        if not 1 <= len(ssid.encode()) <= 32:
            raise FieldError("ssid", f"must be 1..32 UTF-8 bytes, got {len(ssid.encode())}")
        auth = check.auth_mode("auth", self.auth)
        _set(self, "auth", auth)
        _set(self, "password", check.wifi_password(auth, self.password))
        check.integer("channel", self.channel, 1, 13)
        check.integer("rssi", self.rssi, -100, 0)
        _set(self, "bssid", check.mac("bssid", self.bssid) if self.bssid else generated_bssid(ssid))
        for flag in ("hidden", "no_ip", "phone_hotspot"):
            check.boolean(flag, getattr(self, flag))
        ip, gateway = check.ipv4("ip", self.ip), check.ipv4("gateway", self.gateway)
        mask = check.ipv4("netmask", self.netmask)
        try:
            net = ipaddress.IPv4Network(f"{ip}/{mask}", strict=False)
        except ValueError:
            raise FieldError("netmask", f"must be a contiguous netmask, got {mask}") from None
        if not 8 <= net.prefixlen <= 30:
            raise FieldError("netmask", f"must be /8../30, got {mask}")
        if ip in (net.network_address, net.broadcast_address):
            raise FieldError("ip", f"{ip} is not a host address in {net}")
        if gateway not in net or gateway in (net.network_address, net.broadcast_address):
            raise FieldError("gateway", f"{gateway} is not a host in {net} (ip and netmask)")
        if gateway == ip:
            raise FieldError("gateway", f"must differ from ip, got {gateway}")
        for name, addr in (("ip", ip), ("gateway", gateway), ("netmask", mask)):
            _set(self, name, str(addr))
        _set(self, "assoc_delay", check.seconds("assoc_delay", self.assoc_delay))
        _set(self, "dhcp_delay", check.seconds("dhcp_delay", self.dhcp_delay))
        check.integer("refuse_first", self.refuse_first, 0, 1_000_000)
        _set(self, "appear_at", check.optional_seconds("appear_at", self.appear_at))
        _set(self, "vanish_at", check.optional_seconds("vanish_at", self.vanish_at))
        start, end = self.appear_at, self.vanish_at
        if start is not None and end is not None and end <= start:
            raise FieldError("vanish_at", f"must be after appear_at ({self.appear_at})")
        _set(
            self, "drop_after", check.optional_seconds("drop_after", self.drop_after, positive=True)
        )
        check.integer("drop_reason", self.drop_reason, 1, 255)

    @property
    def ssid_bytes(self) -> bytes:
        return self.ssid.encode()

    @classmethod
    def create(
        cls,
        ssid: str,
        password: str | None = None,
        *,
        index: int = 0,
        occurrence: int = 0,
        **options: Any,
    ) -> ApConfig:
        """Build an AP with a scenario file's defaults: auth from the password, BSSID from
        the SSID (``occurrence`` tells same-named APs apart), addresses from ``index``."""
        raw: dict[str, Any] = {"ssid": ssid, **options}
        if password is not None:
            raw["password"] = password
        return cls(**_ap_defaults(raw, index, occurrence))


def _ap_defaults(raw: dict[str, Any], index: int, occurrence: int) -> dict[str, Any]:
    values = dict(raw)
    if "auth" not in values:
        values["auth"] = AuthMode.OPEN if values.get("password") is None else AuthMode.WPA2_PSK
    if "bssid" not in values and isinstance(values.get("ssid"), str):
        values["bssid"] = generated_bssid(values["ssid"], occurrence)
    try:
        mask = ipaddress.IPv4Address(values.setdefault("netmask", "255.255.255.0"))
        if "ip" in values:
            base = ipaddress.IPv4Network(f"{values['ip']}/{mask}", strict=False)
        elif "gateway" in values:
            base = ipaddress.IPv4Network(f"{values['gateway']}/{mask}", strict=False)
        else:
            base = ipaddress.IPv4Network(f"192.168.{50 + index % 200}.0/{mask}", strict=False)
    except ValueError:
        return values  # the dataclass reports the bad address
    hosts = [base.network_address + 1, base.broadcast_address - 1]
    if "gateway" not in values:
        values["gateway"] = str(hosts[1] if str(hosts[0]) == values.get("ip") else hosts[0])
    if "ip" not in values:
        wanted = base.network_address + min(100, base.num_addresses - 2)
        values["ip"] = str(hosts[1] if str(wanted) == values["gateway"] else wanted)
    return values


@dataclass(frozen=True)
class PhoneConfig:
    """A phone that joins the SoftAP: ``join_at``/``leave_at`` count from SoftAP start."""

    mac: str
    join_at: float | None = None
    leave_at: float | None = None
    hostname: str | None = None

    def __post_init__(self) -> None:
        _set(self, "mac", check.mac("mac", self.mac))
        _set(self, "join_at", check.optional_seconds("join_at", self.join_at))
        _set(self, "leave_at", check.optional_seconds("leave_at", self.leave_at))
        start, end = self.join_at, self.leave_at
        if start is not None and end is not None and end <= start:
            raise FieldError("leave_at", f"must be after join_at ({self.join_at})")
        if self.hostname is not None:
            check.hostname("hostname", self.hostname)


@dataclass(frozen=True)
class Scenario:
    """The whole radio world of one module."""

    name: str = "scenario"
    module: ModuleConfig = ModuleConfig()
    aps: tuple[ApConfig, ...] = ()
    phones: tuple[PhoneConfig, ...] = ()

    def __post_init__(self) -> None:
        check.text("name", self.name)
        _set(self, "aps", tuple(self.aps))
        _set(self, "phones", tuple(self.phones))
        _no_duplicates("ap", "bssid", [ap.bssid for ap in self.aps])
        _no_duplicates("phone", "mac", [phone.mac for phone in self.phones])


def _no_duplicates(table: str, key: str, values: list[str]) -> None:
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            raise FieldError(
                f"{table}[{i}].{key}", f"duplicate {key} {value}, also {table}[{first[value]}]"
            )
        first[value] = i


# -- reading TOML ----------------------------------------------------------------------------

_TOP_KEYS = ("name", "module", "ap", "phone")
_KEY_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")


def _key_path(text: str, pos: int = 0) -> tuple[list[str], int] | None:
    parts: list[str] = []
    while m := _KEY_PART.match(text, pos):
        parts.append(m.group(1) or m.group(2) or m.group(3) or "")
        pos = m.end()
        if not text.startswith(".", pos):
            return parts, pos
        pos += 1
    return None


class _Lines:
    """Where each table and key sits in the TOML text (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self._at: dict[str, int] = {}
        counts: dict[str, int] = {}
        prefix = ""
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if fence is not None:
                fence = None if line.count(fence) % 2 else fence
                continue
            stripped = line.lstrip()
            if stripped.startswith("["):
                array = stripped.startswith("[[")
                found = _key_path(stripped, 2 if array else 1)
                close = "]]" if array else "]"
                if found is None or not stripped.startswith(close, found[1]):
                    continue
                tail = stripped[found[1] + len(close) :].strip()
                if tail and not tail.startswith("#"):
                    continue
                head, *rest = found[0]
                if array:
                    counts[head] = counts.get(head, 0) + 1
                indexed = f"{head}[{counts[head] - 1}]" if head in counts else head
                prefix = ".".join([indexed, *rest])
                self._at.setdefault(prefix, number)
                continue
            found = _key_path(line)
            if found is None or not line.startswith("=", found[1]):
                continue
            path = [prefix] if prefix else []
            for part in found[0]:
                path.append(part)
                self._at.setdefault(".".join(path), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2:
                    fence = quote

    def find(self, key: str) -> int:
        while key:
            if key in self._at:
                return self._at[key]
            key = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key) if re.search(r"[.\[]", key) else ""
        return 1


def _table(value: object, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(key, f"must be a table, got {check.describe(value)}")
    return value


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(allowed)})"
            raise FieldError(f"{where}{key}", "unknown key" + hint)


def _build(data: dict[str, Any], default_name: str) -> Scenario:
    _check_keys(data, _TOP_KEYS, "")
    name = data.get("name", default_name)
    check.text("name", name)
    module_raw = _table(data.get("module", {}), "module")
    _check_keys(module_raw, tuple(f.name for f in fields(ModuleConfig)), "module.")
    module = _nested("module", ModuleConfig, module_raw)
    aps: list[ApConfig] = []
    for i, item in enumerate(_array(data.get("ap", []), "ap")):
        raw = _table(item, f"ap[{i}]")
        _check_keys(raw, tuple(f.name for f in fields(ApConfig)), f"ap[{i}].")
        _require(raw, f"ap[{i}]", "ssid")
        if "auth" in raw:
            raw["auth"] = _nested(
                f"ap[{i}]", check.auth_mode, {"key": "auth", "value": raw["auth"]}
            )
        seen = sum(1 for ap in aps if ap.ssid == raw["ssid"])
        aps.append(_nested(f"ap[{i}]", ApConfig, _ap_defaults(raw, i, seen)))
    phones: list[PhoneConfig] = []
    for i, item in enumerate(_array(data.get("phone", []), "phone")):
        raw = _table(item, f"phone[{i}]")
        _check_keys(raw, tuple(f.name for f in fields(PhoneConfig)), f"phone[{i}].")
        _require(raw, f"phone[{i}]", "mac")
        phones.append(_nested(f"phone[{i}]", PhoneConfig, raw))
    return Scenario(name, module, tuple(aps), tuple(phones))


def _require(table: dict[str, Any], where: str, key: str) -> None:
    if key not in table:
        raise FieldError(f"{where}.{key}", "is required")


def _array(value: object, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise FieldError(
            key, f"must be an array of tables ([[{key}]]), got {check.describe(value)}"
        )
    return value


def _nested(where: str, factory: Callable[..., _T], kwargs: dict[str, Any]) -> _T:
    """Call ``factory(**kwargs)``, putting ``where`` in front of a :class:`FieldError`'s key."""
    try:
        return factory(**kwargs)
    except FieldError as err:
        raise FieldError(f"{where}.{err.key}", err.message) from None


def parse_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    """Parse scenario TOML; errors name ``filename``, the line and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", msg, re.S)
        if m:
            raise ScenarioError(
                filename, int(m.group(2)), None, f"invalid TOML: {m.group(1)} (column {m.group(3)})"
            ) from None
        last = max(1, len(text.splitlines()))
        raise ScenarioError(filename, last, None, f"invalid TOML: {msg}") from None
    try:
        stem = Path(filename).stem
        return _build(data, stem if re.fullmatch(r"[\w.-]+", stem) else "scenario")
    except FieldError as err:
        raise ScenarioError(filename, _Lines(text).find(err.key), err.key, err.message) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and parse a scenario file (UTF-8). ``OSError`` passes through."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(str(path), line, None, "not UTF-8 text") from None
    return parse_scenario(text, str(path))


@functools.cache
def default_scenario() -> Scenario:
    """The built-in "home" scenario, used when no file is given (parsed once: a
    scenario is immutable)."""
    resource = importlib.resources.files("esp_at_sim") / "data" / "scenarios" / "home.toml"
    return parse_scenario(resource.read_text(encoding="utf-8"), "home.toml")
