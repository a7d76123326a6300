"""The ``esp-at-sim`` command line.

``run`` starts one simulated module and serves its AT port; the other subcommands
(``image``, ``flash``, ``provision``, ``ota``, ``console``) are registered with their
arguments so the command-line contract holds, and are filled in as their features land.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import __version__, cli_console, cli_flash, cli_provision
from .at.engine import Mode
from .device.events import Event
from .transport import (
    SpecError,
    StdioTransport,
    Transport,
    TransportError,
    open_transport,
)

if TYPE_CHECKING:
    from .device.module import Module

EXIT_OK = 0
EXIT_FAILED = 1  # a script line answered ERROR, or the AT port could not be opened
EXIT_USAGE = 2  # bad arguments, a bad scenario or flash file, a missing feature

RUN_EPILOG = """\
The AT port (--at):
  stdio                  standard input/output; an interactive console on a terminal
                         (Ctrl-D quits), raw bytes otherwise (end of input ends the run)
  pty[:LINK]             a pseudo-terminal; prints its path (LINK: a symlink to it)
  tcp:[HOST:]PORT        one TCP client at a time; port 0 picks a free port
  serial:DEVICE[:BAUD]   a real serial port (default 115200 baud, always paced)
  Default: stdio when standard input is a terminal, pty otherwise.

When the port answers (after boot and after --script), run prints one line per endpoint,
such as "AT port: /dev/pts/5" or "AT port: tcp://127.0.0.1:3333", on standard output
(standard error when the AT port is stdio). Output sent while no client is attached is
lost, as on a real UART.

--script FILE: one AT command per line, run after boot and before the port is opened;
each is printed with the module's answer. Blank lines and lines starting with # are
skipped. A line answered ERROR stops the run with exit status 1, unless it starts with
"-" (as in make: "-AT+CWQAP" may fail). While the module waits for data after a ">"
prompt, the next line is sent as that data, without its line ending.

Exit status: 0 after SIGINT/SIGTERM or the end of stdio input, 1 when a script line
fails or the AT port cannot be opened, 2 for bad arguments or a bad scenario/flash file.
"""


# ------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esp-at-sim",
        description="A software twin of an ESP32 module running ESP-AT firmware.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="start a simulated module and serve its AT port",
        description="Start a simulated module and serve its AT port.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--scenario", metavar="FILE", help="the radio world (TOML); default: home")
    run.add_argument("--at", metavar="SPEC", help="where the AT port lives (see below)")
    run.add_argument(
        "--port-map",
        metavar="DEV=HOST",
        action="append",
        default=[],
        type=_port_map,
        help="serve device port DEV on host port HOST (repeatable); default: ports below "
        "1024 at port + 8000 (80 -> 8080, 53 -> 8053), others as they are",
    )
    run.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address services bind to, and the host of tcp:PORT (default 127.0.0.1)",
    )
    run.add_argument(
        "--flash",
        metavar="FILE",
        help="the module's 4 MB flash image: created on first use with factory firmware in "
        "ota_0, reused after (settings, OTA state); default: a temporary one",
    )
    run.add_argument(
        "--module",
        metavar="esp32|esp32c3|DIR",
        default="esp32",
        help="the partition layout: esp32 (default), esp32c3, or a directory holding "
        "partitions_at.csv and at_customize.csv",
    )
    run.add_argument(
        "--web-root",
        metavar="DIR",
        help="serve DIR/index.html (and the files beside it) as the page",
    )
    run.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        metavar="F",
        help="multiply every simulated delay by F (0: immediate; default 1)",
    )
    run.add_argument("--script", metavar="FILE", help="AT lines to run before the port opens")
    run.add_argument(
        "--baud",
        type=_baud,
        metavar="N",
        help="pace the AT port like a UART at N baud, both ways, in real time; the module "
        "boots at N and AT+UART_CUR changes the rate (default: unpaced)",
    )
    run.add_argument(
        "--no-captive-portal",
        action="store_true",
        help="no captive-portal DNS responder or redirects",
    )
    run.add_argument(
        "--compat-echo-password",
        action="store_true",
        help="echo the station password in /getstainfo as the original firmware does",
    )
    run.add_argument("--events", metavar="FILE", help="write every module event as JSON lines")
    run.add_argument(
        "--control",
        metavar="[HOST:]PORT",
        type=_control_spec,
        help="serve the control API (fault injection, status, events) on this port "
        "(0: any free port); announced as 'Control: URL'",
    )
    run.set_defaults(func=cmd_run)

    image = sub.add_parser("image", help="build or inspect firmware images")
    image_sub = image.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    build = image_sub.add_parser("build", help="build an app image")
    build.add_argument("--version", required=True, metavar="V")
    build.add_argument("--chip", choices=("esp32", "esp32c3"), default="esp32")
    build.add_argument("--size", type=int, metavar="BYTES")
    build.add_argument("-o", dest="output", required=True, metavar="FILE")
    build.set_defaults(func=cli_flash.cmd_image_build)
    info = image_sub.add_parser("info", help="describe an app image")
    info.add_argument("file", metavar="FILE")
    info.set_defaults(func=cli_flash.cmd_image_info)

    flash = sub.add_parser("flash", help="inspect flash files")
    flash_sub = flash.add_subparsers(dest="flash_command", required=True, metavar="ACTION")
    flash_info = flash_sub.add_parser("info", help="describe a flash file")
    flash_info.add_argument("file", metavar="FILE")
    flash_info.set_defaults(func=cli_flash.cmd_flash_info)
    load = flash_sub.add_parser(
        "load", help="install an app image (or user partition data) into a flash file"
    )
    load.add_argument("file", metavar="FILE", help="the flash file")
    load.add_argument("image", metavar="IMAGE", help="the app image (.bin)")
    load.add_argument(
        "--slot", metavar="NAME", help="target partition (default: the next OTA slot)"
    )
    load.set_defaults(func=cli_flash.cmd_flash_load)

    provision = sub.add_parser("provision", help="provision a module through its web server")
    provision.add_argument("url", metavar="URL")
    provision.add_argument(
        "--ssid", metavar="S", help="the router's SSID; leave it out for phone-hotspot mode"
    )
    provision.add_argument("--password", required=True, metavar="P")
    provision.add_argument(
        "--udp-port",
        type=int,
        metavar="N",
        help="the applet's udp_port (phone-hotspot mode: where to listen; default any free port)",
    )
    provision.add_argument(
        "--timeout",
        type=float,
        default=cli_provision.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="give up after this long (default 70)",
    )
    provision.set_defaults(func=cli_provision.cmd_provision)

    ota = sub.add_parser("ota", help="upload firmware through the web server")
    ota.add_argument("url", metavar="URL")
    ota.add_argument("file", metavar="FILE")
    ota.add_argument(
        "--partition", metavar="NAME", help="ota (default: the app) or a user partition's label"
    )
    ota.set_defaults(func=cli_provision.cmd_ota)

    console = sub.add_parser("console", help="an interactive AT console on a port")
    console.add_argument("spec", metavar="SPEC")
    console.set_defaults(func=cli_console.cmd_console)
    return parser


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number >= 0")
    return value


def _baud(text: str) -> int:
    if not text.isdigit() or not 80 <= int(text) <= 5_000_000:
        raise argparse.ArgumentTypeError("must be an integer 80..5000000")
    return int(text)


def _control_spec(text: str) -> tuple[str | None, int]:
    host, sep, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}")
    return (host or None) if sep else None, int(port)


def _port_map(text: str) -> tuple[int, int]:
    dev, sep, host = text.partition("=")
    ports = (dev, host)
    if not sep or not all(p.isdigit() and 0 <= int(p) < 65536 for p in ports) or dev == "0":
        raise argparse.ArgumentTypeError(
            f"expected DEV=HOST with two ports (HOST 0: any free port), got {text!r}"
        )
    return int(dev), int(host)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``esp-at-sim`` console script and ``python -m esp_at_sim``."""
    logging.basicConfig(level=logging.WARNING, format="esp-at-sim: %(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


# --------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return EXIT_OK


def _error(message: str) -> None:
    print(f"esp-at-sim: {message}", file=sys.stderr)


async def _run(args: argparse.Namespace) -> int:
    from .device.factory import create_module
    from .flash.errors import FlashError
    from .scenario import ScenarioError, load_scenario
    from .web import WebConfig, install_web
    from .web.control import ControlServer

    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ScenarioError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _error(f"cannot read scenario {args.scenario}: {exc.strerror or exc}")
        return EXIT_USAGE
    spec = args.at or ("stdio" if os.isatty(0) else "pty")
    try:
        transport = open_transport(spec, host=args.host, baud=args.baud)
    except SpecError as exc:
        _error(str(exc))
        return EXIT_USAGE
    script: list[str] = []
    if args.script:
        try:
            script = Path(args.script).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            _error(f"cannot read script {args.script}: {exc}")
            return EXIT_USAGE

    baud = getattr(transport, "baud", None) if args.baud is None else args.baud
    try:
        module = create_module(
            scenario, time_scale=args.time_scale, baud=baud, flash=args.flash, layout=args.module
        )
    except FlashError as exc:
        _error(f"cannot use the flash file: {exc.reason}")
        return EXIT_USAGE
    except OSError as exc:
        _error(f"cannot use the flash file {args.flash}: {exc.strerror or exc}")
        return EXIT_USAGE
    try:
        events = EventLog(args.events, module) if args.events else None
    except OSError as exc:
        _error(f"cannot write events to {args.events}: {exc.strerror or exc}")
        return EXIT_USAGE
    info = sys.stderr if isinstance(transport, StdioTransport) else sys.stdout
    web_root = Path(args.web_root) if args.web_root else None
    if web_root is not None and not (web_root / "index.html").is_file():
        _error(f"--web-root {web_root}: no index.html there")
        await module.close()
        return EXIT_USAGE
    install_web(
        module,
        WebConfig(
            host=args.host,
            port_map=dict(args.port_map),
            captive_portal=not args.no_captive_portal,
            compat_echo_password=args.compat_echo_password,
            web_root=web_root,
            announce=lambda line: print(line, file=info, flush=True),
        ),
    )
    control = None
    if args.control is not None:
        control = ControlServer(module)
        host, port = args.control
        try:
            url = await control.start(host or args.host, port)
        except OSError as exc:
            _error(f"cannot serve the control API on port {port}: {exc.strerror or exc}")
            await control.close()
            await module.close()
            return EXIT_FAILED
        print(f"Control: {url}", file=info, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await _serve(module, transport, script, info, stop)
    except TransportError as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        await transport.close()
        if control is not None:
            await control.close()
        await module.close()
        if events is not None:
            events.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _serve(
    module: Module, transport: Transport, script: list[str], info: IO[str], stop: asyncio.Event
) -> int:
    """Boot, run the script, open the port, announce it, serve until told to stop."""
    if script:
        if not await _unless_stopped(module.start(), stop):
            return EXIT_OK
        outcome = asyncio.ensure_future(run_script(module, script, info))
        if not await _unless_stopped(outcome, stop):
            return EXIT_OK
        if not outcome.result():
            return EXIT_FAILED
        await transport.start(module)
    else:
        await transport.start(module)  # attached before boot: a listener sees "ready"
        if not await _unless_stopped(module.start(), stop):
            return EXIT_OK
    print(transport.describe(), file=info, flush=True)
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if isinstance(transport, StdioTransport):
        waiters.append(asyncio.ensure_future(_stdio_done(module, transport)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return EXIT_OK


async def _unless_stopped(aw: Awaitable[Any], stop: asyncio.Event) -> bool:
    """Await ``aw`` unless ``stop`` is set first (then cancel it); True when it finished."""
    task = asyncio.ensure_future(aw)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # re-raise a failure
    return True


async def _stdio_done(module: Module, transport: StdioTransport) -> None:
    await transport.eof.wait()
    await wait_settled(module)


# ------------------------------------------------------------------------ script
# Loop turns a just-finished command gets to start a reset (AT+RST spawns it after its OK).
_SETTLE_TURNS = 5


async def wait_settled(module: Module) -> None:
    """Wait until the module has booted, is not resetting, and no command is running
    (a command waiting for data after ``>`` counts as done)."""
    activity = asyncio.Event()
    resetting = False

    def watch(event: Event) -> None:
        nonlocal resetting
        if event.kind == "boot.reset":
            resetting = True
        elif event.kind == "boot.ready":
            resetting = False
        activity.set()

    unsubscribe = module.bus.subscribe(watch)
    try:
        while True:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            engine = module.engine
            if (
                module.booted.is_set()
                and not resetting
                and (engine.mode is Mode.IDLE or engine.mode is Mode.DATA)
            ):
                return
            activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(activity.wait(), 0.05)
    finally:
        unsubscribe()


_FAILURES = (b"ERROR", b"SEND FAIL")


async def run_script(module: Module, lines: Sequence[str], out: IO[str]) -> bool:
    """Run script ``lines`` (see ``run --help``), printing each with its answer to ``out``.
    Returns ``False`` at the first line that fails without a ``-`` prefix."""
    received = bytearray()
    module.set_output(received.extend)
    try:
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            may_fail = line.startswith("-")
            line = line[1:].lstrip() if may_fail else line
            data = line.encode("utf-8")
            if module.engine.mode is not Mode.DATA:
                data += b"\r\n"
            received.clear()
            module.feed(data)
            await wait_settled(module)
            answer = bytes(received)
            if not answer.startswith(data):  # echo off: show the line ourselves
                out.write(line + "\n")
            out.write(answer.decode("utf-8", "replace").replace("\r\n", "\n"))
            out.flush()
            if not may_fail and any(part in _FAILURES for part in answer.split(b"\r\n")):
                _error(f"script line failed: {line}")
                return False
        return True
    finally:
        module.set_output(None)


# ------------------------------------------------------------------------ events
class EventLog:
    """Writes every event on the module's bus as one JSON object per line:
    ``{"t": simulated seconds, "kind": ..., <the event's details>}``."""

    def __init__(self, path: str, module: Module) -> None:
        self._file = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._unsubscribe = module.bus.subscribe(self.write)

    def write(self, event: Event) -> None:
        record: dict[str, Any] = {"t": round(event.t, 6), "kind": event.kind}
        for key, value in event.data.items():
            record[key if key not in record else f"data_{key}"] = value
        self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._unsubscribe()
        self._file.close()
