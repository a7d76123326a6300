"""A radio backend as another package would ship it: the tests copy this file into a
temporary installed distribution (``esp_toy_radio``) that registers it in the
``esp_at_sim.radio`` entry-point group. It knows one access point, answers at once, and
implements none of the optional capabilities (no DHCP server control, no faults)."""

from __future__ import annotations

from typing import Any

from esp_at_sim.radio.base import (
    Association,
    AuthMode,
    IpInfo,
    JoinFailure,
    LinkLostCallback,
    Radio,
    ScanResult,
    SoftApStation,
    StationCallback,
)

TOY_AP = ScanResult(b"ToyNet", "02:70:79:00:00:01", 6, -42, AuthMode.OPEN)
TOY_LEASE = IpInfo("10.7.7.20", "10.7.7.1", "255.255.255.0")


class ToyRadio(Radio):
    """One open access point, ``ToyNet``; a SoftAP nobody joins."""

    def __init__(self, scenario: Any, clock: Any) -> None:
        self.link: Association | None = None

    async def scan(
        self,
        ssid: bytes | None = None,
        bssid: str | None = None,
        channel: int | None = None,
        show_hidden: bool = False,
    ) -> list[ScanResult]:
        return [TOY_AP] if ssid in (None, TOY_AP.ssid) else []

    async def associate(
        self, ssid: bytes, password: bytes, bssid: str | None = None
    ) -> Association | JoinFailure:
        if ssid != TOY_AP.ssid or password:
            return JoinFailure.NOT_FOUND
        self.link = Association(TOY_AP)
        return self.link

    async def dhcp(self, assoc: Association) -> IpInfo | None:
        return TOY_LEASE if assoc is self.link else None

    def disconnect(self) -> None:
        self.link = None

    def on_link_lost(self, callback: LinkLostCallback | None) -> None:
        pass

    def softap_start(
        self,
        ssid: bytes,
        password: bytes,
        channel: int,
        auth: AuthMode,
        max_conn: int,
        hidden: bool,
        ip: str,
    ) -> None:
        pass

    def softap_stop(self) -> None:
        pass

    def on_station_event(self, callback: StationCallback | None) -> None:
        pass

    def softap_stations(self) -> list[SoftApStation]:
        return []

    def join_phone(self, mac: str | None = None) -> SoftApStation | None:
        return None

    def leave_phone(self, mac: str) -> bool:
        return False

    async def close(self) -> None:
        self.link = None
