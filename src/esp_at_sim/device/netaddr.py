"""MAC and IPv4 address text as the Wi-Fi commands take and print it.

The firmware reads a MAC address only in its long form, six two-digit hex bytes separated
by colons (either case), and prints it in lower case. IPv4 addresses are dotted quads of
decimal numbers 0..255.
"""

from __future__ import annotations

import re

from ..radio.base import IpInfo

_MAC_TEXT = re.compile(rb"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_IPV4_TEXT = re.compile(rb"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")

NO_IP = IpInfo("0.0.0.0", "0.0.0.0", "0.0.0.0")


def parse_mac(text: bytes) -> str | None:
    """``b"1A:FE:35:98:D3:7B"`` → ``"1a:fe:35:98:d3:7b"``; ``None`` when malformed."""
    if not _MAC_TEXT.fullmatch(text):
        return None
    return text.decode("ascii").lower()


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def settable_mac(mac: str) -> bool:
    """Whether an interface may take this MAC: unicast (bit 0 of the first byte clear) and
    not all zeros (all ones is multicast already)."""
    raw = mac_bytes(mac)
    return not raw[0] & 1 and any(raw)


def parse_ipv4(text: bytes) -> str | None:
    """``b"192.168.4.1"`` → ``"192.168.4.1"``; ``None`` unless a plain dotted quad."""
    match = _IPV4_TEXT.fullmatch(text)
    if match is None:
        return None
    parts = [int(group) for group in match.groups()]
    if any(part > 255 for part in parts):
        return None
    return ".".join(str(part) for part in parts)


def ip_int(ip: str) -> int:
    a, b, c, d = (int(part) for part in ip.split("."))
    return a << 24 | b << 16 | c << 8 | d


def ip_str(value: int) -> str:
    return ".".join(str(value >> shift & 0xFF) for shift in (24, 16, 8, 0))


def default_gateway(ip: str) -> str:
    """The gateway assumed when a static address is given alone: ``x.y.z.1``."""
    return ip_str(ip_int(ip) & 0xFFFFFF00 | 1)


DEFAULT_NETMASK = "255.255.255.0"


def info_text(info: IpInfo) -> str:
    """An :class:`IpInfo` as one stored setting: ``ip,gateway,netmask``."""
    return f"{info.ip},{info.gateway},{info.netmask}"


def info_from_text(text: object) -> IpInfo | None:
    """The reverse of :func:`info_text`; ``None`` for anything malformed."""
    if not isinstance(text, str):
        return None
    parts = text.split(",")
    if len(parts) != 3:
        return None
    checked = [parse_ipv4(part.encode()) for part in parts]
    if any(part is None for part in checked):
        return None
    ip, gateway, netmask = (str(part) for part in checked)
    return IpInfo(ip, gateway, netmask)
