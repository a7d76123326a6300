"""``esp-at-sim console SPEC``: an interactive terminal on an AT port.

SPEC is anything :func:`esp_at_sim.client.open_link` opens: ``tcp:HOST:PORT`` (or the
``tcp://HOST:PORT`` that ``esp-at-sim run`` prints), a device such as ``/dev/ttyUSB0`` or
``/dev/pts/5``, ``serial:DEVICE[:BAUD]``, or a pyserial URL (``socket://…``,
``rfc2217://…``). It works the same against a real module.

Each line typed is sent with CR LF and its answer printed when it is complete; URCs are
printed (highlighted) as they arrive, also while you type. After a ``>`` prompt the next
line is sent as raw data, without a line ending. ``exit``, ``quit`` or Ctrl-D leaves;
Ctrl-C abandons the line or the wait for an answer. On a terminal the prompt has line
editing and a history kept in ``$XDG_STATE_HOME/esp-at-sim/history`` (or
``~/.esp_at_sim_history``). When standard input is not a terminal the console reads
its lines, prints each with its answer, and exits after the answer to the last one.

Exit status: 0 at the end of input, 1 when the port is lost during the session, 2 when
it cannot be opened (as ``provision`` and ``ota`` do for a module that does not answer),
130 after Ctrl-C outside an interactive prompt. Answers of ``ERROR`` do not change it.

The asyncio loop (and the client) runs in a helper thread; the main thread reads input,
so readline and Ctrl-C behave as in any terminal program.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import io
import os
import sys
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from rich.console import Console

from ..client import (
    READY_TIMEOUT,
    AtBusyError,
    AtClient,
    AtConnectionError,
    AtTimeoutError,
    ModuleResetError,
    Response,
)
from ..client.protocol import command_name
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Failure,
    Subcommands,
    loop_factory,
    report,
)

HISTORY_LENGTH = 1000
PROMPT = "AT> "
DATA_PROMPT = "data> "
_QUIT = frozenset({"exit", "quit"})
_SUCCESS = frozenset({b"OK", b"SEND OK", b"SET OK", b">"})
_STYLES = {
    "urc": "bold cyan",
    "stray": "dim",
    "code": "red",
    "final": "bold green",
    "busy": "bold yellow",
}
_RESETS = frozenset({b"AT+RST", b"AT+RESTORE"})
T = TypeVar("T")


def history_path() -> Path:
    """Where the command history lives: under ``$XDG_STATE_HOME`` when it is set."""
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "esp-at-sim" / "history"
    return Path.home() / ".esp_at_sim_history"


def _show(data: bytes) -> str:
    """Received bytes as text: UTF-8, other control bytes escaped."""
    text = data.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in text)


class ConsoleSession:
    """One console session: the client on its loop thread, the terminal on this one."""

    def __init__(self, spec: str, stdin: TextIO, interactive: bool) -> None:
        self.spec = spec
        self.stdin = stdin
        self.interactive = interactive
        self.out = Console(highlight=False, soft_wrap=True, emoji=False)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
        self.loop = loop_factory()()
        self.thread = threading.Thread(target=self.loop.run_forever, name="console-loop")
        self.client: AtClient | None = None
        self.urc_task: asyncio.Task[None] | None = None
        self.prompt = PROMPT
        self.reading = False  # the main thread sits in input(): URCs redraw the prompt
        self.closing = False

    # ------------------------------------------------------------------ plumbing
    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop thread and wait for it (Ctrl-C cancels it)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            with contextlib.suppress(concurrent.futures.CancelledError, Exception):
                future.result(timeout=5)
            raise

    def run(self) -> int:
        self.thread.start()
        try:
            try:
                self.client = self.call(self._open())
            except AtConnectionError as exc:
                self.err.print(f"esp-at-sim console: {exc}", style="bold red", markup=False)
                return EXIT_USAGE
            history = self._load_history() if self.interactive else None
            try:
                return self._session()
            finally:
                if history is not None:
                    self._save_history(history)
        finally:
            if self.client is not None:
                self.call(self._close())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()

    async def _open(self) -> AtClient:
        client = await AtClient.open(self.spec, busy_retries=0)
        client.monitor = self._show_received
        self.urc_task = asyncio.get_running_loop().create_task(self._watch_port(client))
        return client

    async def _close(self) -> None:
        assert self.client is not None
        self.closing = True
        await self.client.close()
        if self.urc_task is not None:
            await self.urc_task

    # ------------------------------------------------------------------- output
    async def _watch_port(self, client: AtClient) -> None:
        async for _ in client.urcs():
            pass  # URCs are shown by the monitor, in wire order with the answers
        if not self.closing:  # the stream ended by itself: the port went away
            self.err.print("esp-at-sim console: the port was closed", style="bold red")

    def _show_received(self, kind: str, line: bytes) -> None:
        """The client's monitor: every received line, as it arrives (loop thread)."""
        if kind == "echo":
            return  # the line typed is on the screen already
        style = _STYLES.get(kind, "")
        if kind == "final" and line not in _SUCCESS:
            style = "bold red"
        if self.reading:  # a URC while the prompt waits: print above it, then redraw
            sys.stdout.write("\r\x1b[K")
        self.out.print(_show(line), style=style, markup=False)
        if self.reading:
            sys.stdout.write(self.prompt + _line_buffer())
            sys.stdout.flush()

    # -------------------------------------------------------------------- input
    def _read(self) -> str | None:
        if not self.interactive:
            line = self.stdin.readline()
            return line.rstrip("\r\n") if line else None
        self.reading = True
        try:
            return input(self.prompt)
        except EOFError:
            print()
            return None
        finally:
            self.reading = False

    def _session(self) -> int:
        data_next = False
        while True:
            try:
                line = self._read()
            except KeyboardInterrupt:
                if not self.interactive:
                    return EXIT_INTERRUPTED
                print("^C")  # as in a shell: the line is dropped
                continue
            if line is None:
                return EXIT_OK
            if not data_next and line.strip().lower() in _QUIT:
                return EXIT_OK
            if not data_next and not line.strip():
                continue
            if not self.interactive:
                self.out.print(line, markup=False, style="bold")
            try:
                data_next = self._exchange(line, data_next)
            except KeyboardInterrupt:
                self.err.print("(interrupted)", style="yellow")
                data_next = False
            except AtConnectionError as exc:
                self.err.print(f"esp-at-sim console: {exc}", style="bold red", markup=False)
                return EXIT_FAILED
            self.prompt = DATA_PROMPT if data_next else PROMPT

    def _exchange(self, line: str, as_data: bool) -> bool:
        """Send one line (or data); print the answer; True when a ``>`` prompt asks for data."""
        assert self.client is not None
        raw = line.encode("utf-8", "surrogateescape")  # undecodable input goes as it came
        try:
            if as_data:
                response = self.call(self.client.send_raw(raw, check=False))
            else:
                response = self.call(self._send_line(self.client, raw))
                if command_name(raw) in _RESETS and response.final == "OK":
                    self.call(self._wait_ready(self.client))
        except AtBusyError:  # the monitor has shown "busy p..."
            return False
        except ModuleResetError:
            self.err.print("(the module restarted)", style="yellow")
            return False
        except AtTimeoutError as exc:
            self.err.print(f"({exc})", style="yellow", markup=False)
            return False
        except ValueError as exc:
            self.err.print(f"({exc})", style="yellow", markup=False)
            return False
        return response.final == ">"

    @staticmethod
    async def _send_line(client: AtClient, line: bytes) -> Response:
        if command_name(line) in _RESETS:
            client.clear_urcs()  # so that only the coming "ready" counts
        return await client.send_line(line, check=False)

    @staticmethod
    async def _wait_ready(client: AtClient) -> None:
        """After a reset the module drops what arrives while it boots: hold the next
        line until it has printed ``ready``."""
        with contextlib.suppress(AtTimeoutError):
            await client.wait_urc(lambda urc: urc.line == b"ready", READY_TIMEOUT)

    # ------------------------------------------------------------------ history
    def _load_history(self) -> Path | None:
        try:
            import readline
        except ImportError:  # not on every platform
            return None
        path = history_path()
        readline.set_history_length(HISTORY_LENGTH)
        if path.exists():
            try:
                readline.read_history_file(path)
            except OSError as exc:
                self.err.print(f"(history not read: {exc})", style="yellow", markup=False)
        return path

    def _save_history(self, path: Path) -> None:
        import readline

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError as exc:
            self.err.print(f"(history not saved: {exc})", style="yellow", markup=False)


def _line_buffer() -> str:
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()


def cmd_console(args: argparse.Namespace) -> int:
    """The ``console`` subcommand: ``args.spec`` names the AT port."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="surrogateescape")
    try:
        session = ConsoleSession(args.spec, sys.stdin, interactive=sys.stdin.isatty())
    except Failure as exc:
        return report(exc, "console")
    try:
        return session.run()
    except KeyboardInterrupt:  # while opening the port or closing it
        return EXIT_INTERRUPTED


def add_parser(sub: Subcommands) -> None:
    """Register ``console`` on the subcommand set ``sub``."""
    parser = sub.add_parser("console", help="an interactive AT console on a port")
    parser.add_argument("spec", metavar="SPEC")
    parser.set_defaults(func=cmd_console)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m esp_at_sim.cli.console SPEC`` (the same as ``esp-at-sim console``)."""
    parser = argparse.ArgumentParser(prog="esp-at-sim console")
    parser.add_argument("spec", metavar="SPEC")
    return cmd_console(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
