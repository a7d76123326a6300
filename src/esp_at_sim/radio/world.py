"""The world a scenario describes, as typed, self-checking dataclasses: the module itself
(its identity), the access points on the air and the phones that join its SoftAP.

The simulated radio reads them; :mod:`esp_at_sim.scenario` builds them from a TOML file.
Each dataclass checks its own fields, so configurations built in Python
(``ApConfig.create("Lab", "pass1234")``) obey the same rules as a file and raise
:class:`~esp_at_sim.radio.fields.FieldError` naming the field.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from esp_at_sim.radio import fields as check
from esp_at_sim.radio.base import AuthMode
from esp_at_sim.radio.fields import FieldError, generated_bssid, softap_mac_for
from esp_at_sim.radio.netconfig import NetConfig

Chip = Literal["esp32", "esp32c3"]

_MODULE_NAMES: dict[str, str] = {"esp32": "WROOM-32", "esp32c3": "MINI-1"}
# C's __DATE__ and __TIME__, as an app descriptor keeps them ("Nov  4 2026" pads the day).
_COMPILE_TIME = re.compile(r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class ModuleConfig:
    """The module itself: what it says about itself (AT+GMR, its MAC addresses, host name
    and country). Empty ``ap_mac``, ``name`` and ``bin_version`` are derived. The module
    keeps it as ``module.identity``; the versions then follow the app image it boots
    (:meth:`running`)."""

    sta_mac: str = "24:0a:c4:00:00:01"
    ap_mac: str = ""  # "" → sta_mac with the last byte + 1, as ESP32 chips derive it
    name: str = ""  # "" → "WROOM-32" on esp32, "MINI-1" on esp32c3 (AT+GMR's Bin version)
    at_version: str = "4.1.1.0"
    sdk_version: str = "v5.4.1"
    bin_version: str = ""  # "" → "v" + at_version
    hostname: str = "espressif"
    country: str = "CN"
    chip: Chip = "esp32"
    compile_time: str = "Nov 24 2026 08:00:00"  # the factory image's build date and time

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
        built = check.text("compile_time", self.compile_time)
        if not _COMPILE_TIME.fullmatch(built):
            raise FieldError(
                "compile_time",
                f'must be a date and time like "Nov 24 2026 08:00:00", got {check.describe(built)}',
            )
        country = check.text("country", self.country)
        if not re.fullmatch(r"[A-Z0-9]{2}", country):
            raise FieldError(
                "country", f'must be a two-letter code like "CN", got {check.describe(country)}'
            )

    def running(self, *, bin_version: str, sdk_version: str, compile_time: str) -> ModuleConfig:
        """This module running an app image: the versions its descriptor holds, taken as
        they are (an uploaded image may carry any text; a scenario may not). Itself when
        they are its own (the factory image: no copy per module of a fleet)."""
        if (bin_version, sdk_version, compile_time) == (
            self.bin_version,
            self.sdk_version,
            self.compile_time,
        ):
            return self
        booted = copy.copy(self)
        _set(booted, "bin_version", bin_version)
        _set(booted, "sdk_version", sdk_version)
        _set(booted, "compile_time", compile_time)
        return booted


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
    internet: bool = True  # false: an address but no route anywhere
    latency: float = 0.0  # seconds each way on the data path
    bandwidth: int = 0  # bytes/s of outgoing data; 0: unlimited
    loss: float = 0.0  # share of outgoing UDP datagrams lost, 0..1
    wps: bool = False  # takes WPS push-button enrollees (AT+WPS); CWLAP shows <wps> 1
    wps_press_at: float | None = None  # its WPS button is pressed then (walk time 120 s)

    def __post_init__(self) -> None:
        ssid = check.text("ssid", self.ssid, printable=False)
        if not 1 <= len(ssid.encode()) <= 32:
            raise FieldError("ssid", f"must be 1..32 UTF-8 bytes, got {len(ssid.encode())}")
        if "\r" in ssid or "\n" in ssid:  # AT answers are lines: nothing could frame it
            raise FieldError("ssid", f"must not contain CR or LF, got {ssid!r}")
        auth = check.auth_mode("auth", self.auth)
        _set(self, "auth", auth)
        _set(self, "password", check.wifi_password(auth, self.password))
        check.integer("channel", self.channel, 1, 13)
        check.integer("rssi", self.rssi, -100, 0)
        _set(self, "bssid", check.mac("bssid", self.bssid) if self.bssid else generated_bssid(ssid))
        for flag in ("hidden", "no_ip", "phone_hotspot", "internet", "wps"):
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
        _set(self, "latency", check.seconds("latency", self.latency))
        check.integer("bandwidth", self.bandwidth, 0, 1 << 40)
        if isinstance(self.loss, bool) or not isinstance(self.loss, int | float):
            raise FieldError("loss", f"must be a number 0..1, got {check.describe(self.loss)}")
        if not 0 <= self.loss <= 1:
            raise FieldError("loss", f"must be 0..1, got {self.loss}")
        _set(self, "loss", float(self.loss))
        _set(self, "wps_press_at", check.optional_seconds("wps_press_at", self.wps_press_at))
        if self.wps_press_at is not None and not self.wps:
            raise FieldError("wps_press_at", "needs wps = true")

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
        return cls(**ap_defaults(raw, index, occurrence))


def ap_defaults(raw: dict[str, Any], index: int, occurrence: int) -> dict[str, Any]:
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


SMARTCONFIG_KINDS = ("esptouch", "airkiss", "esptouch_v2")


@dataclass(frozen=True)
class PhoneConfig:
    """A phone that joins the SoftAP: ``join_at``/``leave_at`` count from SoftAP start.

    With ``smartconfig_at`` the phone also provisions by SmartConfig: that long after the
    module starts listening (AT+CWSTARTSMART) it sends ``smartconfig_ssid`` and
    ``smartconfig_password`` the ``smartconfig`` way (ESP-Touch, AirKiss or ESP-Touch v2,
    the last with the AES ``smartconfig_key`` and the reserved ``smartconfig_data``)."""

    mac: str
    join_at: float | None = None
    leave_at: float | None = None
    hostname: str | None = None
    smartconfig: str = "esptouch"
    smartconfig_at: float | None = None
    smartconfig_ssid: str | None = None
    smartconfig_password: str = ""
    smartconfig_key: str | None = None
    smartconfig_data: str = ""

    def __post_init__(self) -> None:
        _set(self, "mac", check.mac("mac", self.mac))
        _set(self, "join_at", check.optional_seconds("join_at", self.join_at))
        _set(self, "leave_at", check.optional_seconds("leave_at", self.leave_at))
        start, end = self.join_at, self.leave_at
        if start is not None and end is not None and end <= start:
            raise FieldError("leave_at", f"must be after join_at ({self.join_at})")
        if self.hostname is not None:
            check.hostname("hostname", self.hostname)
        self._check_smartconfig()

    def _check_smartconfig(self) -> None:
        kind = check.text("smartconfig", self.smartconfig)
        if kind not in SMARTCONFIG_KINDS:
            raise FieldError(
                "smartconfig", f"must be one of {', '.join(SMARTCONFIG_KINDS)}, got {kind!r}"
            )
        _set(self, "smartconfig_at", check.optional_seconds("smartconfig_at", self.smartconfig_at))
        if self.smartconfig_ssid is not None:
            ssid = check.text("smartconfig_ssid", self.smartconfig_ssid, printable=False)
            if not 1 <= len(ssid.encode()) <= 32:
                raise FieldError("smartconfig_ssid", "must be 1..32 UTF-8 bytes")
        elif self.smartconfig_at is not None:
            raise FieldError("smartconfig_ssid", "is required with smartconfig_at")
        if (
            len(
                check.text(
                    "smartconfig_password", self.smartconfig_password, printable=False
                ).encode()
            )
            > 64
        ):
            raise FieldError("smartconfig_password", "must be at most 64 bytes")
        if self.smartconfig_key is not None:
            key = check.text("smartconfig_key", self.smartconfig_key)
            if len(key.encode()) != 16:
                raise FieldError("smartconfig_key", f"must be 16 bytes, got {len(key.encode())}")
        if (
            len(check.text("smartconfig_data", self.smartconfig_data, printable=False).encode())
            > 64
        ):
            raise FieldError("smartconfig_data", "must be at most 64 bytes")
        if self.smartconfig != "esptouch_v2" and (self.smartconfig_key or self.smartconfig_data):
            raise FieldError("smartconfig_key", "a key and data need smartconfig = esptouch_v2")


@dataclass(frozen=True)
class Scenario:
    """The whole radio world of one module."""

    name: str = "scenario"
    module: ModuleConfig = ModuleConfig()
    aps: tuple[ApConfig, ...] = ()
    phones: tuple[PhoneConfig, ...] = ()
    net: NetConfig = field(default_factory=NetConfig)

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
