"""SmartConfig (AT+CWSTARTSMART) and WPS (AT+WPS): the station learns the network to
join from a phone, or from an access point whose WPS button is pressed, then joins it.

**SmartConfig.** Starting it drops the station's link (``WIFI DISCONNECT`` when it was
reported connected) and listens for phones (a :class:`~esp_at_sim.radio.base.SmartConfigAir`
capability of the radio). The first packet of an accepted kind (type 1 ESP-Touch, 2
AirKiss, 3 either, 4 ESP-Touch v2, whose key must be the module's) is reported as the
firmware reports it::

    smartconfig type:ESPTOUCH
    Smart get wifi info
    ssid:<ssid>
    password:<password>
    +SCRD:<length>,<data>          (ESP-Touch v2 with reserved data only)

then the station takes that network (stored as AT+SYSSTORE says, with the auth floor as
its threshold) and joins, reconnecting as AT+CWRECONNCFG says; once it has an address
the module prints ``smartconfig connected wifi``. Later packets are ignored until
AT+CWSTOPSMART and a new start.

**WPS.** Enabling it drops the station's link and scans for access points whose button
is pressed (a :class:`~esp_at_sim.radio.base.WpsAir` capability): one of them runs the
registration and the station joins the network it hands over (``WIFI CONNECTED``,
``WIFI GOT IP``); two at once are a push-button overlap and end the session, as does
the walk time (120 s) running out. The manual gives no message for a failure, so none is
printed; each step is a ``wifi.wps`` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..core.events import Event
from ..radio.base import SmartConfigAir, SmartConfigPacket, WpsAir

if TYPE_CHECKING:
    from .module import Module

# AT+CWSTARTSMART's <type>: the packet kinds each accepts.
SMART_KINDS: dict[int, tuple[str, ...]] = {
    1: ("esptouch",),
    2: ("airkiss",),
    3: ("esptouch", "airkiss"),
    4: ("esptouch_v2",),
}
_SHOWN_KIND = {"esptouch": "ESPTOUCH", "airkiss": "AIRKISS", "esptouch_v2": "ESPTOUCH_V2"}
WPS_WALK_TIME = 120.0  # seconds an enrollee looks for a registrar


class SetupUnavailable(RuntimeError):
    """The radio backend cannot do this (no SmartConfig or WPS on its air), or the
    session is already running."""


class SmartConfig:
    """AT+CWSTARTSMART / AT+CWSTOPSMART on one module."""

    __slots__ = ("_unsubscribe", "auth_floor", "key", "kinds", "module", "received")

    def __init__(self, module: Module) -> None:
        self.module = module
        self.kinds: tuple[str, ...] = ()
        self.auth_floor = 0
        self.key: bytes | None = None
        self.received = False
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def running(self) -> bool:
        return bool(self.kinds)

    def _air(self) -> SmartConfigAir:
        radio = self.module.radio
        if not isinstance(radio, SmartConfigAir):
            raise SetupUnavailable(
                f"the radio backend {self.module.radio_name!r} has no SmartConfig"
            )
        return radio

    def start(self, sc_type: int, auth_floor: int, key: bytes | None) -> None:
        air = self._air()
        if self.running:
            raise SetupUnavailable("SmartConfig is already running")
        self.module.wifi.sta.stop()
        self.kinds = SMART_KINDS[sc_type]
        self.auth_floor, self.key, self.received = auth_floor, key, False
        air.listen_smartconfig(self._packet)
        self.module.emit("wifi.smartconfig", step="start", type=sc_type, floor=auth_floor)

    def stop(self) -> None:
        """Stop listening (and stop waiting for the join to report)."""
        if self.running and isinstance(self.module.radio, SmartConfigAir):
            self.module.radio.listen_smartconfig(None)
            self.module.emit("wifi.smartconfig", step="stop")
        self.kinds = ()
        self._watch(False)

    def _packet(self, packet: SmartConfigPacket) -> None:
        emit = self.module.emit
        if self.received or packet.kind not in self.kinds:
            emit("wifi.smartconfig", step="ignored", packet=packet.kind, sender=packet.sender)
            return
        if packet.kind == "esptouch_v2" and packet.key != self.key:
            emit("wifi.smartconfig", step="undecryptable", sender=packet.sender)
            return
        self.received = True
        ssid = packet.ssid.decode("utf-8", "replace")
        emit("wifi.smartconfig", step="got", packet=packet.kind, ssid=ssid, sender=packet.sender)
        urc = self.module.urc
        urc(f"smartconfig type:{_SHOWN_KIND[packet.kind]}")
        urc("Smart get wifi info")
        urc(b"ssid:" + packet.ssid)
        urc(b"password:" + packet.password)
        if packet.kind == "esptouch_v2" and packet.data:
            urc(f"+SCRD:{len(packet.data)},".encode() + packet.data)
        wifi = self.module.wifi
        cfg = wifi.sta.config
        wifi.sta.config = replace(
            cfg, ssid=packet.ssid, password=packet.password, bssid=None, authmode=self.auth_floor
        )
        wifi.persist_station()
        self._watch(True)
        wifi.sta.start(retry=True)

    def _watch(self, on: bool) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if on:
            self._unsubscribe = self.module.bus.subscribe(self._event, kinds=("wifi.got_ip",))

    def _event(self, event: Event) -> None:
        if event.kind != "wifi.got_ip":
            return
        self._watch(False)
        # after the station's own "WIFI GOT IP", which follows this event
        asyncio.get_running_loop().call_soon(self._connected)

    def _connected(self) -> None:
        if self.running:
            self.module.urc("smartconfig connected wifi")
            self.module.emit("wifi.smartconfig", step="connected")


class Wps:
    """AT+WPS on one module."""

    __slots__ = ("_task", "auth_floor", "module")

    def __init__(self, module: Module) -> None:
        self.module = module
        self.auth_floor = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _air(self) -> WpsAir:
        radio = self.module.radio
        if not isinstance(radio, WpsAir):
            raise SetupUnavailable(f"the radio backend {self.module.radio_name!r} has no WPS")
        return radio

    def enable(self, auth_floor: int) -> None:
        air = self._air()
        if self.running:
            raise SetupUnavailable("WPS is already enabled")
        self.module.wifi.sta.stop()
        self.auth_floor = auth_floor
        self._task = self.module.spawn(self._run(air), name="wifi-wps")
        self._emit("start", floor=auth_floor)

    def disable(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            self._emit("stop")

    async def _run(self, air: WpsAir) -> None:
        clock, wifi = self.module.clock, self.module.wifi
        deadline = clock.now() + WPS_WALK_TIME
        while clock.now() < deadline:
            if not wifi.has_sta:  # the mode changed under the session
                self._emit("stopped")
                return
            seen = {ap.bssid for ap in await wifi.scan()}
            pressed = [bssid for bssid in air.wps_active() if bssid in seen]
            if len(pressed) > 1:
                self._emit("overlap", bssids=sorted(pressed))
                return
            if not pressed:
                continue
            credentials = await air.wps_register(pressed[0])
            if credentials is None:
                self._emit("failed", bssid=pressed[0])
                return
            self._emit("success", bssid=credentials.bssid)
            sta = wifi.sta
            sta.config = replace(
                sta.config,
                ssid=credentials.ssid,
                password=credentials.password,
                bssid=None,
                authmode=self.auth_floor,
            )
            wifi.persist_station()
            sta.start(retry=True)
            return
        self._emit("timeout")

    def _emit(self, step: str, **data: object) -> None:
        self.module.emit("wifi.wps", step=step, **data)
