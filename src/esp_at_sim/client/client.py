""":class:`AtClient`: the AT conversation of :class:`~.core.AtCore` plus typed commands.

Each method sends one command in the manual's form and parses its answer into a frozen
dataclass from :mod:`.results`. Failures raise :class:`~.errors.AtCommandError`
(:class:`~.errors.JoinError` for AT+CWJAP); answers in an unexpected shape raise
:class:`~.errors.AtParseError`.
"""

from __future__ import annotations

import asyncio
import contextlib

from .connections import Connections
from .errors import AtParseError, AtTimeoutError, ModuleResetError
from .messages import Response
from .results import (
    AccessPoint,
    Addresses,
    ApConnection,
    HeapInfo,
    IpConfig,
    JoinResult,
    RollbackInfo,
    SoftApConfig,
    Station,
    StationStatus,
    UartConfig,
    UserPartition,
    Version,
    WifiMode,
    one_payload,
    parse_cifsr,
    parse_cwjap,
    parse_cwlap,
    parse_cwlif,
    parse_cwsap,
    parse_cwstate,
    parse_ipconfig,
    parse_sysflash,
    parse_sysram,
    parse_sysrollback,
    parse_uart,
    parse_version,
)

READY_TIMEOUT = 10.0  # seconds from AT+RST's OK to "ready" (a real ESP32 needs about 1 s)


def _name(name: str) -> str:
    """``CWMODE``, ``+CWMODE`` or ``AT+CWMODE`` → ``CWMODE``."""
    bare = name.strip()
    if bare.upper().startswith("AT"):
        bare = bare[2:]
    return bare.lstrip("+").rstrip("?")


class AtClient(Connections):
    """An asyncio AT client for an ESP32 running ESP-AT (real or simulated).

    Open one with ``await AtClient.open("/dev/ttyUSB0")`` (or ``tcp:HOST:PORT``, a
    pyserial URL, an in-process module) and close it with :meth:`close` or ``async with``.

    The naming rule: a method is the command's name in lower case. ``x()`` reads: it
    sends the query ``AT+X?``, or the execute form ``AT+X`` when the command has no
    query (``gmr``, ``rst``, ``restore``, ``cwqap``, ``cwlap``, ``cwlif``, ``cifsr``).
    ``set_x(…)`` sends the set form ``AT+X=…`` (``set_cwmode``, ``set_cwjap`` to join,
    ``set_cwlap`` for a filtered scan). ``ATE0``/``ATE1`` is :meth:`set_echo`. Anything
    else goes through :meth:`query` and :meth:`~.core.AtCore.send`. Connections through
    the module (``open_tcp``, ``open_udp``, ``open_ssl``, ``serve``) are
    :class:`~.connections.Connections`.
    """

    # ------------------------------------------------------------------ generic
    async def query(self, name: str, *, timeout: float | None = None) -> list[bytes]:
        """``AT+NAME?``: the payloads of its ``+NAME:`` lines."""
        bare = _name(name)
        response = await self.send(f"AT+{bare}?", timeout=timeout)
        return response.payload(bare)

    async def set_echo(self, on: bool) -> None:
        """ATE1 / ATE0."""
        await self.send("ATE1" if on else "ATE0")

    # ------------------------------------------------------------------- basic
    async def gmr(self) -> Version:
        """AT+GMR: version information."""
        return parse_version((await self.send("AT+GMR")).lines)

    async def rst(self, timeout: float = READY_TIMEOUT) -> None:
        """AT+RST, then wait until the module has printed ``ready``."""
        await self._reset(b"AT+RST", timeout)

    async def restore(self, timeout: float = READY_TIMEOUT) -> None:
        """AT+RESTORE (factory settings; the module restarts), then wait for ``ready``."""
        await self._reset(b"AT+RESTORE", timeout)

    async def _reset(self, line: bytes, timeout: float) -> None:
        async with self._lock:
            ready = self._watch(lambda urc: urc.line == b"ready")
            try:
                with contextlib.suppress(ModuleResetError):  # it reset before its OK came
                    await self._command(line, None, True)
                await asyncio.wait_for(ready, timeout)
            except TimeoutError:
                raise AtTimeoutError(f"no 'ready' within {timeout:g} s after {line!r}") from None
            finally:
                self._unwatch(ready)

    async def sysram(self) -> HeapInfo:
        """AT+SYSRAM?: free and minimum free heap."""
        return parse_sysram(one_payload(await self.query("SYSRAM"), "SYSRAM"))

    async def uart_cur(self) -> UartConfig:
        """AT+UART_CUR?: the current UART configuration."""
        return parse_uart(one_payload(await self.query("UART_CUR"), "UART_CUR"))

    async def sysflash(self) -> list[UserPartition]:
        """AT+SYSFLASH?: the user partitions."""
        return [parse_sysflash(p) for p in await self.query("SYSFLASH")]

    async def sysrollback(self) -> RollbackInfo:
        """AT+SYSROLLBACK?: running and rollback firmware."""
        return parse_sysrollback(one_payload(await self.query("SYSROLLBACK"), "SYSROLLBACK"))

    # ------------------------------------------------------------------- Wi-Fi
    async def cwmode(self) -> WifiMode:
        """AT+CWMODE?: the Wi-Fi mode."""
        payload = one_payload(await self.query("CWMODE"), "CWMODE")
        try:
            return WifiMode(int(payload))
        except ValueError:
            raise AtParseError(f"+CWMODE: not a mode: {payload!r}") from None

    async def set_cwmode(self, mode: WifiMode | int, auto_connect: bool | None = None) -> None:
        """AT+CWMODE=<mode>[,<auto_connect>]."""
        await self.send("AT+CWMODE", int(mode), auto_connect)

    async def set_cwjap(
        self,
        ssid: str | bytes | None,
        password: str | bytes | None,
        bssid: str | None = None,
        *,
        authmode: int | None = None,
        reconn_interval: int | None = None,
        listen_interval: int | None = None,
        scan_mode: int | None = None,
        jap_timeout: int | None = None,
        pmf: int | None = None,
        timeout: float | None = None,
    ) -> JoinResult:
        """AT+CWJAP=…: join an AP. Returns the URCs of the answer; a failure raises
        :class:`~.errors.JoinError` with the ``+CWJAP:<code>`` reason. ``None``
        parameters are left empty (the module keeps or defaults them)."""
        response = await self.send(
            "AT+CWJAP",
            ssid,
            password,
            bssid,
            authmode,
            reconn_interval,
            listen_interval,
            scan_mode,
            jap_timeout,
            pmf,
            timeout=timeout,
        )
        return JoinResult(response.lines)

    async def cwjap(self) -> ApConnection | None:
        """AT+CWJAP?: the AP the station is connected to, ``None`` for ``No AP``."""
        response = await self.send("AT+CWJAP?")
        payloads = response.payload("CWJAP")
        if not payloads:
            return None
        return parse_cwjap(payloads[0])

    async def cwqap(self) -> None:
        """AT+CWQAP: leave the AP."""
        await self.send("AT+CWQAP")

    async def cwlap(self) -> list[AccessPoint]:
        """AT+CWLAP: the APs in range."""
        return [parse_cwlap(p) for p in (await self.send("AT+CWLAP")).payload("CWLAP")]

    async def set_cwlap(
        self, ssid: str | bytes | None = None, mac: str | None = None, channel: int | None = None
    ) -> list[AccessPoint]:
        """AT+CWLAP=<ssid>[,<mac>,<channel>]: the APs in range that match."""
        response = await self.send("AT+CWLAP", ssid, mac, channel)
        return [parse_cwlap(p) for p in response.payload("CWLAP")]

    async def cwstate(self) -> StationStatus:
        """AT+CWSTATE?: the station's state."""
        return parse_cwstate(one_payload(await self.query("CWSTATE"), "CWSTATE"))

    async def cwsap(self) -> SoftApConfig:
        """AT+CWSAP?: the SoftAP configuration."""
        return parse_cwsap(one_payload(await self.query("CWSAP"), "CWSAP"))

    async def set_cwsap(
        self,
        ssid: str | bytes,
        password: str | bytes,
        channel: int,
        ecn: int,
        max_conn: int | None = None,
        hidden: bool | None = None,
    ) -> None:
        """AT+CWSAP=<ssid>,<pwd>,<chl>,<ecn>[,<max conn>][,<ssid hidden>]."""
        await self.send("AT+CWSAP", ssid, password, channel, ecn, max_conn, hidden)

    async def cwlif(self) -> list[Station]:
        """AT+CWLIF: the stations on the SoftAP."""
        return [parse_cwlif(p) for p in (await self.send("AT+CWLIF")).payload("CWLIF")]

    async def cifsr(self) -> Addresses:
        """AT+CIFSR: the local IP and MAC addresses."""
        return parse_cifsr((await self.send("AT+CIFSR")).payload("CIFSR"))

    async def cipsta(self) -> IpConfig:
        """AT+CIPSTA?: the station's address."""
        return parse_ipconfig(await self.query("CIPSTA"), "CIPSTA")

    async def cipap(self) -> IpConfig:
        """AT+CIPAP?: the SoftAP's address."""
        return parse_ipconfig(await self.query("CIPAP"), "CIPAP")

    # ------------------------------------------------------------------ TCP/IP
    async def cipmux(self) -> bool:
        """AT+CIPMUX?: whether multiple connections are on."""
        return one_payload(await self.query("CIPMUX"), "CIPMUX").strip() == b"1"

    async def set_cipmux(self, multiple: bool) -> None:
        """AT+CIPMUX=<mode>."""
        await self.send("AT+CIPMUX", multiple)

    # -------------------------------------------------------------- web server
    async def set_webserver(
        self, enable: bool, port: int = 80, connection_timeout: int = 25
    ) -> Response:
        """AT+WEBSERVER=1,<port>,<timeout> to start the web server, AT+WEBSERVER=0 to
        stop it."""
        if enable:
            return await self.send("AT+WEBSERVER", 1, port, connection_timeout)
        return await self.send("AT+WEBSERVER", 0)
