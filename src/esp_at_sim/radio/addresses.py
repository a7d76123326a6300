"""Addresses as the firmware reads and checks them: MAC and IPv4 text, and the SoftAP's
DHCP range. One home for these rules, shared by the device (AT+CIPSTAMAC, AT+CWDHCPS,
AT+CIPAP) and the simulated radio's DHCP server.

The firmware reads a MAC address only in its long form, six two-digit hex bytes separated
by colons (either case), and prints it in lower case. IPv4 addresses are dotted quads of
decimal numbers 0..255.

The DHCP server of an ESP32 SoftAP hands out at most :data:`MAX_LEASES` addresses from one
range in the SoftAP's /24. Its default range follows the SoftAP address: the 100
addresses after it, or the 100 below it when the address's last byte is 128 or more
(192.168.4.1 → .2 to .101).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .base import IpInfo

_MAC_TEXT = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_IPV4_TEXT = re.compile(rb"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")

NO_IP = IpInfo("0.0.0.0", "0.0.0.0", "0.0.0.0")
DEFAULT_NETMASK = "255.255.255.0"
SOFTAP_ADDRESS = IpInfo("192.168.4.1", "192.168.4.1", DEFAULT_NETMASK)  # ESP-IDF's default
MAX_LEASES = 100  # ESP-IDF's DHCPS_MAX_LEASE
DEFAULT_LEASE_MINUTES = 120
MAX_LEASE_MINUTES = 2880


# -- MAC addresses ------------------------------------------------------------------------


def parse_mac(text: bytes | str) -> str | None:
    """``b"1A:FE:35:98:D3:7B"`` → ``"1a:fe:35:98:d3:7b"``; ``None`` when malformed."""
    raw = text.decode("latin-1") if isinstance(text, bytes) else text
    if not _MAC_TEXT.fullmatch(raw):
        return None
    return raw.lower()


def offset_mac(mac: str, offset: int) -> str:
    """``mac`` with ``offset`` added to its last three bytes (the device part, with carry;
    the first three, the vendor's, stay). :class:`ValueError` when the sum leaves the
    device part's range."""
    head, tail = mac[:8], int(mac[9:].replace(":", ""), 16)
    value = tail + offset
    if not 0 <= value <= 0xFFFFFF:
        raise ValueError(f"{mac} + {offset} leaves the vendor's block {head}")
    return f"{head}:{value >> 16:02x}:{(value >> 8) & 0xFF:02x}:{value & 0xFF:02x}"


def mac_bytes(mac: str) -> bytes:
    """The six bytes of a MAC address in its long form."""
    return bytes(int(part, 16) for part in mac.split(":"))


def is_multicast(mac: str) -> bool:
    """Bit 0 of the first byte: a group address, never an interface's own."""
    return bool(mac_bytes(mac)[0] & 1)


def settable_mac(mac: str) -> bool:
    """Whether an interface may take this MAC: unicast and not all zeros (all ones is
    multicast already)."""
    return not is_multicast(mac) and any(mac_bytes(mac))


# -- IPv4 addresses -----------------------------------------------------------------------


def parse_ipv4(text: bytes) -> str | None:
    """``b"192.168.4.1"`` → ``"192.168.4.1"``; ``None`` unless a plain dotted quad (each
    number at most three digits; leading zeros are dropped)."""
    match = _IPV4_TEXT.fullmatch(text)
    if match is None:
        return None
    parts = [int(group) for group in match.groups()]
    if any(part > 255 for part in parts):
        return None
    return str(ipaddress.IPv4Address(bytes(parts)))


def default_gateway(ip: str) -> str:
    """The gateway assumed when a static address is given alone: ``x.y.z.1``."""
    return str(_slash24(ip).network_address + 1)


def _slash24(ip: str | ipaddress.IPv4Address) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((ip, 24), strict=False)


# -- the SoftAP's DHCP range --------------------------------------------------------------


@dataclass(frozen=True)
class DhcpPool:
    """The SoftAP DHCP server's range as AT+CWDHCPS shows it (dotted quads)."""

    start: str
    end: str
    lease_minutes: int = DEFAULT_LEASE_MINUTES

    @classmethod
    def default_for(cls, softap_ip: str) -> DhcpPool:
        """ESP-IDF's range for a SoftAP address (see the module's docstring)."""
        own = ipaddress.IPv4Address(softap_ip)
        net = _slash24(own)
        last = int(own) - int(net.network_address)
        start = own - MAX_LEASES if last >= 0x80 else own + 1
        return cls(str(start), str(start + MAX_LEASES - 1))

    @property
    def first(self) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(self.start)

    @property
    def last(self) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(self.end)

    def __contains__(self, address: object) -> bool:
        if isinstance(address, str):
            address = ipaddress.IPv4Address(address)
        return isinstance(address, ipaddress.IPv4Address) and self.first <= address <= self.last

    def addresses(self) -> list[ipaddress.IPv4Address]:
        """Every address of the range, lowest first (the order leases are handed out)."""
        return [self.first + i for i in range(int(self.last) - int(self.first) + 1)]

    def fits(self, softap_ip: str) -> bool:
        """Whether the DHCP server takes this range next to the SoftAP address: in its
        /24, in order, without the SoftAP's own address, at most :data:`MAX_LEASES`."""
        own = ipaddress.IPv4Address(softap_ip)
        net = _slash24(own)
        return (
            self.first <= self.last
            and self.first in net
            and self.last in net
            and own not in self
            and int(self.last) - int(self.first) < MAX_LEASES
        )

    def as_text(self) -> str:
        """The range as one stored setting: ``lease,start,end``."""
        return f"{self.lease_minutes},{self.start},{self.end}"
