"""Checks and formatting shared by the Wi-Fi command modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import AtError, exec_fail, para_invalid
from ..radio.addresses import parse_ipv4, parse_mac

if TYPE_CHECKING:
    from ..device.module import Module
    from ..device.wifi import Wifi


def wifi_on(m: Module) -> Wifi:
    """The Wi-Fi state, or ERROR while the driver is down (AT+CWINIT=0)."""
    if not m.wifi.initialized:
        raise exec_fail(reason="Wi-Fi is not initialized")
    return m.wifi


def need_sta(m: Module) -> Wifi:
    """The Wi-Fi state, or ERROR when the mode has no station (0 or 2)."""
    wifi = wifi_on(m)
    if not wifi.has_sta:
        raise exec_fail(reason="station mode is off")
    return wifi


def need_ap(m: Module) -> Wifi:
    """The Wi-Fi state, or ERROR when the mode has no SoftAP (0 or 1)."""
    wifi = wifi_on(m)
    if not wifi.has_ap:
        raise exec_fail(reason="SoftAP mode is off")
    return wifi


def mac_param(raw: bytes, index: int) -> str:
    mac = parse_mac(raw)
    if mac is None:
        raise para_invalid(index, "not a MAC address")
    return mac


def ip_param(raw: bytes, index: int) -> str:
    ip = parse_ipv4(raw)
    if ip is None:
        raise para_invalid(index, "not an IPv4 address")
    return ip


def quoted(value: bytes | str) -> bytes:
    """A value inside double quotes, printed as it is (the firmware escapes nothing)."""
    raw = value.encode() if isinstance(value, str) else value
    return b'"' + raw + b'"'


def c_string(value: bytes | str) -> bytes:
    """``value`` as the firmware's ``%s`` prints it: up to its first NUL byte."""
    raw = value.encode() if isinstance(value, str) else value
    return raw.split(b"\0", 1)[0]


def ensure(condition: bool, error: AtError) -> None:
    if not condition:
        raise error
