"""The host side of the AT protocol without any I/O: building command lines, cutting the
received byte stream into lines, prompts and ``+IPD`` payloads, and telling unsolicited
reports (URCs) from answers.

Everything here is plain functions and one small state machine (:class:`Framer`), so it
can be fed a byte at a time in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Param = str | bytes | int | None

# Final result words that end an answer, as the module prints them.
FINALS: frozenset[bytes] = frozenset({b"OK", b"ERROR", b"SEND OK", b"SEND FAIL", b"SET OK"})
FAILURES: frozenset[str] = frozenset({"ERROR", "SEND FAIL"})
PROMPT = ">"  # the pseudo final result of an answer that ends at a data prompt
ERR_CODE = b"ERR CODE:"

# Station URCs that AT+CWJAP's answer includes (host drivers read them as its answer).
WIFI_URCS: frozenset[bytes] = frozenset(
    {
        b"WIFI CONNECTED",
        b"WIFI GOT IP",
        b"WIFI DISCONNECT",
        b"WIFI GOT IPv6 LL",
        b"WIFI GOT IPv6 GL",
    }
)
_URC_WORDS = WIFI_URCS | {
    b"ready",
    b"+TIME_UPDATED",
    b"+ETH_CONNECTED",
    b"+ETH_GOT_IP",
    b"+ETH_DISCONNECTED",
    b"+QUITT",
    b"+MQTTCONNECTED",
    b"+MQTTDISCONNECTED",
    b"+BLESCANDONE",
    b"+BLE_TT_MODE",
    b"Will force to restart!!!",
    b"Smart get wifi info",
    b"smartconfig connected wifi",
    b"NO CERT FOUND",
    b"NO PRVT_KEY FOUND",
    b"NO CA FOUND",
    b"SEND Canceled",
}
_URC_PREFIXES: tuple[bytes, ...] = (
    b"+STA_CONNECTED:",
    b"+DIST_STA_IP:",
    b"+STA_DISCONNECTED:",
    b"+WEBSERVERRSP:",
    b"+IPD,",
    b"+LINK_CONN:",
    b"+ERRNO:",
    b"+MQTTSUBRECV:",
    b"+MQTTPUB:",
    b"+MQTTCONNECTED:",
    b"+MQTTDISCONNECTED:",
    b"+BLECONN:",
    b"+BLEDISCONN:",
    b"+WS_",
    b"+SCRD:",
    b"smartconfig type:",
)
_LINK_URC = re.compile(rb"(?:\d+,)?(?:CONNECT|CLOSED|CONNECT FAIL)")
_MAX_PARTIAL = 64 * 1024  # a "line" this long without LF is handed over anyway


def is_urc(line: bytes) -> bool:
    """Whether ``line`` (without CR LF) is one of the firmware's unsolicited reports."""
    if line in _URC_WORDS or line.startswith(_URC_PREFIXES):
        return True
    if line.startswith(b"Have ") and line.endswith(b" Connections"):
        return True
    return _LINK_URC.fullmatch(line) is not None


def is_busy(line: bytes) -> bool:
    """``busy p...`` (and the ESP8266's ``busy s...``): the input was dropped."""
    return line.startswith(b"busy ")


def parse_err_code(line: bytes) -> int | None:
    """The number of an ``ERR CODE:0x…`` line, or ``None`` for another line."""
    if not line.startswith(ERR_CODE):
        return None
    text = line[len(ERR_CODE) :].strip()
    try:
        return int(text, 16) if text[:2].lower() == b"0x" else int(text)
    except ValueError:
        return None


# ------------------------------------------------------------------ command lines
def escape(value: str | bytes) -> bytes:
    """A string parameter in double quotes, with ``\\`` ``"`` and ``,`` escaped by a
    backslash, as the AT manual's escaping rules require (str is sent as UTF-8)."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    body = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b",", b"\\,")
    return b'"' + body + b'"'


def format_param(value: Param) -> bytes:
    """One parameter: strings quoted and escaped, integers in decimal, ``None`` empty."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str | bytes | bytearray):
        return escape(value)
    raise TypeError(f"an AT parameter must be str, bytes, int or None, not {type(value).__name__}")


def build_command(command: str | bytes, *params: Param) -> bytes:
    """The line (without CR LF) for ``command`` with ``params``.

    ``command`` is written as the manual writes it (``AT+CWJAP``, ``AT+CWMODE?``); a leading
    ``+`` gets ``AT`` in front. With parameters the set form ``AT+X=a,b`` is built;
    ``None`` leaves a parameter empty and trailing ``None`` are dropped. A line feed
    cannot travel inside an AT line, so it raises :class:`ValueError`.
    """
    head = command.encode() if isinstance(command, str) else bytes(command)
    if head.startswith(b"+"):
        head = b"AT" + head
    values = list(params)
    while values and values[-1] is None:
        values.pop()
    line = head + b"=" + b",".join(format_param(v) for v in values) if values else head
    if b"\n" in line:
        raise ValueError("an AT command line cannot contain a line feed")
    return line


def command_name(line: bytes) -> bytes:
    """The command of a line, upper case and without its form: ``AT+CWJAP``."""
    end = len(line)
    for mark in (b"=", b"?"):
        index = line.find(mark)
        if 0 <= index < end:
            end = index
    return line[:end].strip().upper()


def split_fields(text: bytes) -> list[bytes]:
    """Split parameters at commas outside double quotes (a backslash escapes the next
    byte inside quotes). Quotes and escapes are kept."""
    fields: list[bytes] = []
    start, i, quoted = 0, 0, False
    while i < len(text):
        c = text[i : i + 1]
        if quoted and c == b"\\":
            i += 2
            continue
        if c == b'"':
            quoted = not quoted
        elif c == b"," and not quoted:
            fields.append(text[start:i])
            start = i + 1
        i += 1
    fields.append(text[start:])
    return fields


# ------------------------------------------------------------------------ framing
@dataclass(frozen=True)
class Line:
    """One received line, without its CR LF."""

    data: bytes


@dataclass(frozen=True)
class Prompt:
    """The ``>`` prompt: the module waits for raw data."""


@dataclass(frozen=True)
class IpdData:
    """An ``+IPD,…:<data>`` report with its payload (which may hold CR LF)."""

    header: bytes  # "+IPD,0,5" (everything before the colon)
    data: bytes


Item = Line | Prompt | IpdData
RECVDATA = b"+CIPRECVDATA:"


class _NotRecvdata:
    """Framer._recvdata's answer when the buffer holds no ``+CIPRECVDATA`` header."""


_NOT_RECVDATA = _NotRecvdata()
# "<ip>",<port>, of AT+CIPDINFO=1 (IPv6 included), and what may still grow into one
_ADDRESS = re.compile(rb'"[0-9A-Fa-f.:]{1,45}",[0-9]{1,5},')
_ADDRESS_START = re.compile(rb'"[0-9A-Fa-f.:]{0,45}(?:"(?:,[0-9]{0,5})?)?')


def ipd_length(header: bytes) -> int | None:
    """The payload length an ``+IPD`` header announces, or ``None`` if it is not one."""
    fields = header[len(b"+IPD,") :].split(b",")
    index = 1 if len(fields) in (2, 4) else 0
    if index >= len(fields) or not fields[index].isdigit():
        return None
    return int(fields[index])


class Framer:
    """Cuts received bytes into :class:`Line`, :class:`Prompt` and :class:`IpdData`.

    Lines end at LF (a CR before it is dropped). While :attr:`expect_prompt` is set, a
    partial line that is just ``>`` (or ``> ``) when the input pauses is a prompt.
    ``+IPD,<…>,<len>:`` takes exactly ``len`` bytes of payload, line ends included, and
    so does ``+CIPRECVDATA:<len>,`` (handed over as one :class:`Line`).
    """

    def __init__(self) -> None:
        self.expect_prompt = False
        self._buf = bytearray()
        self._ipd: tuple[bytes, int] | None = None

    def feed(self, data: bytes) -> list[Item]:
        """Take bytes; return the items completed by them, in order."""
        self._buf += data
        items: list[Item] = []
        while True:
            item = self._next()
            if item is None:
                break
            items.append(item)
        if self.expect_prompt and bytes(self._buf).rstrip(b" ") == b">":
            self._buf.clear()
            items.append(Prompt())
        return items

    def _next(self) -> Item | None:
        buf = self._buf
        if self._ipd is not None:
            header, size = self._ipd
            if len(buf) < size:
                return None
            self._ipd = None
            data = bytes(buf[:size])
            del buf[:size]
            return IpdData(header, data)
        if buf.startswith(RECVDATA):
            report = self._recvdata()
            if not isinstance(report, _NotRecvdata):
                return report  # None: its data is still arriving (it may hold line ends)
        if buf.startswith(b"+IPD,"):
            colon, newline = buf.find(b":"), buf.find(b"\n")
            if colon >= 0 and (newline < 0 or colon < newline):
                announced = ipd_length(bytes(buf[:colon]))
                if announced is not None:
                    self._ipd = (bytes(buf[:colon]), announced)
                    del buf[: colon + 1]
                    return self._next()
        newline = buf.find(b"\n")
        if newline < 0:
            if len(buf) < _MAX_PARTIAL:
                return None
            newline = len(buf) - 1
        line = bytes(buf[:newline])
        del buf[: newline + 1]
        return Line(line[:-1] if line.endswith(b"\r") else line)

    def _recvdata(self) -> Line | _NotRecvdata | None:
        """``+CIPRECVDATA:<len>,["<ip>",<port>,]<data>`` as one line holding exactly
        ``len`` bytes of data (CR LF included); ``None`` while it is incomplete,
        :data:`_NOT_RECVDATA` when the buffer holds no such header (framed as a line).
        A quote after the length starts the remote's address only while what follows
        can be one: data that begins with a quote (AT+CIPDINFO=0) is data."""
        buf = self._buf
        comma = buf.find(b",", len(RECVDATA))
        if comma < 0 or not buf[len(RECVDATA) : comma].isdigit():
            return _NOT_RECVDATA
        size = int(buf[len(RECVDATA) : comma])
        start = comma + 1
        if len(buf) == start:
            return None  # a remote's address may follow (the final result follows anyway)
        if buf[start : start + 1] == b'"':  # AT+CIPDINFO=1: "<ip>",<port>,
            address = _ADDRESS.match(buf, start)
            if address is not None:
                start = address.end()
            elif _ADDRESS_START.fullmatch(buf, start):
                return None  # an address so far: wait for the rest
            # else data that begins with a quote (AT+CIPDINFO=0)
        if len(buf) < start + size:
            return None
        line = bytes(buf[: start + size])
        del buf[: start + size]
        return Line(line)


# ----------------------------------------------------------------------- timeouts
JAP_TIMEOUT = 15  # AT+CWJAP's default <jap_timeout>, seconds
JAP_MARGIN = 5.0  # on top of <jap_timeout>: scanning, DHCP and the answer itself
SLOW_COMMANDS: dict[bytes, float] = {
    b"AT+CWLAP": 15.0,
    b"AT+CIPSTART": 20.0,
    b"AT+CIPDOMAIN": 15.0,
    b"AT+PING": 15.0,
    b"AT+CWQAP": 10.0,
}


def default_timeout(line: bytes, fallback: float, margin: float = JAP_MARGIN) -> float:
    """How long to wait for the final result of ``line``: AT+CWJAP its ``<jap_timeout>``
    (8th parameter, 15 s when omitted) plus ``margin``; AT+CWLAP and other slow commands
    their own; anything else ``fallback``."""
    name = command_name(line)
    if name == b"AT+CWJAP" and not line[len(name) :].startswith(b"?"):
        jap = JAP_TIMEOUT
        if line[len(name) :].startswith(b"="):
            fields = split_fields(line[len(name) + 1 :])
            if len(fields) > 7 and fields[7].strip().isdigit():
                jap = int(fields[7])
        return max(fallback, jap + margin)
    return max(fallback, SLOW_COMMANDS.get(name, 0.0))
