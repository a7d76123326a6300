"""An interface's address (:class:`IpInfo`) as one stored setting: ``ip,gateway,netmask``."""

from __future__ import annotations

from ..radio.addresses import parse_ipv4
from ..radio.base import IpInfo


def info_text(info: IpInfo) -> str:
    """An :class:`IpInfo` as one stored setting."""
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
