"""``esp-at-sim flash pki``: write certificates and keys into a flash file's ``mfg_nvs``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..flash.errors import FlashError
from ..flash.flashfile import FlashImage
from ..flash.lock import FlashLockedError
from ..flash.mfg import MFG_PARTITION, MfgNvs, blob, pki_keys
from ..flash.nvs import NvsItem
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import error as _error

# option → namespace: what AT+CIPSTART "SSL" (client_*) and AT+CIPSERVER (server_*) use
KINDS = ("client_ca", "client_cert", "client_key", "server_ca", "server_cert", "server_key")


def add_parser(flash_sub: Any) -> None:
    """Register ``pki`` under ``flash``."""
    pki = flash_sub.add_parser(
        "pki",
        help="write SSL certificates and keys into a flash file's mfg_nvs",
        description=(
            "Each option names a PEM or DER file and may be repeated: the files of one kind "
            "replace that kind's namespace in mfg_nvs (one file: key <namespace>, several: "
            "<namespace>.0, .1, ... in the order given, the index AT+CIPSSLCCONF selects)."
        ),
    )
    pki.add_argument("file", metavar="FILE", help="the flash file")
    for kind in KINDS:
        pki.add_argument(
            f"--{kind.replace('_', '-')}",
            dest=kind,
            action="append",
            default=[],
            metavar="F",
            help=f"a file for namespace {kind}",
        )
    pki.add_argument(
        "--erase",
        dest="erase",
        action="append",
        default=[],
        choices=KINDS,
        metavar="KIND",
        help="erase a namespace (one of " + ", ".join(KINDS) + ")",
    )
    pki.set_defaults(func=cmd_flash_pki)


def cmd_flash_pki(args: argparse.Namespace) -> int:
    items: list[NvsItem] = []
    counts: dict[str, int] = {}
    for kind in KINDS:
        files: list[str] = getattr(args, kind)
        if not files:
            continue
        for name, key in zip(files, pki_keys(kind, len(files)), strict=True):
            try:
                data = Path(name).read_bytes()
            except OSError as exc:
                _error(f"cannot read {name}: {exc.strerror or exc}")
                return EXIT_USAGE
            if not data:
                _error(f"{name} is empty")
                return EXIT_USAGE
            items.append(blob(kind, key, data))
        counts[kind] = len(files)
    erase = tuple(dict.fromkeys([*args.erase, *counts]))
    if not erase:
        _error("nothing to write: give at least one certificate, key or --erase")
        return EXIT_USAGE
    try:
        with FlashImage.open(args.file, create=False) as flash:
            part = flash.partition(MFG_PARTITION)
            if part is None:
                _error(f"not written: {args.file} has no {MFG_PARTITION} partition")
                return EXIT_FAILED
            MfgNvs(flash.device, part.offset, part.size).replace(items, erase=erase)
    except FlashLockedError as exc:
        _error(f"not written: {exc.reason}")
        return EXIT_USAGE
    except FlashError as exc:
        _error(f"not written: {exc.reason}")
        return EXIT_FAILED
    except OSError as exc:
        _error(f"cannot open {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    for kind in erase:
        count = counts.get(kind, 0)
        what = f"{count} file{'s' if count != 1 else ''}" if count else "erased"
        print(f"{args.file}: {MFG_PARTITION} {kind}: {what}")
    return EXIT_OK
