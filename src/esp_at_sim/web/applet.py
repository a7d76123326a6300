"""The retired WeChat applet's "local phone hotspot" mode, on the module's side.

The applet runs on a phone that sits on the module's SoftAP. It posts ``/setstainfo``
with an empty SSID, the password of the phone's own hotspot and ``udp_port``, then the
user turns the hotspot on. :class:`~.provisioning.Provisioning` owns the states and the
URCs of that flow and calls the two pieces here:

**The search** (:class:`HotspotSearch`). The module has no SSID, only the MAC address of
the phone (the station that joined its SoftAP last), so it scans, and scans again while
``connection_timeout − 10`` s last. Only APs with an SSID, an auth mode from WPA_PSK (2) to
WPA2_ENTERPRISE (5) and an RSSI of at least −50 dBm count, strongest first; a scan that
finds none of those (or nothing at all) ends the search at once, as in the firmware,
which gives up instead of scanning again: a hotspot turned on after that scan is not
found. A scan that finds usable APs but none the rules pick is followed by another. Every scan
tries the first AP whose BSSID equals the phone's MAC in at least 5 of 6 byte positions
(phones derive the hotspot's BSSID from their own MAC); the last scan (≤ 10 s left) then
tries an AP with bit 0x02 set in the *second* byte of its BSSID — the firmware means the
"locally administered" flag, which lives in the first byte, but tests the second, and
so do we — and then the strongest AP of the scan. Each try joins that BSSID and waits up
to 8 s for an address, checked every 500 ms while the station is kept reconnecting. A
scan makes at most ``remaining // 8 s`` tries; a BSSID that failed is never tried again,
and the strongest AP counts as tried when it failed in an earlier scan (the firmware looks
at the head of the list only). The search ends when fewer than 8 s are left.

**The report** (:func:`report_over_udp`). After a success the module sends
``ip=<station ip>&port=3339`` from its UDP port 3339 to the broadcast address and to
the gateway (the phone), on ``udp_port``, then waits 500 ms for a datagram; twenty
rounds at most. The datagram ``received`` ends it (the provisioning then prints
``+WEBSERVERRSP:2``); any other datagram only ends that round's wait early, as in the
firmware, which reads whatever arrives first.

**Loopback.** The simulated networks do not exist on the host, so the datagrams go where
a client on the host can get them:

- the module's UDP port 3339 is host port ``WebConfig.host_port(3339)`` (3339 unless
  ``--port-map 3339=N`` says otherwise; 0 picks a free port) on ``WebConfig.host``;
- both datagrams of a round, the broadcast one and the one for the gateway, go to the
  host address of the HTTP client that is the phone (the client whose requests made that
  phone join the SoftAP), on ``udp_port``; without one, to ``WebConfig.host`` (127.0.0.1
  when the server listens on every address);
- so a client listening on ``udp_port`` gets two datagrams per round, as a phone gets
  the broadcast and the unicast copy, and its ``received``, sent back to the source of
  a datagram, reaches the module. The event log names the simulated addresses.

Everything the flow does is a ``web.applet`` event (never the password); all waiting is
on the module's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..device.wifi import Wifi, WifiUnavailable
from ..radio.base import AuthMode, ScanResult

if TYPE_CHECKING:
    from ..core.clock import Clock
    from ..device.module import Module
    from .config import WebConfig

log = logging.getLogger(__name__)

EVENT = "web.applet"
TRY_TIMEOUT = 8.0  # seconds one try waits for an address
TRY_POLL = 0.5  # seconds between two looks at the station address during a try
LAST_SCAN = 10.0  # a scan that starts with this many seconds left (or fewer) is the last
MIN_RSSI = -50  # dBm
MIN_MAC_MATCH = 5  # byte positions a BSSID must share with the phone's MAC
USABLE_AUTH = frozenset(
    {AuthMode.WPA_PSK, AuthMode.WPA2_PSK, AuthMode.WPA_WPA2_PSK, AuthMode.WPA2_ENTERPRISE}
)
REPORT_PORT = 3339  # the module's UDP port, also named in the report
REPORT_ROUNDS = 20
REPORT_INTERVAL = 0.5  # seconds a round waits for the acknowledgement
ACK = b"received"
ACK_READ = 31  # the firmware reads at most this many bytes of a reply, as a C string
BROADCAST = "255.255.255.255"


# ---------------------------------------------------------------- the rules
def _octets(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def matching_bytes(mac_a: str, mac_b: str) -> int:
    """In how many of the six byte positions two MAC addresses agree."""
    return sum(a == b for a, b in zip(_octets(mac_a), _octets(mac_b), strict=True))


def virtual_bssid(bssid: str) -> bool:
    """The firmware's "virtual MAC" test, quirk included: bit 0x02 of the second byte."""
    return bool(_octets(bssid)[1] & 0x02)


def usable(ap: ScanResult) -> bool:
    """Whether the search considers ``ap`` at all: an SSID, WPA_PSK..WPA2_ENTERPRISE and
    at least −50 dBm."""
    return bool(ap.ssid) and ap.auth in USABLE_AUTH and ap.rssi >= MIN_RSSI


def is_ack(datagram: bytes) -> bool:
    """Whether a reply is the acknowledgement, read the way the firmware reads it."""
    return datagram[:ACK_READ].split(b"\0", 1)[0] == ACK


# --------------------------------------------------------------- the search
class HotspotSearch:
    """One search for the phone's hotspot; :meth:`run` gives the station address."""

    def __init__(self, module: Module, phone_mac: str | None, password: bytes) -> None:
        self.module = module
        self.phone_mac = phone_mac
        self.password = password
        self.failed: set[str] = set()  # BSSIDs tried in vain

    @property
    def wifi(self) -> Wifi:
        return self.module.wifi

    async def run(self, budget: float) -> str | None:
        """Scan and try until the budget (simulated seconds) is spent; the station IP on
        success, ``None`` when nothing worked or the station interface went away."""
        clock = self.module.clock
        remaining = budget
        self._emit("search", phone=self.phone_mac, budget=budget)
        while remaining >= TRY_TIMEOUT:
            started = clock.now()
            try:
                found = await self._scan_and_try(int(remaining // TRY_TIMEOUT), remaining)
            except WifiUnavailable as exc:  # the mode changed under the search
                self._emit("stopped", reason=str(exc))
                return None
            if found is None:  # the scan found no usable AP: the firmware gives up
                self._emit("no_usable_ap")
                break
            if found:
                return found
            spent = clock.now() - started
            if spent <= 0:  # a radio whose scans take no time would loop forever
                break
            remaining -= spent
        self._emit("not_found", tried=sorted(self.failed))
        return None

    async def _scan_and_try(self, tries: int, remaining: float) -> str | None:
        """One scan and its tries: the station IP, ``""`` when no try worked, ``None``
        when the scan found no usable AP at all."""
        last = remaining <= LAST_SCAN
        aps = [ap for ap in await self.wifi.scan() if usable(ap)]
        self._emit("scan", last=last, tries=tries, candidates=[ap.bssid for ap in aps])
        if not aps:
            return None
        rules = [("mac", self._mac_match)]
        if last:
            rules += [("virtual", self._virtual), ("strongest", self._strongest)]
        for rule, pick in rules:
            if tries == 0:
                break
            ap = pick(aps)
            if ap is None:
                continue
            tries -= 1
            found = await self._try(ap, rule)
            if found is not None:
                return found
            self.failed.add(ap.bssid)
            aps.remove(ap)
        return ""

    def _first(self, aps: list[ScanResult], test: Callable[[str], bool]) -> ScanResult | None:
        """The strongest AP whose BSSID passes ``test`` and has not failed yet."""
        return next((ap for ap in aps if test(ap.bssid) and ap.bssid not in self.failed), None)

    def _mac_match(self, aps: list[ScanResult]) -> ScanResult | None:
        phone = self.phone_mac
        if phone is None:
            return None
        return self._first(aps, lambda bssid: matching_bytes(bssid, phone) >= MIN_MAC_MATCH)

    def _virtual(self, aps: list[ScanResult]) -> ScanResult | None:
        return self._first(aps, virtual_bssid)

    def _strongest(self, aps: list[ScanResult]) -> ScanResult | None:
        if not aps or aps[0].bssid in self.failed:
            return None
        return aps[0]

    async def _try(self, ap: ScanResult, rule: str) -> str | None:
        """Join ``ap`` by BSSID and wait up to 8 s for an address."""
        ssid = ap.ssid.decode("utf-8", "replace")
        self._emit("try", rule=rule, ssid=ssid, bssid=ap.bssid, rssi=ap.rssi)
        wifi = self.wifi
        wifi.begin_connect(ap.ssid, self.password, ap.bssid)
        for _ in range(round(TRY_TIMEOUT / TRY_POLL)):
            await self.module.clock.sleep(TRY_POLL)
            info = wifi.station_ip()
            if info is not None:
                self._emit("joined", bssid=ap.bssid, ip=info.ip, gateway=info.gateway)
                return info.ip
            sta = wifi.sta
            if sta.assoc is None and not sta.connecting and wifi.has_sta:
                sta.start(retry=True)  # the firmware forces reconnection while it tries
        wifi.stop_reconnecting()
        self._emit("try_failed", bssid=ap.bssid)
        return None

    def _emit(self, step: str, **data: Any) -> None:
        self.module.emit(EVENT, step=step, **data)


# --------------------------------------------------------------- the report
class _Inbox(asyncio.DatagramProtocol):
    """Collects what arrives on the module's report port."""

    def __init__(self) -> None:
        self.datagrams: deque[bytes] = deque()
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)
        self.arrived.set()

    def error_received(self, exc: Exception) -> None:
        """An ICMP "port unreachable" for a datagram nobody listened to: the firmware
        does not notice those either."""


async def _next_datagram(inbox: _Inbox, clock: Clock) -> bytes | None:
    """The next datagram, waiting up to one interval for it."""
    if not inbox.datagrams:
        inbox.arrived.clear()
        waiter = asyncio.ensure_future(inbox.arrived.wait())
        try:
            await clock.wait_for(waiter, REPORT_INTERVAL)
        finally:
            waiter.cancel()
    return inbox.datagrams.popleft() if inbox.datagrams else None


def phone_address(host: str, stations: Sequence[str], phones: Mapping[str, str]) -> str:
    """The host address that stands for the phone (the station that joined the SoftAP
    last, of the MACs ``stations``): the HTTP client it came from (``phones``: client
    address → phone MAC), else ``host``, the server's own address."""
    if stations:
        for client, mac in phones.items():
            if mac == stations[-1]:
                return client
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        if address.is_unspecified:
            return "::1" if address.version == 6 else "127.0.0.1"
    return host


async def report_over_udp(
    module: Module,
    config: WebConfig,
    phones: Mapping[str, str],
    station_ip: str,
    udp_port: int,
) -> bool:
    """Tell the applet the module's new address; ``True`` once it acknowledged. ``config``
    is the web server's (host and port map), ``phones`` its HTTP clients' phone MACs."""
    local = (config.host, config.host_port(REPORT_PORT))
    stations = [station.mac for station in module.wifi.softap_stations()]
    target = (phone_address(config.host, stations, phones), udp_port)
    info = module.wifi.station_ip()
    gateway = info.gateway if info is not None else "0.0.0.0"
    message = f"ip={station_ip}&port={REPORT_PORT}".encode()
    inbox = _Inbox()
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: inbox, local_addr=local)
    except OSError as exc:
        log.warning("applet report: cannot use UDP %s port %d: %s", local[0], local[1], exc)
        module.emit(EVENT, step="report_failed", error=str(exc))
        return False
    try:
        source = transport.get_extra_info("sockname")
        for number in range(1, REPORT_ROUNDS + 1):
            for _copy in (BROADCAST, gateway):
                with contextlib.suppress(OSError, ValueError):
                    transport.sendto(message, target)
            module.emit(
                EVENT,
                step="report",
                round=number,
                to=[f"{BROADCAST}:{udp_port}", f"{gateway}:{udp_port}"],
                host=f"{target[0]}:{udp_port}",
                source=f"{source[0]}:{source[1]}",
            )
            reply = await _next_datagram(inbox, module.clock)
            if reply is not None and is_ack(reply):
                module.emit(EVENT, step="acknowledged", round=number)
                return True
        module.emit(EVENT, step="unacknowledged", rounds=REPORT_ROUNDS)
        return False
    finally:
        transport.close()
