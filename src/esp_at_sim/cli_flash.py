"""``esp-at-sim image build|info`` and ``esp-at-sim flash info``: firmware and flash tools."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .flash.errors import FlashError
from .flash.image import build_app_image
from .flash.info import render_flash_info, render_image_info

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _error(message: str) -> None:
    print(f"esp-at-sim: {message}", file=sys.stderr)


def cmd_image_build(args: argparse.Namespace) -> int:
    """Write a valid app image whose descriptor carries ``--version``."""
    try:
        image = build_app_image(args.version, chip=args.chip, size=args.size)
    except (FlashError, ValueError) as exc:
        _error(f"cannot build the image: {exc}")
        return EXIT_USAGE
    target = Path(args.output)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(image)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        _error(f"cannot write {target}: {exc.strerror or exc}")
        return EXIT_FAILED
    print(f"{target}: {len(image)} bytes, {args.chip} app image, version {args.version}")
    return EXIT_OK


def cmd_image_info(args: argparse.Namespace) -> int:
    """Describe an app image; exit 1 when it would not pass verification."""
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        _error(f"cannot read {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    text = render_image_info(data, name=args.file)
    print(text, end="")
    bootable = any(line.startswith("Verdict:") and " valid " in line for line in text.splitlines())
    return EXIT_OK if bootable else EXIT_FAILED


def cmd_flash_info(args: argparse.Namespace) -> int:
    """Describe a flash file without changing it."""
    try:
        print(render_flash_info(args.file), end="")
    except FlashError as exc:
        _error(exc.reason)
        return EXIT_FAILED
    except OSError as exc:
        _error(f"cannot read {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    return EXIT_OK
