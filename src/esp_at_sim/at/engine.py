"""The AT port as a sans-IO state machine (bytes in, events and bytes out).

Shape, after h11: feed received bytes with :meth:`AtEngine.receive_data`, take complete
command lines with :meth:`AtEngine.next_event`, answer with :meth:`reply` and
:meth:`finish` (or :meth:`fail`), and collect what to transmit with
:meth:`data_to_send`. There is no socket, no clock and no asyncio here.

Framing follows the firmware:

- A line ends at LF and must end in CR LF; a line ending in a bare LF is answered
  ``ERROR`` (no terminator). A lone CR is an ordinary byte of the line.
- A line may be at most ``max_line`` bytes including its CR LF; a longer one is discarded
  up to its LF and answered ``ERROR``.
- With echo on, a line is echoed (as received, CR LF included) when it is taken up.
- Lines that arrive while a command is executing in the background are answered
  ``busy p...`` at once and dropped (after ``ERR CODE:0x010b0000`` with AT+SYSLOG=1),
  except one holding ``AT+RST``: the firmware answers that with ``Will force to
  restart!!!`` and resets (a :class:`ForceRestart` event).
- A URC (unsolicited result) goes out at once, except inside a response: once a command
  has printed part of its answer, or while a command runs without yielding, URCs wait
  and follow the final result.
- Every system message (an information line, a final result, a URC, a prompt, ``busy
  p...``; not the echo) passes through :attr:`AtEngine.message_filter` when one is set,
  one message at a time (AT+SYSMSGFILTER).
- In stream mode (passthrough, AT+CIPSENDL) every chunk of bytes received is handed out
  as it is, one :class:`StreamData` per :meth:`receive_data` call, without echo or line
  framing, until :meth:`end_stream` (or, with a limit, once that many bytes have come);
  URCs wait until it ends (passthrough drops them: its port carries data only).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .errors import AtError, Sub

CRLF = b"\r\n"
MSG_READY = b"\r\nready\r\n"
MSG_BUSY = b"\r\nbusy p...\r\n"
MSG_FORCE_RESTART = b"\r\nWill force to restart!!!\r\n"
RST_LINE = b"AT+RST\r\n"
DEFAULT_MAX_LINE = 256
# Bytes of complete lines held for execution (the firmware's receive buffer); a line that
# arrives when they are full is answered busy p... instead of being held.
MAX_PENDING_BYTES = 16 * 1024


class Mode(enum.Enum):
    IDLE = "idle"  # waiting for a command line
    RUNNING = "running"  # a command is being handled and has not yielded yet
    BACKGROUND = "background"  # a command is waiting on the world (input gets busy p...)
    DATA = "data"  # collecting a fixed number of raw bytes after a ``>`` prompt
    STREAM = "stream"  # handing raw bytes out as they come (passthrough, AT+CIPSENDL)


@dataclass(frozen=True)
class CommandLine:
    """A complete line, without its CR LF, to be parsed and executed."""

    line: bytes


@dataclass(frozen=True)
class BadLine:
    """A line that framing already rejects; answer it with :meth:`AtEngine.fail`."""

    line: bytes
    error: AtError


@dataclass(frozen=True)
class DataReceived:
    """The raw bytes announced by :meth:`AtEngine.expect_data`."""

    data: bytes


@dataclass(frozen=True)
class ForceRestart:
    """``AT+RST`` arrived while a command was busy: reset the chip now."""


@dataclass(frozen=True)
class StreamData:
    """Raw bytes received in stream mode (:meth:`AtEngine.stream`), as they came."""

    data: bytes


Event = CommandLine | BadLine | DataReceived | ForceRestart | StreamData


class AtEngine:
    """Framing, echo, busy handling and URC ordering for one AT port."""

    __slots__ = (
        "_data",
        "_data_escaped",
        "_data_escapes",
        "_data_needed",
        "_force_restart",
        "_in_response",
        "_mode",
        "_out",
        "_overflow",
        "_partial",
        "_pending",
        "_pending_bytes",
        "_quiet",
        "_stream",
        "_stream_left",
        "_urcs",
        "echo",
        "max_line",
        "message_filter",
        "syslog",
    )

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self.echo = True
        self.syslog = False
        self._mode = Mode.IDLE
        self._partial = bytearray()
        self._overflow = False
        # The queues below are made when first needed (most modules never queue).
        self._pending: deque[bytes | None] | None = None  # None in it: an over-long line
        self._pending_bytes = 0
        self._out = bytearray()
        self._urcs: deque[bytes] | None = None
        self._in_response = False
        self._data_needed = 0
        self._data = bytearray()
        self._data_escapes = False  # AT+CIPSENDEX: backslash escapes, \0 ends the data
        self._data_escaped = False
        # What the MCU gets of each system message (AT+SYSMSGFILTER); kept across reset.
        self.message_filter: Callable[[bytes], bytes] | None = None
        self._force_restart = False
        self._stream: deque[bytes] | None = None
        self._stream_left: int | None = None
        self._quiet = False

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def idle(self) -> bool:
        return self._mode is Mode.IDLE

    def reset(self) -> None:
        """Forget all input and queued output, as a reboot does (echo back on)."""
        self.echo = True
        self.syslog = False
        self._mode = Mode.IDLE
        self._partial.clear()
        self._overflow = False
        self._pending = None
        self._pending_bytes = 0
        self._urcs = None
        self._in_response = False
        self._data_needed = 0
        self._data.clear()
        self._data_escapes = False
        self._data_escaped = False
        self._force_restart = False
        self._stream = None
        self._stream_left = None
        self._quiet = False

    # ------------------------------------------------------------------ input
    def receive_data(self, data: bytes) -> None:
        """Take bytes from the port. Complete lines become events (or busy answers)."""
        if not data:
            return
        if (
            self._mode is not Mode.DATA
            and self._mode is not Mode.STREAM
            and not self._partial
            and not self._overflow
            and len(data) <= self.max_line
            and data.find(b"\n") == len(data) - 1
        ):
            self._queue_line(bytes(data))  # the usual case: exactly one whole line
            return
        view = memoryview(data)
        while view:
            if self._mode is Mode.STREAM:
                view = self._take_stream(view)
                continue
            if self._mode is Mode.DATA:
                if len(self._data) >= self._data_needed:
                    self._send(MSG_BUSY)  # bytes beyond the announced length are dropped
                    return
                if self._data_escapes:
                    view = self._take_escaped(view)
                    continue
                take = min(self._data_needed - len(self._data), len(view))
                self._data += view[:take]
                view = view[take:]
                continue
            nl = bytes(view).find(b"\n")
            if nl < 0:
                self._add_partial(view)
                return
            self._add_partial(view[: nl + 1])
            view = view[nl + 1 :]
            self._line_complete()

    def _take_stream(self, view: memoryview) -> memoryview:
        left = self._stream_left
        take = len(view) if left is None else min(left, len(view))
        if take:
            if self._stream is None:
                self._stream = deque()
            self._stream.append(bytes(view[:take]))
        if left is not None:
            self._stream_left = left - take
            if self._stream_left == 0:
                self._stream_left = None
                self._mode = Mode.RUNNING
                if len(view) > take:
                    self._send(MSG_BUSY)  # bytes beyond the announced length are dropped
                return view[len(view) :]
        return view[take:]

    def _take_escaped(self, view: memoryview) -> memoryview:
        """Data with escapes: ``\\x`` gives ``x``, ``\\0`` ends the data early."""
        for index, byte in enumerate(view):
            if len(self._data) >= self._data_needed:
                return view[index:]
            if self._data_escaped:
                self._data_escaped = False
                if byte == 0x30:  # "0"
                    self._data_needed = len(self._data)
                    return view[index + 1 :]
                self._data.append(byte)
            elif byte == 0x5C:
                self._data_escaped = True
            else:
                self._data.append(byte)
        return view[len(view) :]

    def _add_partial(self, chunk: memoryview) -> None:
        if self._overflow:
            return
        self._partial += chunk
        if len(self._partial) > self.max_line:
            self._overflow = True
            self._partial.clear()

    def _line_complete(self) -> None:
        line: bytes | None = None if self._overflow else bytes(self._partial)
        self._overflow = False
        self._partial.clear()
        self._queue_line(line)

    def _queue_line(self, line: bytes | None) -> None:
        size = len(line) if line is not None else 1
        if self._mode is Mode.BACKGROUND and line is not None and RST_LINE in line:
            self._send(MSG_FORCE_RESTART)
            self._force_restart = True
            return
        if self._mode is Mode.BACKGROUND or self._pending_bytes + size > MAX_PENDING_BYTES:
            self._busy()
            return
        if self._pending is None:
            self._pending = deque()
        self._pending.append(line)
        self._pending_bytes += size

    def next_event(self) -> Event | None:
        """The next thing to act on, or ``None``. A command line is only handed out when
        the previous command has finished; after that the engine is RUNNING. A
        :class:`ForceRestart` comes first, whatever the mode."""
        if self._force_restart:
            self._force_restart = False
            return ForceRestart()
        if self._stream:
            return StreamData(self._stream.popleft())
        if self._mode is Mode.DATA:
            if len(self._data) < self._data_needed:
                return None
            data = bytes(self._data)
            self._data.clear()
            self._data_needed = 0
            self._data_escapes = False
            self._mode = Mode.RUNNING
            return DataReceived(data)
        pending = self._pending
        if self._mode is not Mode.IDLE or not pending:
            return None
        raw = pending.popleft()
        self._pending_bytes -= len(raw) if raw is not None else 1
        self._mode = Mode.RUNNING
        self._in_response = False
        if raw is None:  # over-long line, discarded
            return BadLine(b"", AtError(Sub.PARA_LENGTH_MISMATCH, reason="line too long"))
        if self.echo:
            self._out += raw
        if not raw.endswith(CRLF):
            return BadLine(raw[:-1], AtError(Sub.NO_TERMINATOR, reason="line not ended by CR LF"))
        return CommandLine(raw[:-2])

    # ----------------------------------------------------------------- output
    def background(self) -> None:
        """The running command now waits on the world: lines already queued and any that
        arrive until :meth:`finish` are answered ``busy p...``."""
        if self._mode is not Mode.RUNNING:
            return
        self._mode = Mode.BACKGROUND
        while self._pending:
            line = self._pending.popleft()
            if line is not None and RST_LINE in line:
                self._send(MSG_FORCE_RESTART)
                self._force_restart = True
                continue
            self._busy()
        self._pending_bytes = 0
        if not self._in_response:
            self._flush_urcs()

    def reply(self, *lines: bytes | str) -> None:
        """Information lines of the running command's answer."""
        for line in lines:
            self._send((line.encode() if isinstance(line, str) else line) + CRLF)
        if lines:
            self._in_response = True

    def write(self, data: bytes) -> None:
        """Raw bytes inside the running command's answer (a ``>`` prompt, for instance)."""
        self._send(data)
        self._in_response = True

    def finish(self, final: str = "OK") -> None:
        """End the running command with its final result word (``OK``, ``SEND OK``…)."""
        self._send(CRLF + final.encode() + CRLF)
        self._end()

    def finish_silently(self) -> None:
        """End the running command without a final result."""
        self._end()

    def fail(self, error: AtError) -> None:
        """End the running command with ``ERROR`` (and ``ERR CODE`` when enabled)."""
        for line in error.lines:
            self._send(line.encode() + CRLF)
        if self.syslog:
            self._send(error.code_line().encode() + CRLF)
        self._send(CRLF + error.final.encode() + CRLF)
        self._end()

    def _end(self) -> None:
        self._mode = Mode.IDLE
        self._in_response = False
        self._flush_urcs()

    def expect_data(self, length: int, *, escapes: bool = False) -> None:
        """Collect ``length`` raw bytes (after a ``>`` prompt) as one :class:`DataReceived`.
        With ``escapes`` (AT+CIPSENDEX) a backslash takes the next byte literally and
        ``\\0`` ends the data before ``length``."""
        self._mode = Mode.DATA
        self._data_needed = length
        self._data.clear()
        self._data_escapes = escapes
        self._data_escaped = False

    def stream(self, limit: int | None = None, *, quiet: bool = False) -> None:
        """Stream mode: hand every received chunk out as :class:`StreamData` until
        :meth:`end_stream`, or until ``limit`` bytes have come (the engine is RUNNING
        then, and bytes beyond the limit in the same chunk get ``busy p...``). URCs wait
        for the end, or with ``quiet`` (passthrough) are dropped."""
        self._mode = Mode.STREAM
        self._stream_left = limit if limit else None
        self._quiet = quiet

    def end_stream(self) -> None:
        """Leave stream mode; the running command still has to finish."""
        if self._mode is Mode.STREAM:
            self._mode = Mode.RUNNING
        self._stream_left = None

    def urc(self, line: bytes | str) -> None:
        """An unsolicited line (``WIFI CONNECTED``, ``+STA_CONNECTED:…``)."""
        self.notify((line.encode() if isinstance(line, str) else line) + CRLF)

    def notify(self, data: bytes) -> None:
        """Unsolicited bytes sent as they are (``+IPD`` with its payload), ordered
        around responses like :meth:`urc`."""
        if self._mode is Mode.STREAM and self._quiet:
            return
        if self._mode in (Mode.RUNNING, Mode.DATA, Mode.STREAM) or self._in_response:
            if self._urcs is None:
                self._urcs = deque()
            self._urcs.append(data)
        else:
            self._send(data)

    def ready(self) -> None:
        """The boot banner."""
        self._out += MSG_READY

    def raw(self, data: bytes) -> None:
        """Bytes that bypass framing and URC ordering (the boot log, for instance)."""
        self._out += data

    def _flush_urcs(self) -> None:
        while self._urcs:
            self._send(self._urcs.popleft())

    def _busy(self) -> None:
        """A line refused while a command is being processed."""
        if self.syslog:
            self._send(AtError(Sub.CMD_PROCESSING).code_line().encode() + CRLF)
        self._send(MSG_BUSY)

    def _send(self, message: bytes) -> None:
        """One system message out, through the message filter."""
        self._out += message if self.message_filter is None else self.message_filter(message)

    def data_to_send(self) -> bytes:
        """Everything to transmit since the last call."""
        out = bytes(self._out)
        self._out.clear()
        return out
