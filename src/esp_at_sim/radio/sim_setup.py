"""Provisioning on the simulated air: phones that send SmartConfig packets, and access
points that take WPS push-button enrollees.

**SmartConfig.** While the module listens (:meth:`SetupAir.listen`), each scenario phone
with ``smartconfig_at`` sends its packet that many simulated seconds after listening
started; :meth:`SetupAir.send` delivers a packet at once (a fault). A packet sent while
nobody listens is lost, as a phone's broadcast is.

**WPS.** An access point with ``wps = true`` takes enrollees for the walk time, 120 s,
after its button is pressed (``wps_press_at`` in the scenario, or
:meth:`SetupAir.press`). The registration (EAP-WSC's eight messages) takes
:data:`REGISTER_TIME`; it fails for a WEP network (WPS 2.0 refuses WEP) and when the
access point goes away meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio.base import (
    AuthMode,
    SmartConfigCallback,
    SmartConfigPacket,
    WpsCredentials,
)
from esp_at_sim.radio.tasks import TaskSet
from esp_at_sim.radio.world import ApConfig, PhoneConfig

WALK_TIME = 120.0  # seconds a pressed WPS button stays active (WPS 2.0)
REGISTER_TIME = 2.0  # seconds of the M1..M8 exchange


def phone_packet(phone: PhoneConfig) -> SmartConfigPacket:
    """The SmartConfig packet a scenario phone sends."""
    return SmartConfigPacket(
        kind=phone.smartconfig,
        ssid=(phone.smartconfig_ssid or "").encode(),
        password=phone.smartconfig_password.encode(),
        key=phone.smartconfig_key.encode() if phone.smartconfig_key else None,
        data=phone.smartconfig_data.encode(),
        sender=phone.mac,
    )


class SetupAir:
    """SmartConfig senders and WPS registrars of one simulated air."""

    __slots__ = ("_clock", "_listener", "_phones", "_presses", "_senders", "_tasks", "_visible")

    def __init__(
        self,
        phones: tuple[PhoneConfig, ...],
        clock: Clock,
        tasks: TaskSet,
        visible: Callable[[str], ApConfig | None],
    ) -> None:
        self._phones = phones
        self._clock = clock
        self._tasks = tasks
        self._visible = visible  # BSSID -> the AP's configuration while it is on the air
        self._listener: SmartConfigCallback | None = None
        self._senders: list[asyncio.Task[None]] = []
        self._presses: dict[str, float] = {}  # BSSID -> time of the last run-time press

    # -- SmartConfig --------------------------------------------------------------------

    def listen(self, callback: SmartConfigCallback | None) -> None:
        self._tasks.cancel(self._senders)
        self._senders = []
        self._listener = callback
        if callback is None:
            return
        for phone in self._phones:
            if phone.smartconfig_at is not None:
                task = self._tasks.spawn(self._send_later(phone.smartconfig_at, phone))
                self._senders.append(task)

    async def _send_later(self, delay: float, phone: PhoneConfig) -> None:
        await self._clock.sleep(delay)
        self.send(phone_packet(phone))

    def send(self, packet: SmartConfigPacket) -> bool:
        listener = self._listener
        if listener is None:
            return False
        listener(packet)
        return True

    # -- WPS ----------------------------------------------------------------------------

    def press(self, config: ApConfig) -> None:
        if not config.wps:
            raise ValueError(f"access point {config.ssid!r} has no WPS (wps = true)")
        self._presses[config.bssid] = self._clock.now()

    def _pressed_at(self, config: ApConfig) -> float | None:
        now = self._clock.now()
        times = [t for t in (config.wps_press_at, self._presses.get(config.bssid)) if t is not None]
        past = [t for t in times if t <= now]
        return max(past) if past else None

    def active(self, config: ApConfig) -> bool:
        """Whether ``config`` takes enrollees now."""
        if not config.wps:
            return False
        pressed = self._pressed_at(config)
        return pressed is not None and self._clock.now() < pressed + WALK_TIME

    async def register(self, bssid: str) -> WpsCredentials | None:
        config = self._visible(bssid)
        if config is None or not self.active(config):
            return None
        await self._clock.sleep(REGISTER_TIME)
        config = self._visible(bssid)
        if config is None or config.auth is AuthMode.WEP:
            return None
        password = (config.password or "").encode()
        return WpsCredentials(config.ssid_bytes, password, config.bssid, config.auth)
