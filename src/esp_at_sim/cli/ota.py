"""``esp-at-sim ota URL FILE [--partition NAME]``: upload firmware through a module's web
server (real or simulated) with a progress bar, after checking the file.

It only speaks HTTP (:class:`esp_at_sim.client.WebApi`): nothing of the simulator is
imported, so it works against a real ESP32 too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .common import (
    EXIT_USAGE,
    Failure,
    Subcommands,
    answer,
    finish,
    open_api,
    report,
    run_loop,
    say,
)

CHUNK = 16 * 1024
IMAGE_MAGIC = 0xE9
OTA = "ota"
UPLOAD_READ_TIMEOUT = 120.0  # seconds the module may take to verify an image and answer


def add_parser(sub: Subcommands) -> None:
    """Register ``ota`` on the subcommand set ``sub``."""
    parser = sub.add_parser("ota", help="upload firmware through the web server")
    parser.add_argument("url", metavar="URL")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--partition", metavar="NAME", help="ota (default: the app) or a user partition's label"
    )
    parser.set_defaults(func=cmd_ota)


def cmd_ota(args: argparse.Namespace) -> int:
    """``esp-at-sim ota``."""
    try:
        return run_loop(ota(args.url, args.file, partition=args.partition))
    except Failure as exc:
        return report(exc, "ota")


async def ota(
    url: str, file: str | Path, *, partition: str | None = None, tty: bool | None = None
) -> int:
    """Upload ``file`` to the module at ``url``; the exit status."""
    return await finish(_ota(url, Path(file), partition or OTA, tty), "ota")


def check_file(path: Path, partition: str) -> int:
    """The file's size, after the checks the OTA page makes; :class:`Failure` if bad."""
    if path.suffix.lower() != ".bin":
        raise Failure(f"{path}: not a .bin file", EXIT_USAGE)
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
            size = path.stat().st_size
    except OSError as exc:
        raise Failure(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from exc
    if size == 0:
        raise Failure(f"{path} is empty", EXIT_USAGE)
    if partition.startswith(OTA) and first[0] != IMAGE_MAGIC:
        raise Failure(
            f"{path} is not an app image (first byte {first[0]:#04x}, not 0xe9)", EXIT_USAGE
        )
    return size


async def _ota(url: str, path: Path, partition: str, tty: bool | None) -> None:
    async with open_api(url, read_timeout=UPLOAD_READ_TIMEOUT) as api:
        size = check_file(path, partition)
        info = await answer(api.getotainfo(), EXIT_USAGE)
        listed = info.get("partitions")
        names = [str(name) for name in listed] if isinstance(listed, list) else []
        say(
            f"module at {api.base}: firmware {info.get('fw_version', '?')}, "
            f"AT core {info.get('at_core_version', '?')}; partitions: {', '.join(names) or 'none'}"
        )
        if partition not in names:
            raise Failure(
                f"the module has no partition {partition!r} (it has: {', '.join(names)})",
                EXIT_USAGE,
            )
        limit = _size_of(info, partition)
        if limit is not None and size > limit:
            raise Failure(
                f"{path} is {size} bytes; the module's partition {partition!r} holds {limit}: "
                "nothing was sent",
                EXIT_USAGE,
            )
        meter = Meter(path.name, size, sys.stdout.isatty() if tty is None else tty)
        try:
            status, body = await answer(
                api.setotadata_answer(partition, _chunks(path, meter), size)
            )
        finally:
            meter.close()
    _verdict(status, partition, body)


def _size_of(info: dict[str, Any], partition: str) -> int | None:
    """The partition's size from ``/getotainfo`` (``sizes``: esp-at-sim's; a real module
    does not say, and then the module itself refuses what does not fit)."""
    sizes = info.get("sizes")
    size = sizes.get(partition) if isinstance(sizes, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _verdict(status: int, partition: str, body: dict[str, Any]) -> None:
    if status == 200:
        if partition.startswith(OTA):
            say(
                "accepted: restart the module (AT+RST) to run it. After the restart its web "
                "server is off until the host sends AT+WEBSERVER again"
            )
        else:
            say(f"accepted: written to partition {partition}")
        return
    if status == 500:
        error, reason = body.get("error"), body.get("reason")
        why = (
            f"{error} (reason: {reason})" if isinstance(error, str) and error else "no reason given"
        )
        if partition.startswith(OTA):
            after = "the running firmware is unchanged"
        elif body.get("erased") is False:
            after = f"nothing was written to {partition}"
        else:
            after = f"{partition} may be left erased or partly written"
        raise Failure(f"rejected by the module: {why}; {after}")
    if status == 409:
        raise Failure("the module is busy with another upload; try again when it is done")
    raise Failure(f"the module refused the upload (HTTP {status})")


async def _chunks(path: Path, meter: Meter) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
            meter.advance(len(chunk))


class Meter:
    """Upload progress: a rich bar (bytes, rate, time left) on a terminal, otherwise a
    line at every tenth of the file."""

    def __init__(self, name: str, total: int, tty: bool) -> None:
        self.total = total
        self.done = 0
        self._step = 0
        self._progress: Any = None
        if tty:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            self._progress.start()
            self._task = self._progress.add_task(name, total=total)
        else:
            say(f"sending {name}: {total} bytes")

    def advance(self, count: int) -> None:
        self.done += count
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done)
            return
        step = self.done * 10 // self.total
        if step > self._step:
            self._step = step
            say(f"sent {self.done} of {self.total} bytes ({self.done * 100 // self.total}%)")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
