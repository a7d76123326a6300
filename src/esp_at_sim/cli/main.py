"""The ``esp-at-sim`` parser, made of what each command module registers, and the entry
point of the console script and of ``python -m esp_at_sim``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence

from .. import __version__
from . import console, flash, fleet, ota, provision, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esp-at-sim",
        description="A software twin of an ESP32 module running ESP-AT firmware.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_parser(sub)
    fleet.add_parser(sub)
    flash.add_parsers(sub)
    provision.add_parser(sub)
    ota.add_parser(sub)
    console.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``esp-at-sim`` console script and ``python -m esp_at_sim``."""
    logging.basicConfig(level=logging.WARNING, format="esp-at-sim: %(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)
