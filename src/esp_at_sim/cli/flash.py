"""``esp-at-sim image build|info`` and ``esp-at-sim flash info``: firmware and flash tools."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..device.settings_schema import SECRET_KEYS, check
from ..flash.dump import DumpError, export_flash, import_dump
from ..flash.errors import FlashError
from ..flash.flashfile import FlashImage
from ..flash.image import build_app_image
from ..flash.info import render_flash_info, render_image_info
from ..flash.lock import FlashLockedError
from ..flash.ota import begin_offline_update
from . import pki
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Subcommands
from .common import error as _error


def add_parsers(sub: Subcommands) -> None:
    """Register ``image`` and ``flash`` on the subcommand set ``sub``."""
    image = sub.add_parser("image", help="build or inspect firmware images")
    image_sub = image.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    build = image_sub.add_parser("build", help="build an app image")
    build.add_argument("--version", required=True, metavar="V")
    build.add_argument("--chip", choices=("esp32", "esp32c3"), default="esp32")
    build.add_argument("--size", type=int, metavar="BYTES")
    build.add_argument("-o", dest="output", required=True, metavar="FILE")
    build.set_defaults(func=cmd_image_build)
    info = image_sub.add_parser("info", help="describe an app image")
    info.add_argument("file", metavar="FILE")
    info.set_defaults(func=cmd_image_info)

    flash = sub.add_parser("flash", help="inspect flash files")
    flash_sub = flash.add_subparsers(dest="flash_command", required=True, metavar="ACTION")
    flash_info = flash_sub.add_parser("info", help="describe a flash file")
    flash_info.add_argument("file", metavar="FILE")
    flash_info.add_argument(
        "--show-secrets", action="store_true", help="show stored passwords (masked by default)"
    )
    flash_info.set_defaults(func=cmd_flash_info)
    load = flash_sub.add_parser(
        "load", help="install an app image (or user partition data) into a flash file"
    )
    load.add_argument("file", metavar="FILE", help="the flash file")
    load.add_argument("image", metavar="IMAGE", help="the app image (.bin)")
    load.add_argument(
        "--slot", metavar="NAME", help="target partition (default: the next OTA slot)"
    )
    load.set_defaults(func=cmd_flash_load)
    imp = flash_sub.add_parser(
        "import", help="take a real module's flash dump (esptool read_flash) as a flash file"
    )
    imp.add_argument("dump", metavar="DUMP", help="the whole flash, read from a module")
    imp.add_argument(
        "-o", dest="output", metavar="FILE", help="the flash file to make (default: DUMP.flash)"
    )
    imp.set_defaults(func=cmd_flash_import)
    exp = flash_sub.add_parser(
        "export", help="write a flash file as a dump that esptool write_flash takes at 0x0"
    )
    exp.add_argument("file", metavar="FILE", help="the flash file")
    exp.add_argument("-o", dest="output", required=True, metavar="DUMP")
    exp.add_argument(
        "--bootloader",
        metavar="BIN",
        help="a bootloader image to put at the chip's address (default: that region erased)",
    )
    exp.set_defaults(func=cmd_flash_export)
    pki.add_parser(flash_sub)


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
        secrets = () if args.show_secrets else SECRET_KEYS
        print(render_flash_info(args.file, secrets=secrets, check=check), end="")
    except FlashError as exc:
        _error(exc.reason)
        return EXIT_FAILED
    except OSError as exc:
        _error(f"cannot read {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    return EXIT_OK


def cmd_flash_load(args: argparse.Namespace) -> int:
    """Install an app image into a flash file the way an OTA update does: into the slot
    after the one that boots now (or ``--slot``), verified, then selected for the next
    boot. A module using the file runs it after its next reset (or start)."""
    try:
        data = Path(args.image).read_bytes()
    except OSError as exc:
        _error(f"cannot read {args.image}: {exc.strerror or exc}")
        return EXIT_USAGE
    try:
        with FlashImage.open(args.file, create=False) as flash:
            update = begin_offline_update(flash, args.slot, size=len(data))
            try:
                for start in range(0, len(data), 64 * 1024):
                    update.write(data[start : start + 64 * 1024])
                image = update.end()
            except FlashError:
                update.abort()
                raise
            slot = update.partition.name
    except FlashLockedError as exc:
        _error(f"not loaded: {exc.reason}")
        return EXIT_USAGE
    except FlashError as exc:
        _error(f"not loaded: {exc.reason}")
        return EXIT_FAILED
    except OSError as exc:
        _error(f"cannot open {args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    version = image.descriptor.version if image and image.descriptor else "raw data"
    print(f"{args.image}: {len(data)} bytes written to {slot} ({version}); boots at next reset")
    return EXIT_OK


def cmd_flash_import(args: argparse.Namespace) -> int:
    """Check a real module's dump and make it a flash file (exit 2 for anything that is
    not a dump of a supported module)."""
    target = args.output or f"{args.dump}.flash"
    try:
        report = import_dump(args.dump, target)
    except DumpError as exc:
        _error(f"not imported: {exc.reason}")
        return EXIT_USAGE
    except OSError as exc:
        _error(f"not imported: {exc.filename or args.dump}: {exc.strerror or exc}")
        return EXIT_USAGE
    print(f"{target}: {report.layout} layout, chip {report.chip}")
    for line in report.apps:
        print(f"  {line}")
    print(f"  boots: {report.boots}")
    print(f"  settings: {report.settings} stored values")
    for damage in report.damage:
        print(f"  NVS damage: {damage}")
    print(f"Run it with: esp-at-sim run --flash {target}")
    return EXIT_OK


def cmd_flash_export(args: argparse.Namespace) -> int:
    """Write a flash file as a dump for ``esptool write_flash 0x0 DUMP``."""
    try:
        bootloader = Path(args.bootloader).read_bytes() if args.bootloader else None
        layout = export_flash(args.file, args.output, bootloader=bootloader)
    except FlashError as exc:
        _error(f"not exported: {exc.reason}")
        return EXIT_USAGE
    except OSError as exc:
        _error(f"not exported: {exc.filename or args.file}: {exc.strerror or exc}")
        return EXIT_USAGE
    boot_note = "bootloader added" if bootloader else "bootloader region erased"
    print(f"{args.output}: {layout.flash_size} bytes for {layout.chip}, {boot_note}")
    print(f"Write it with: esptool --chip {layout.chip} write_flash 0x0 {args.output}")
    return EXIT_OK
