"""Checks for the values of the radio world: MAC and IPv4 addresses, host names, Wi-Fi
passwords for each auth mode, times in seconds.

Each check takes the field's name and a value of unknown type, returns the value in its
normal form (MACs in lower case, seconds as ``float``) or raises :class:`FieldError`
naming the field. Scenario files use them through their dataclasses; the AT commands can
use them for the same rules (a unicast MAC for AT+CIPSTAMAC, a WPA passphrase for
AT+CWSAP).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re

from esp_at_sim.radio.addresses import is_multicast, parse_mac
from esp_at_sim.radio.base import AuthMode

_HOSTNAME_RE = re.compile(r"[A-Za-z0-9-]{1,32}")
_PSK_AUTHS = frozenset(
    {
        AuthMode.WPA_PSK,
        AuthMode.WPA2_PSK,
        AuthMode.WPA_WPA2_PSK,
        AuthMode.WPA3_PSK,
        AuthMode.WPA2_WPA3_PSK,
        AuthMode.WAPI_PSK,
    }
)


class FieldError(ValueError):
    """A configuration field holds a bad value; ``key`` names the field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def describe(value: object) -> str:
    """``value`` as an error message quotes it (TOML spelling)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def text(key: str, value: object, *, printable: bool = True) -> str:
    """A string; with ``printable``, a non-empty one without control characters."""
    if not isinstance(value, str):
        raise FieldError(key, f"must be a string, got {describe(value)}")
    if printable and (not value or not value.isprintable()):
        raise FieldError(key, f"must be non-empty printable text, got {describe(value)}")
    return value


def integer(key: str, value: object, lo: int, hi: int) -> int:
    """An integer (not a bool) from ``lo`` to ``hi``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(key, f"must be an integer, got {describe(value)}")
    if not lo <= value <= hi:
        raise FieldError(key, f"must be {lo}..{hi}, got {value}")
    return value


def boolean(key: str, value: object) -> bool:
    """A bool, nothing else (1 and "yes" are refused)."""
    if not isinstance(value, bool):
        raise FieldError(key, f"must be true or false, got {describe(value)}")
    return value


def seconds(key: str, value: object, *, positive: bool = False) -> float:
    """A finite duration or moment, >= 0 (> 0 with ``positive``), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(key, f"must be a number of seconds, got {describe(value)}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise FieldError(key, f"must be {'> 0' if positive else '>= 0'} seconds, got {value}")
    return float(value)


def optional_seconds(key: str, value: object, *, positive: bool = False) -> float | None:
    """Like :func:`seconds`, letting ``None`` through."""
    return None if value is None else seconds(key, value, positive=positive)


def mac(key: str, value: object) -> str:
    """A unicast MAC address ``aa:bb:cc:dd:ee:ff``, returned in lower case."""
    normal = parse_mac(text(key, value))
    if normal is None:
        raise FieldError(
            key, f'must be a MAC address like "aa:bb:cc:dd:ee:ff", got {describe(value)}'
        )
    if is_multicast(normal):
        raise FieldError(
            key, f"must be a unicast MAC (bit 0 of the first byte clear), got {normal}"
        )
    return normal


def ipv4(key: str, value: object) -> ipaddress.IPv4Address:
    """A dotted-quad IPv4 address."""
    try:
        return ipaddress.IPv4Address(text(key, value))
    except ipaddress.AddressValueError:
        raise FieldError(key, f"must be an IPv4 address, got {describe(value)}") from None


def hostname(key: str, value: object) -> str:
    """A host name as AT+CWHOSTNAME takes it: 1 to 32 letters, digits or hyphens."""
    name = text(key, value)
    if not _HOSTNAME_RE.fullmatch(name):
        raise FieldError(key, f"must be 1..32 letters, digits or '-', got {describe(value)}")
    return name


def auth_mode(key: str, value: object) -> AuthMode:
    """An auth mode from an :class:`AuthMode` or its name (``"WPA2_PSK"``)."""
    if isinstance(value, AuthMode):
        return value
    if isinstance(value, str) and value.upper() in AuthMode.__members__:
        return AuthMode[value.upper()]
    names = " ".join(AuthMode.__members__)
    raise FieldError(key, f"must be one of {names}, got {describe(value)}")


def wifi_password(auth: AuthMode, password: object) -> str | None:
    """The password an access point with ``auth`` needs: none for OPEN (and for
    WPA2_ENTERPRISE, whose EAP is not simulated), a 5/13-character or 10/26-hex-digit
    key for WEP, an 8..63 ASCII passphrase or 64 hex digits for the PSK modes."""
    if password is None:
        if auth in _PSK_AUTHS or auth is AuthMode.WEP:
            raise FieldError("password", f"is required for {auth.name}")
        return None
    pw = text("password", password, printable=False)
    if auth is AuthMode.OPEN:
        raise FieldError("password", "an OPEN access point takes no password (set auth)")
    if auth is AuthMode.WPA2_ENTERPRISE:
        raise FieldError("password", "WPA2_ENTERPRISE takes no password (EAP is not simulated)")
    is_hex = all(c in "0123456789abcdefABCDEF" for c in pw)
    if auth is AuthMode.WEP:
        if len(pw) in (5, 13) or (is_hex and len(pw) in (10, 26)):
            return pw
        raise FieldError("password", f"WEP keys are 5 or 13 characters or 10/26 hex, got {len(pw)}")
    if 8 <= len(pw) <= 63 and all(" " <= c <= "~" for c in pw):
        return pw
    if len(pw) == 64 and is_hex:
        return pw
    raise FieldError("password", "must be 8..63 printable ASCII characters or 64 hex digits")


def generated_bssid(ssid: str, occurrence: int = 0) -> str:
    """A stable unicast BSSID for the ``occurrence``-th access point named ``ssid``."""
    seed = ssid.encode() + (b"" if occurrence == 0 else b"#%d" % occurrence)
    raw = bytearray(hashlib.sha256(seed).digest()[:6])
    raw[0] &= 0xFC  # unicast, universally administered, like a router's burned-in address
    return ":".join(f"{b:02x}" for b in raw)


def softap_mac_for(sta_mac: str) -> str:
    """The SoftAP MAC an ESP32 derives from its station MAC: last byte + 1 (no carry)."""
    head, last = sta_mac[:-2], int(sta_mac[-2:], 16)
    return f"{head}{(last + 1) & 0xFF:02x}"
