"""Wi-Fi provisioning through the web server: one state for the whole module.

A client posts credentials (``/setstainfo``); the module answers at once, waits a short
grace so the answer can leave before the radio gets busy, then connects the station and
checks every 500 ms whether it has an address, until ``connection_timeout`` runs out.
Clients follow the result with ``/getstainfo`` and confirm it with ``/getresult``.

States, as ``/getstainfo`` reports them::

    NOT_START ──/setstainfo──▶ CONFIG_DONE ──grace──▶ CONNECTING ──IP──▶ CONNECT_OK
        ▲                                                  └──timeout──▶ CONNECT_FAIL
        └────────────── /getresult (received=…) from CONNECT_OK / CONNECT_FAIL

CONFIG_DONE covers the grace period: the credentials are in, the connection has not
started. Every wait is on the module's clock, so the time scale applies.

The firmware retries a failed attempt until ``connection_timeout`` runs out, however
plainly it failed. Ours does too, and prints the same on the AT port, but as soon as an
attempt fails for a reason that retrying will not change (:data:`FINAL_REASONS`: wrong
password, network not found) ``/getstainfo`` says so while still connecting
(``"reason"`` with ``"retrying":true``, fields the stock page ignores), and new
credentials are taken at once instead of after the timeout: a person who mistyped the
password corrects it without waiting a minute.

``/setstainfo`` takes a JSON object (``ssid``, ``password``; the stock page adds
``ssid_len`` and ``password_len``, which the firmware ignores and so do we). The applet
appends ``&udp_port=N`` right after the JSON text, so anything after the object is read
as ``&``-separated arguments and otherwise ignored, as the firmware's parser does.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.events import Event
from ..device.wifi import WifiUnavailable
from ..radio.base import JoinFailure
from .wire import BadRequest, form_arg, quoted

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..device.module import Module
    from .config import WebConfig

GRACE = 0.3  # seconds between the answer to /setstainfo and the start of the connection
POLL = 0.5  # seconds between two checks for a station address
DEFAULT_TIMEOUT = 60  # connection_timeout until AT+WEBSERVER sets one
HOTSPOT_RESERVE = 10  # seconds of the timeout the applet's hotspot search leaves unused
URC_CONNECTING = "+WEBSERVERRSP:1"
URC_RESULT_TAKEN = "+WEBSERVERRSP:2"
MAX_SSID = 32  # bytes
MAX_PASSWORD = 64  # bytes
MAX_PORT = 65535

_REASONS = {
    JoinFailure.WRONG_PASSWORD: "wrong_password",
    JoinFailure.NOT_FOUND: "not_found",
    JoinFailure.TIMEOUT: "timeout",
    JoinFailure.FAILED: "failed",
}


class ProvState(enum.Enum):
    """Where provisioning stands; the value is ``/getstainfo``'s ``state`` and ``message``."""

    NOT_START = (0, "waiting config")
    CONFIG_DONE = (0, "config done")
    CONNECTING = (0, "connecting")
    CONNECT_FAIL = (2, "connect fail")
    CONNECT_OK = (1, "connect OK")

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


ACCEPTING = frozenset({ProvState.NOT_START, ProvState.CONNECT_FAIL, ProvState.CONNECT_OK})
# Failures that the firmware's retries will meet again and again: reported at once.
FINAL_REASONS = frozenset({JoinFailure.WRONG_PASSWORD, JoinFailure.NOT_FOUND})
# What /getstainfo shows: setting any of these makes its kept answer stale.
_SHOWN = frozenset({"state", "credentials", "reason", "retry_reason", "sta_ip"})


@dataclass(frozen=True)
class Credentials:
    """What a client posted: the router's SSID and password (bytes, as the radio takes
    them) and, from the applet, the UDP port it listens on for the result."""

    ssid: bytes
    password: bytes
    udp_port: int | None = None

    @property
    def from_applet(self) -> bool:
        return self.udp_port is not None


def _text_field(obj: dict[str, object], key: str, limit: int) -> bytes:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{key} is not valid Unicode") from None
    if b"\x00" in raw:
        raise BadRequest(f"{key} holds a NUL character")
    if len(raw) > limit:
        raise BadRequest(f"{key} is longer than {limit} bytes")
    return raw


def _udp_port(tail: str) -> int | None:
    value = form_arg(tail.encode("utf-8"), "udp_port")
    if value is None:
        return None
    text = value.strip().decode("latin-1")
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_PORT:
        raise BadRequest("udp_port must be a port number")
    return int(text)


def parse_credentials(body: bytes) -> Credentials:
    """The credentials in a ``/setstainfo`` body; :class:`BadRequest` when the body is
    not a JSON object, a field has the wrong type or length, or both are empty."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    start = len(text) - len(text.lstrip())
    try:
        obj, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(obj, dict):
        raise BadRequest("the body is not a JSON object")
    ssid = _text_field(obj, "ssid", MAX_SSID)
    password = _text_field(obj, "password", MAX_PASSWORD)
    if not ssid and not password:
        raise BadRequest("both SSID and password are empty")
    return Credentials(ssid, password, _udp_port(text[end:]))


class Provisioning:
    """The provisioning state of one module and the task that connects it.

    :attr:`version` counts the changes of what ``/getstainfo`` shows (every assignment
    to one of its attributes, wherever it is made), so its answer is built once per
    change (:meth:`status_bytes`), not once per request."""

    version = 0
    _status: tuple[int, bool, bytes] | None = None  # version, echo_password, answer

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHOWN:
            super().__setattr__("version", self.version + 1)
        super().__setattr__(name, value)

    def __init__(
        self,
        module: Module,
        config: WebConfig,
        phones: Mapping[str, str],
        single_task: asyncio.Lock | None = None,
    ) -> None:
        self.module = module
        self.config = config  # the server's, for the applet's report (its host and ports)
        self.phones = phones  # the server's HTTP clients → the phone MAC each stands for
        self._single_task = single_task  # held by the hotspot search (--strict-httpd)
        self.timeout = DEFAULT_TIMEOUT
        self.state = ProvState.NOT_START
        self.credentials: Credentials | None = None
        self.reason: str | None = None  # why the last attempt failed (CONNECT_FAIL)
        self.sta_ip: str | None = None  # the station address of a success (CONNECT_OK)
        # While CONNECTING: why the last attempt failed, when retrying will not change it.
        self.retry_reason: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_failure: JoinFailure | None = None

    # ------------------------------------------------------------------ queries
    @property
    def accepting(self) -> bool:
        """Whether new credentials are taken now: when no connection runs, or while one
        retries after a failure that retrying will not change."""
        return self.state in ACCEPTING or (
            self.state is ProvState.CONNECTING and self.retry_reason is not None
        )

    def status_body(self, *, echo_password: bool) -> str:
        """The ``/getstainfo`` answer; the password only in compatibility mode."""
        creds = self.credentials or Credentials(b"", b"")
        password = creds.password if echo_password else b""
        body = (
            f'{{"state":{self.state.code},"sta_ssid":{quoted(creds.ssid)},'
            f'"sta_password":{quoted(password)},"message":"{self.state.message}"'
        )
        if self.state is ProvState.CONNECT_FAIL and self.reason:
            body += f',"reason":"{self.reason}"'
        if self.state is ProvState.CONNECTING and self.retry_reason:
            body += f',"reason":"{self.retry_reason}","retrying":true'
        if self.state is ProvState.CONNECT_OK and self.sta_ip:
            body += f',"sta_ip":"{self.sta_ip}"'
        return body + "}"

    def status_bytes(self, *, echo_password: bool) -> bytes:
        """:meth:`status_body` as bytes, built again only after a change (:attr:`version`)."""
        kept = self._status
        if kept is None or kept[0] != self.version or kept[1] is not echo_password:
            body = self.status_body(echo_password=echo_password).encode()
            kept = self._status = (self.version, echo_password, body)
        return kept[2]

    # ----------------------------------------------------------------- changes
    def accept(self, creds: Credentials) -> None:
        """Take new credentials (the caller has checked :attr:`accepting` and has sent
        its answer) and start connecting after the grace period."""
        self._cancel()
        self.credentials = creds
        self.reason = None
        self.retry_reason = None
        self.sta_ip = None
        self._set_state(ProvState.CONFIG_DONE)
        self._task = self.module.spawn(self._run(creds), name="web-provisioning")

    def page_closed(self) -> None:
        """``/getresult`` while the connection is still being made: the client left."""
        self.module.urc(URC_RESULT_TAKEN)

    def acknowledge(self) -> None:
        """``/getresult`` with the result known: forget everything, start over."""
        self.credentials = None
        self.reason = None
        self._set_state(ProvState.NOT_START)
        self.module.urc(URC_RESULT_TAKEN)

    def reset(self) -> None:
        """The server stops or the module resets: no provisioning survives."""
        self._cancel()
        self.credentials = None
        self.reason = None
        self.retry_reason = None
        self.sta_ip = None
        self.state = ProvState.NOT_START

    def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _set_state(self, state: ProvState) -> None:
        self.state = state
        if state is not ProvState.CONNECTING:
            self.retry_reason = None
        self.module.emit("web.provisioning", state=state.name, reason=self.reason)

    # --------------------------------------------------------------- the flow
    async def _run(self, creds: Credentials) -> None:
        await self.module.clock.sleep(GRACE)
        if creds.ssid or not creds.from_applet:
            await self._connect_direct(creds)
        else:
            await self._connect_phone_hotspot(creds)

    async def _connect_direct(self, creds: Credentials) -> None:
        """Join the named network and wait for an address (browser and applet alike)."""
        wifi = self.module.wifi
        self._last_failure = None
        unsubscribe = self.module.bus.subscribe(self._watch, kinds=("wifi.join_failed",))
        try:
            try:
                wifi.begin_connect(creds.ssid, creds.password)
            except WifiUnavailable:
                self._set_state(ProvState.NOT_START)
                return
            self._set_state(ProvState.CONNECTING)
            self.module.urc(URC_CONNECTING)
            polls = 1
            while True:
                await self.module.clock.sleep(POLL)
                if polls >= self.timeout * 1000 // int(POLL * 1000):
                    break
                info = wifi.station_ip()
                if info is not None:
                    self.sta_ip = info.ip
                    self._set_state(ProvState.CONNECT_OK)
                    return
                polls += 1
                self._retry_if_idle()
            self.reason = self._failure_reason()
            wifi.stop_reconnecting()
            self._set_state(ProvState.CONNECT_FAIL)
        finally:
            unsubscribe()

    def _watch(self, event: Event) -> None:
        if event.kind != "wifi.join_failed":
            return
        code = event.data.get("code")
        if not isinstance(code, int):
            return
        with contextlib.suppress(ValueError):
            self._last_failure = JoinFailure(code)
            if self.state is ProvState.CONNECTING:
                final = self._last_failure in FINAL_REASONS
                self.retry_reason = _REASONS[self._last_failure] if final else None
                if final:
                    self.module.emit("web.provisioning.retrying", reason=self.retry_reason)

    def _retry_if_idle(self) -> None:
        """The firmware forces reconnection while provisioning: an attempt that failed
        is made again until the timeout."""
        sta = self.module.wifi.sta
        if sta.assoc is None and not sta.connecting and self.module.wifi.has_sta:
            sta.start(retry=True)

    def _failure_reason(self) -> str:
        sta = self.module.wifi.sta
        if sta.assoc is not None:
            return "no_ip"
        if self._last_failure is not None:
            return _REASONS[self._last_failure]
        return "timeout"

    async def _connect_phone_hotspot(self, creds: Credentials) -> None:
        """The applet's "local phone hotspot": no SSID, only a password. The module
        drops its link, reports that it is connecting and searches for the phone's
        hotspot (:meth:`search_phone_hotspot`); a success is reported to the applet over
        UDP (:meth:`report_over_udp`), a failure ends in CONNECT_FAIL and URC 2."""
        wifi = self.module.wifi
        stations = wifi.softap_stations()
        phone_mac = stations[-1].mac if stations else None
        wifi.disconnect()
        self._set_state(ProvState.CONNECTING)
        self.module.urc(URC_CONNECTING)
        budget = max(0.0, float(self.timeout - HOTSPOT_RESERVE))
        # the firmware searches in its httpd task: with --strict-httpd no request is
        # answered meanwhile
        async with self._single_task or contextlib.nullcontext():
            found = await self.search_phone_hotspot(phone_mac, creds.password, budget)
        self.credentials = None
        if found is None:
            self.reason = "not_found"
            wifi.stop_reconnecting()
            self._set_state(ProvState.CONNECT_FAIL)
            self.module.urc(URC_RESULT_TAKEN)
            return
        self.sta_ip = found
        self._set_state(ProvState.CONNECT_OK)
        assert creds.udp_port is not None
        if await self.report_over_udp(found, creds.udp_port):
            self.module.urc(URC_RESULT_TAKEN)

    async def search_phone_hotspot(
        self, phone_mac: str | None, password: bytes, budget: float
    ) -> str | None:
        """The applet's hotspot search (MAC matching, virtual MAC, strongest AP; see
        :mod:`.applet`): the station IP on success, ``None`` on failure."""
        from .applet import HotspotSearch

        return await HotspotSearch(self.module, phone_mac, password).run(budget)

    async def report_over_udp(self, station_ip: str, udp_port: int) -> bool:
        """The applet's UDP result report (see :mod:`.applet`); ``True`` once the
        applet confirmed with ``received``."""
        from .applet import report_over_udp

        return await report_over_udp(self.module, self.config, self.phones, station_ip, udp_port)
