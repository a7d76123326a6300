"""The AT conversation: one command at a time, answers told apart from URCs.

:class:`AtCore` owns a :class:`~esp_at_sim.client.links.Link` and a reader task. Each
command line is written with CR LF and answered by everything up to its final result;
the echo (ATE1) is recognised and dropped, ``busy p...`` is retried with a growing pause,
``ERR CODE`` lines are kept with the answer, and unsolicited reports go to the URC
streams and mailbox whenever they arrive. :class:`~esp_at_sim.client.AtClient` adds the
typed commands on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from .errors import (
    AtBusyError,
    AtConnectionError,
    AtParseError,
    AtTimeoutError,
    ModuleResetError,
)
from .links import DEFAULT_BAUD, InProcessPort, Link, open_link
from .messages import Response, Urc, UrcMatch, UrcStream, command_error, urc_matcher
from .protocol import (
    FINALS,
    PROMPT,
    WIFI_URCS,
    Framer,
    IpdData,
    Item,
    Param,
    Prompt,
    build_command,
    command_name,
    default_timeout,
    is_busy,
    is_urc,
    parse_err_code,
)

log = logging.getLogger(__name__)
Monitor = Callable[[str, bytes], None]


@dataclass
class _Pending:
    line: bytes  # the command line sent (empty while raw data is answered)
    future: asyncio.Future[Response | None]  # None: busy p...
    prompt_ok: bool = False  # an OK before the ">" prompt does not end the answer
    wifi_in_answer: bool = False
    skip_until_echo: bool = False
    skipped_final: bool = False
    echo: bool = False
    code: int | None = None
    lines: list[bytes] = field(default_factory=list)


class AtCore:
    """An AT port: raw command exchange, URC stream and mailbox (see the module docs).

    ``default_timeout`` applies to commands without a longer one of their own (AT+CWJAP
    waits its ``<jap_timeout>`` + ``jap_margin``, AT+CWLAP 15 s). ``busy p...`` is retried
    ``busy_retries`` times, pausing ``busy_delay`` seconds, doubled each time up to
    ``busy_max_delay``; with ``busy_retries=0`` it raises :class:`AtBusyError` at once.

    Make it inside a running event loop (it starts its reader task at once), usually with
    :meth:`open`.

    :attr:`monitor`, when set, is called with every received line in wire order, as
    ``(kind, line)``: ``"echo"``, ``"line"`` (an information line of the running
    command), ``"code"`` (``ERR CODE``), ``"final"`` (a final result or the ``>``
    prompt), ``"busy"``, ``"urc"`` (an unsolicited report; ``+IPD`` with its payload) or
    ``"stray"`` (unsolicited output that is no documented report). A terminal uses it.
    """

    def __init__(
        self,
        link: Link,
        *,
        default_timeout: float = 5.0,
        busy_retries: int = 5,
        busy_delay: float = 0.1,
        busy_max_delay: float = 2.0,
        jap_margin: float = 5.0,
        urc_backlog: int = 256,
    ) -> None:
        self.link = link
        self.default_timeout = default_timeout
        self.busy_retries = busy_retries
        self.busy_delay = busy_delay
        self.busy_max_delay = busy_max_delay
        self.jap_margin = jap_margin
        self.echo: bool | None = None  # None until known (ready, ATE0/ATE1, an echo seen)
        self.monitor: Monitor | None = None
        self._framer = Framer()
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._desynced = False  # an answer may still come for a command we gave up on
        self._streams: set[UrcStream] = set()
        self._backlog: deque[Urc] = deque(maxlen=urc_backlog)
        self._watchers: list[tuple[Callable[[Urc], bool], asyncio.Future[Urc]]] = []
        self._error: AtConnectionError | None = None
        self._reader = asyncio.get_running_loop().create_task(
            self._read_loop(), name="at-client-reader"
        )

    @classmethod
    async def open(
        cls,
        target: str | InProcessPort | Link,
        *,
        baudrate: int = DEFAULT_BAUD,
        connect_timeout: float = 5.0,
        **options: Any,
    ) -> Self:
        """Open ``target`` (see :func:`~esp_at_sim.client.links.open_link`) and return a
        client on it; ``options`` go to the constructor."""
        link = await open_link(target, baudrate=baudrate, timeout=connect_timeout)
        return cls(link, **options)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._error is not None

    async def close(self) -> None:
        """Close the link and stop the reader; pending waits get :class:`AtConnectionError`."""
        if self._error is None:
            self._shut(AtConnectionError("the client is closed"))
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.link.close()

    # ------------------------------------------------------------------ commands
    async def send(
        self, command: str, *params: Param, timeout: float | None = None, check: bool = True
    ) -> Response:
        """Send ``command`` with ``params`` (see :func:`~.protocol.build_command`) and
        return its answer. With ``check``, ``ERROR``/``SEND FAIL`` raise
        :class:`AtCommandError` (:class:`JoinError` for AT+CWJAP)."""
        return await self.send_line(build_command(command, *params), timeout=timeout, check=check)

    async def send_line(
        self, line: str | bytes, *, timeout: float | None = None, check: bool = True
    ) -> Response:
        """Send a complete command line as it is (CR LF is added) and return its answer.
        An answer that ends at a ``>`` prompt has final ``">"``: follow with
        :meth:`send_raw`."""
        raw = line.encode() if isinstance(line, str) else bytes(line)
        if b"\n" in raw:
            raise ValueError("an AT command line cannot contain a line feed")
        async with self._lock:
            return await self._command(raw, timeout, check)

    async def send_raw(
        self, data: bytes, *, timeout: float | None = None, check: bool = True
    ) -> Response:
        """Write ``data`` as it is (the bytes a ``>`` prompt asked for) and return the
        answer that follows it."""
        async with self._lock:
            return await self._raw(data, timeout, check)

    async def send_data(
        self, command: str, data: bytes, *params: Param, timeout: float | None = None
    ) -> Response:
        """A data command: send ``command`` with ``params``, wait for its ``>`` prompt,
        write ``data`` unescaped and return the final answer (``OK``, ``SEND OK``…)."""
        line = build_command(command, *params)
        async with self._lock:
            first = await self._command(line, timeout, True, prompt_ok=True)
            if first.final != PROMPT:
                raise AtParseError(f"{line!r} answered {first.final} instead of a > prompt")
            return await self._raw(data, timeout, True)

    async def _command(
        self, line: bytes, timeout: float | None, check: bool, *, prompt_ok: bool = False
    ) -> Response:
        limit = timeout or default_timeout(line, self.default_timeout, self.jap_margin)
        delay = self.busy_delay
        attempt = 0
        while True:
            response = await self._exchange(line, line + b"\r\n", limit, prompt_ok)
            if response is not None:
                break
            if attempt >= self.busy_retries:
                raise AtBusyError(f"{line!r}: module busy (busy p...)", line)
            attempt += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.busy_max_delay)
        name = command_name(line)
        if response.final == "OK" and name in (b"ATE0", b"ATE1"):
            self.echo = name == b"ATE1"
        if check and not response.ok:
            raise command_error(response)
        return response

    async def _raw(self, data: bytes, timeout: float | None, check: bool) -> Response:
        limit = timeout or self.default_timeout + len(data) / 10_000
        response = await self._exchange(b"", data, limit, False)
        if response is None:
            raise AtBusyError("the module refused the data (busy p...)")
        if check and not response.ok:
            raise command_error(response)
        return response

    async def _exchange(
        self, line: bytes, data: bytes, limit: float, prompt_ok: bool
    ) -> Response | None:
        if self._error is not None:
            raise self._error
        pending = _Pending(
            line,
            asyncio.get_running_loop().create_future(),
            prompt_ok=prompt_ok,
            wifi_in_answer=command_name(line) == b"AT+CWJAP",
            skip_until_echo=bool(line) and self._desynced and self.echo is True,
        )
        self._pending = pending
        try:
            await self.link.write(data)
            return await asyncio.wait_for(pending.future, limit)
        except TimeoutError:
            if pending.skipped_final and not pending.echo:
                self.echo = None  # no echo came after all: stop waiting for one
            raise AtTimeoutError(
                f"{(line or b'data')!r}: no final result within {limit:g} s", line, pending.lines
            ) from None
        finally:
            if self._pending is pending:
                self._pending = None
                self._desynced = True  # gave up (timeout, cancel): its answer may follow

    # ----------------------------------------------------------------------- URCs
    def urcs(self, maxsize: int = 1024) -> UrcStream:
        """A stream of the URCs that arrive from now on (see :class:`UrcStream`)."""
        stream = UrcStream(maxsize, self._streams.discard)
        if self._error is not None:
            stream.put(None)
        else:
            self._streams.add(stream)
        return stream

    async def wait_urc(self, match: UrcMatch, timeout: float = 5.0, *, backlog: bool = True) -> Urc:
        """Wait for a URC that starts with ``match`` (str or bytes) or satisfies it (a
        predicate). URCs that arrived earlier and no wait has taken yet count too, unless
        ``backlog`` is false; each URC satisfies one wait at most."""
        test = urc_matcher(match)
        if backlog:
            for urc in self._backlog:
                if test(urc):
                    self._backlog.remove(urc)
                    return urc
        future = self._watch(test)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AtTimeoutError(f"no URC matching {match!r} within {timeout:g} s") from None
        finally:
            self._unwatch(future)

    def clear_urcs(self) -> None:
        """Forget the URCs that no wait has taken."""
        self._backlog.clear()

    def _watch(self, test: Callable[[Urc], bool]) -> asyncio.Future[Urc]:
        future: asyncio.Future[Urc] = asyncio.get_running_loop().create_future()
        if self._error is not None:
            future.set_exception(self._error)
        else:
            self._watchers.append((test, future))
        return future

    def _unwatch(self, future: asyncio.Future[Urc]) -> None:
        self._watchers = [(t, f) for t, f in self._watchers if f is not future]
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()  # an error nobody awaited is not worth a warning

    def _publish(self, urc: Urc) -> None:
        for stream in list(self._streams):
            stream.put(urc)
        for test, future in self._watchers:
            if not future.done() and test(urc):
                future.set_result(urc)
                return
        self._backlog.append(urc)

    # --------------------------------------------------------------------- reader
    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.link.read()
                if not data:
                    raise AtConnectionError(f"{self.link.name}: closed by the other side")
                self._framer.expect_prompt = self._pending is not None
                for item in self._framer.feed(data):
                    self._dispatch(item)
        except AtConnectionError as exc:
            self._shut(exc)
        except Exception as exc:  # a bug must not leave waiters hanging
            log.exception("AT client reader failed")
            self._shut(AtConnectionError(f"reader failed: {exc!r}"))

    def _shut(self, error: AtConnectionError) -> None:
        if self._error is None:
            self._error = error
        pending, self._pending = self._pending, None
        if pending is not None and not pending.future.done():
            pending.future.set_exception(error)
        for _, future in self._watchers:
            if not future.done():
                future.set_exception(error)
        for stream in list(self._streams):
            stream.put(None)
        self._streams.clear()

    def _trace(self, kind: str, data: bytes) -> None:
        if self.monitor is not None:
            try:
                self.monitor(kind, data)
            except Exception:
                log.exception("AT client monitor failed")

    def _unsolicited(self, line: bytes) -> None:
        known = is_urc(line)
        self._trace("urc" if known else "stray", line)
        self._publish(Urc(line, known=known))

    def _dispatch(self, item: Item) -> None:
        pending = self._pending
        if isinstance(item, IpdData):
            self._trace("urc", item.header + b":" + item.data)
            self._publish(Urc(item.header, item.data))
            return
        if isinstance(item, Prompt):
            self._trace("final" if pending is not None else "stray", PROMPT.encode())
            if pending is not None:
                self._finish(pending, PROMPT)
            return
        line = item.data
        if not line.strip():
            return
        if line == b"ready":
            self._trace("urc", line)
            self.echo = True
            if pending is not None and not pending.future.done():
                self._pending = None
                pending.future.set_exception(ModuleResetError("the module restarted (ready)"))
            self._publish(Urc(line))
            return
        if pending is None:
            self._unsolicited(line)
        elif self._is_echo(pending, line):
            self._trace("echo", line)
            pending.echo, pending.skip_until_echo = True, False
            self.echo = True
        elif is_busy(line):
            self._trace("busy", line)
            self._pending = None
            self._desynced = True  # the command that keeps the module busy will answer
            for stray in pending.lines:  # ours was dropped: these belong to that one
                self._publish(Urc(stray, known=is_urc(stray)))
            pending.future.set_result(None)
        elif pending.skip_until_echo:
            self._unsolicited(line)
            if line in FINALS:  # at most one stale answer can be outstanding
                pending.skip_until_echo, pending.skipped_final = False, True
        else:
            self._answer_line(pending, line)

    def _answer_line(self, pending: _Pending, line: bytes) -> None:
        code = parse_err_code(line)
        if code is not None:
            self._trace("code", line)
            pending.code = code
        elif line in FINALS and not (line == b"OK" and pending.prompt_ok):
            self._trace("final", line)
            self._finish(pending, line.decode())
        elif is_urc(line):
            in_answer = pending.wifi_in_answer and line in WIFI_URCS
            self._trace("line" if in_answer else "urc", line)
            if in_answer:
                pending.lines.append(line)
            self._publish(Urc(line, in_answer=in_answer))
        else:
            self._trace("line", line)
            pending.lines.append(line)

    @staticmethod
    def _is_echo(pending: _Pending, line: bytes) -> bool:
        sent = pending.line
        if not sent or pending.echo:
            return False
        if line == sent:
            return True
        # An echo with the parameters masked or altered still names the command.
        head, eq, _ = sent.partition(b"=")
        return bool(eq) and not pending.lines and line.startswith(head + b"=")

    def _finish(self, pending: _Pending, final: str) -> None:
        self._pending = None
        self._desynced = False
        if not pending.future.done():
            pending.future.set_result(
                Response(pending.line, tuple(pending.lines), final, pending.code)
            )
