"""The options of ``esp-at-sim run`` and their checks."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .common import Subcommands

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
prompt, the next line is sent as that data, without its line ending. When nothing in
the flash boots (before the script or after a reset in it), the run ends with exit
status 1 and the bootloader's reason.

Exit status: 0 after SIGINT/SIGTERM or the end of stdio input, 1 when a script line
fails, nothing boots for the script, or the AT port cannot be opened, 2 for bad
arguments or a bad scenario/flash file.
"""


def add_parser(sub: Subcommands, command: Callable[[argparse.Namespace], int]) -> None:
    """Register ``run`` (carried out by ``command``) on the subcommand set ``sub``."""
    run = sub.add_parser(
        "run",
        help="start a simulated module and serve its AT port",
        description="Start a simulated module and serve its AT port.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--scenario", metavar="FILE", help="the radio world (TOML); default: home")
    run.add_argument(
        "--radio",
        default="sim",
        metavar="NAME",
        help="the radio backend: sim (default, the scenario's simulated air) or one that "
        "another installed package registers (entry point group esp_at_sim.radio)",
    )
    run.add_argument("--at", metavar="SPEC", help="where the AT port lives (see below)")
    run.add_argument(
        "--port-map",
        metavar="DEV=HOST",
        action="append",
        default=[],
        type=port_map,
        help="serve device port DEV on host port HOST (repeatable); default: ports below "
        "1024 at port + 8000 (80 -> 8080, 53 -> 8053), others as they are",
    )
    run.add_argument(
        "--route",
        metavar="ADDR[:PORT]=HOST[:PORT]",
        action="append",
        default=[],
        type=route,
        help="connections from the module to ADDR[:PORT] go to HOST[:PORT] on this machine "
        "(repeatable; adds to the scenario's [net] routes)",
    )
    run.add_argument(
        "--net-bridge",
        action="store_true",
        help="let the module reach destinations without a route as they are (default: a "
        "sandbox where they do not answer)",
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
        "ota_0, reused after (settings, OTA state); default: a flash in memory, gone when "
        "the module stops",
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
        type=time_scale,
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
        "--http-max-connections",
        type=_connection_cap,
        metavar="N",
        help="open HTTP connections at most; a new one closes the least recently used "
        "idle one, as the module's server does (default 64)",
    )
    run.add_argument(
        "--strict-httpd",
        action="store_true",
        help="answer one HTTP request at a time, as the module's single-task server does "
        "(an upload or the phone-hotspot search holds every other request)",
    )
    run.add_argument(
        "--compat-echo-password",
        action="store_true",
        help="echo the station password in /getstainfo as the original firmware does",
    )
    run.add_argument(
        "--events",
        metavar="FILE",
        help="write every module event as JSON lines (a failing write loses that event, "
        "never stops the module)",
    )
    run.add_argument(
        "--events-max-bytes",
        type=_byte_count,
        metavar="N",
        help="keep FILE under N bytes: when full it becomes FILE.1 and a new FILE starts",
    )
    run.add_argument(
        "--control",
        metavar="[HOST:]PORT",
        type=control_spec,
        help="serve the control API (fault injection, status, events) on this port "
        "(0: any free port), on 127.0.0.1 unless HOST names another address; announced as "
        "'Control: http://HOST:PORT/#token=TOKEN'",
    )
    run.add_argument(
        "--control-token",
        type=control_token,
        metavar="TOKEN",
        help="the token the control API asks for (default: $ESP_AT_SIM_CONTROL_TOKEN, "
        "else a random one per run)",
    )
    run.set_defaults(func=command)


def time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number >= 0")
    return value


def _connection_cap(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 1 and 65535")
    return value


def _byte_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1024:
        raise argparse.ArgumentTypeError("must be a whole number of bytes, at least 1024")
    return int(text)


def _baud(text: str) -> int:
    if not text.isdigit() or not 80 <= int(text) <= 5_000_000:
        raise argparse.ArgumentTypeError("must be an integer 80..5000000")
    return int(text)


def control_spec(text: str) -> tuple[str | None, int]:
    host, sep, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):  # [::1]:9000
        host = host[1:-1]
    return (host or None) if sep else None, int(port)


def route(text: str) -> tuple[str, str]:
    from ..radio.netconfig import parse_route_option

    try:
        return parse_route_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def control_token(text: str) -> str:
    """A control token: 8 to 256 of the characters a URL carries as they are."""
    if not 8 <= len(text) <= 256 or not all(
        c.isascii() and (c.isalnum() or c in "-._~") for c in text
    ):
        raise argparse.ArgumentTypeError("a token is 8 to 256 characters among A-Z a-z 0-9 - . _ ~")
    return text


def port_map(text: str) -> tuple[int, int]:
    dev, sep, host = text.partition("=")
    ports = (dev, host)
    if not sep or not all(p.isdigit() and 0 <= int(p) < 65536 for p in ports) or dev == "0":
        raise argparse.ArgumentTypeError(
            f"expected DEV=HOST with two ports (HOST 0: any free port), got {text!r}"
        )
    return int(dev), int(host)
