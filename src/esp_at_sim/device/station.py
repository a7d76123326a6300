"""The station interface: its configuration, its link to an access point and its address.

One background task (the *link task*) owns every attempt to reach an AP: it associates,
prints ``WIFI CONNECTED``, obtains an address (DHCP or the static one) and prints
``WIFI GOT IP``. When reconnection is on (``AT+CWRECONNCFG`` or CWJAP's
``<reconn_interval>``), a failed attempt or a lost link starts another one after the
interval, up to the repeat count. ``AT+CWJAP`` runs a single attempt and waits for its
outcome; a lost link, a boot with auto-connect and a switch into a station mode retry.
``WIFI DISCONNECT`` is printed only when a link that had been reported connected ends.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ..radio.addresses import NO_IP
from ..radio.base import Association, IpInfo, JoinFailure

if TYPE_CHECKING:
    from .module import Module

# ESP-IDF wifi_err_reason_t values this module reports in its event log.
REASON_NO_AP_FOUND = 201
REASON_ASSOC_FAIL = 203
REASON_HANDSHAKE_TIMEOUT = 15
REASON_ASSOC_LEAVE = 8
_FAILURE_REASON = {
    JoinFailure.TIMEOUT: REASON_ASSOC_FAIL,
    JoinFailure.WRONG_PASSWORD: REASON_HANDSHAKE_TIMEOUT,
    JoinFailure.NOT_FOUND: REASON_NO_AP_FOUND,
    JoinFailure.FAILED: REASON_ASSOC_FAIL,
}
_WRONG_PASSWORD_REASONS = frozenset({2, 15, 202, 204, 205})


class StaState(enum.IntEnum):
    """AT+CWSTATE's ``<state>``."""

    IDLE = 0  # no connection started since the station came up
    CONNECTED = 1  # associated, no IPv4 address yet
    GOT_IP = 2
    CONNECTING = 3  # connecting, or waiting to reconnect
    DISCONNECTED = 4


@dataclass(frozen=True, slots=True)
class StaConfig:
    """The station configuration AT+CWJAP sets (and ``AT+CWJAP?`` partly prints)."""

    ssid: bytes = b""
    password: bytes = b""
    bssid: str | None = None
    authmode: int = 0  # the weakest auth mode accepted (printed as <pci_en>)
    listen_interval: int = 3
    scan_mode: int = 0
    jap_timeout: int = 15
    pmf: int = 1


def failure_for_reason(reason: int) -> JoinFailure:
    """The CWJAP code ESP-AT reports for a disconnection reason."""
    if reason == REASON_NO_AP_FOUND:
        return JoinFailure.NOT_FOUND
    if reason in _WRONG_PASSWORD_REASONS:
        return JoinFailure.WRONG_PASSWORD
    return JoinFailure.FAILED


class Station:
    """The station interface of one module."""

    __slots__ = (
        "_outcome",
        "_reported",
        "_task",
        "assoc",
        "config",
        "dhcp",
        "last_reason",
        "lease",
        "module",
        "reconn_interval",
        "reconn_repeat",
        "state",
        "static_ip",
    )

    def __init__(self, module: Module) -> None:
        self.module = module
        self.config = StaConfig()
        self.reconn_interval = 0  # seconds; 0: never reconnect
        self.reconn_repeat = 0  # attempts; 0: forever
        self.dhcp = True
        self.static_ip = NO_IP
        self.state = StaState.IDLE
        self.assoc: Association | None = None
        self.lease: IpInfo | None = None
        self.last_reason: int | None = None
        self._reported = False  # WIFI CONNECTED printed for the current link
        self._task: asyncio.Task[None] | None = None
        self._outcome: asyncio.Future[JoinFailure | None] | None = None

    # ------------------------------------------------------------------ queries
    @property
    def connecting(self) -> bool:
        return self._task is not None and not self._task.done()

    def ip(self) -> IpInfo:
        """The interface address: the lease, else the static address, else 0.0.0.0."""
        if self.lease is not None:
            return self.lease
        return NO_IP if self.dhcp else self.static_ip

    # ----------------------------------------------------------------- commands
    def reset(self) -> None:
        """Forget the link and go back to IDLE (a reboot)."""
        self._cancel_task()
        self.assoc = None
        self.lease = None
        self._reported = False
        self._settle(JoinFailure.FAILED)
        self.state = StaState.IDLE

    def start(
        self, *, retry: bool, delay_first: bool = False
    ) -> asyncio.Future[JoinFailure | None]:
        """Drop any link and start connecting with the current configuration; the future
        gets the first attempt's outcome (``None``: got an IP)."""
        self.stop(final_state=self.state)
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[JoinFailure | None] = loop.create_future()
        self._outcome = outcome
        self.state = StaState.CONNECTING
        self._task = self.module.spawn(self._run(retry, delay_first), name="wifi-link")
        return outcome

    async def join(self) -> JoinFailure | None:
        """One attempt with the current configuration, as AT+CWJAP makes it: the outcome,
        or TIMEOUT after ``jap_timeout`` seconds (an association that is still missing its
        address then keeps waiting for it in the background)."""
        outcome = self.start(retry=False)
        self.module.emit("wifi.join", ssid=self.config.ssid.decode("utf-8", "replace"))
        done = await self.module.clock.wait_for(
            cast("asyncio.Future[object]", outcome), self.config.jap_timeout
        )
        if done:
            return outcome.result()
        self._settle(JoinFailure.TIMEOUT)
        if self.assoc is None:
            self._cancel_task()
            self.state = StaState.DISCONNECTED
        self.last_reason = _FAILURE_REASON[JoinFailure.TIMEOUT]
        return JoinFailure.TIMEOUT

    def stop(self, *, final_state: StaState = StaState.DISCONNECTED) -> None:
        """Stop connecting or reconnecting and drop the link (AT+CWQAP)."""
        self._cancel_task()
        self._settle(JoinFailure.FAILED)
        if self.assoc is not None:
            self.module.radio.disconnect()
            self.assoc = None
            self.last_reason = REASON_ASSOC_LEAVE
        self.lease = None
        self._report_down()
        if self.state is not StaState.IDLE:
            self.state = final_state

    def stop_reconnecting(self) -> None:
        """Stop a connection attempt in progress but keep an established link."""
        if self.assoc is None and self.connecting:
            self._cancel_task()
            self._settle(JoinFailure.FAILED)
            self.state = StaState.DISCONNECTED

    def link_lost(self, reason: int) -> None:
        """The AP dropped the link (radio callback)."""
        if self.assoc is None:
            return
        self._cancel_task()
        self.assoc = None
        self.lease = None
        self.last_reason = reason
        self._report_down()
        self.module.emit("wifi.link_lost", reason=reason)
        if self._outcome is not None and not self._outcome.done():
            self._settle(failure_for_reason(reason))
            self.state = StaState.DISCONNECTED
        elif self.reconn_interval > 0:
            self.start(retry=True, delay_first=True)
        else:
            self.state = StaState.DISCONNECTED

    def use_static(self, info: IpInfo) -> None:
        """A static address replaces DHCP (AT+CIPSTA)."""
        self.static_ip = info
        self.dhcp = False
        if self.assoc is not None:
            self.lease = None
            self._got_ip(info)

    def set_dhcp(self, enabled: bool) -> None:
        """Turn the DHCP client on or off; turned on while associated, it asks for a lease."""
        if enabled == self.dhcp:
            return
        self.dhcp = enabled
        if not enabled:
            if self.lease is not None:
                self.static_ip, self.lease = self.lease, None
            return
        self.lease = None
        assoc = self.assoc
        if assoc is not None and not self.connecting:
            self.state = StaState.CONNECTED
            self._task = self.module.spawn(self._address(assoc), name="wifi-dhcp")

    # ---------------------------------------------------------------- internals
    async def _run(self, retry: bool, delay_first: bool) -> None:
        retries = 0
        wait = delay_first
        while True:
            if wait:
                retries += 1
                await self.module.clock.sleep(self.reconn_interval)
            wait = True
            self.state = StaState.CONNECTING
            cfg = self.config
            result = await self._associate(cfg)
            if isinstance(result, Association):
                self._associated(result)
                await self._address(result)
                return
            self.last_reason = _FAILURE_REASON[result]
            self.module.emit("wifi.join_failed", code=int(result), reason=self.last_reason)
            self._settle(result)
            exhausted = self.reconn_repeat and retries >= self.reconn_repeat
            if not retry or self.reconn_interval == 0 or exhausted:
                self.state = StaState.DISCONNECTED
                return

    async def _associate(self, cfg: StaConfig) -> Association | JoinFailure:
        """One association; with an auth threshold, a scan first picks the strongest AP
        that meets it (weaker ones count as not found, as in ESP-IDF)."""
        radio = self.module.radio
        bssid = cfg.bssid
        if not self.module.wifi.phy.sta_hears_aps:  # LR only: no ordinary AP answers
            await radio.scan(cfg.ssid, cfg.bssid, None, True)
            return JoinFailure.NOT_FOUND
        if cfg.authmode > 0:
            seen = await radio.scan(cfg.ssid, cfg.bssid, None, True)
            strong = [ap for ap in seen if ap.ssid == cfg.ssid and ap.auth >= cfg.authmode]
            if not strong:
                return JoinFailure.NOT_FOUND
            bssid = max(strong, key=lambda ap: ap.rssi).bssid
        return await radio.associate(cfg.ssid, cfg.password, bssid)

    async def _address(self, assoc: Association) -> None:
        if self.dhcp:
            lease = await self.module.radio.dhcp(assoc)
            if lease is None or self.assoc is not assoc:
                return
            self.lease = lease
            self._got_ip(lease)
        elif self.static_ip.ip != NO_IP.ip:
            self._got_ip(self.static_ip)

    def _associated(self, assoc: Association) -> None:
        self.assoc = assoc
        self.state = StaState.CONNECTED
        self._reported = True
        self.module.emit("wifi.connected", bssid=assoc.ap.bssid, channel=assoc.ap.channel)
        self.module.urc("WIFI CONNECTED")

    def _got_ip(self, info: IpInfo) -> None:
        self.state = StaState.GOT_IP
        self.module.emit("wifi.got_ip", ip=info.ip, gateway=info.gateway, netmask=info.netmask)
        self.module.urc("WIFI GOT IP")
        self._settle(None)

    def _report_down(self) -> None:
        if self._reported:
            self._reported = False
            self.module.emit("wifi.disconnected", reason=self.last_reason)
            self.module.urc("WIFI DISCONNECT")

    def _settle(self, result: JoinFailure | None) -> None:
        outcome, self._outcome = self._outcome, None
        if outcome is not None and not outcome.done():
            outcome.set_result(result)

    def _cancel_task(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
