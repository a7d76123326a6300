"""``run --events FILE``: the module's events as JSON lines, written so that the log can
never stop or stall the module.

- A write that fails (a full disk, ``/dev/full``, a pipe nobody reads) loses that event
  and nothing else: the module goes on. The log keeps trying with every later event;
  the first failure and the first recovery are reported on standard error, once each,
  and every gap is recorded in the log itself as ``{"kind": "log.lost", "events": N}``
  before the first event written after it.
- A regular file only ever holds whole lines: a record that could not be written in
  full is cut off again. Anything else (a pipe, a terminal, a device) is written to
  without blocking; what it cannot take at once is lost.
- ``max_bytes`` (``--events-max-bytes``) caps the file: before a record would take it
  past the cap, FILE is renamed FILE.1 (replacing the previous one) and a new FILE is
  started, so the two never hold more than twice the cap.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
from collections.abc import Callable
from typing import Any

from ..core.events import Event, EventBus

log = logging.getLogger(__name__)


class EventLog:
    """Writes every event on a bus as one JSON object per line:
    ``{"t": simulated seconds, "kind": ..., <the event's details>}``.

    Opening the file may raise :class:`OSError`; nothing after that does."""

    def __init__(self, path: str, *, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.lost = 0  # events lost since the last one written
        self._failed_before = False
        self._recovered_before = False
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False
        self._fd = -1
        self._open()
        if max_bytes is not None and not self._regular:
            os.close(self._fd)
            raise OSError(errno.EINVAL, "a size cap needs a regular file")

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._regular = stat.S_ISREG(os.fstat(self._fd).st_mode)
        if not self._regular:
            os.set_blocking(self._fd, False)
        self._size = 0

    def attach(self, bus: EventBus) -> None:
        """Log the events of ``bus`` from now on."""
        self._unsubscribe = bus.subscribe(self.write)

    def write(self, event: Event) -> None:
        if self._closed:
            return
        try:
            line = _line(_record(event))
        except (TypeError, ValueError) as exc:  # details that do not serialise: that event
            self._failed(exc)
            self._lose()
            return
        if self.lost:
            gap = {"t": round(event.t, 6), "kind": "log.lost", "events": self.lost}
            if not self._put(_line(gap)):
                self._lose()
                return
            self._recovered(self.lost)
            self.lost = 0
        if not self._put(line):
            self._lose()

    def _put(self, data: bytes) -> bool:
        """Write one whole line; False (the failure reported) when it did not go out."""
        try:
            if self._fd < 0:  # a rotation that failed half-way: start a new file
                self._open()
            elif self._would_overflow(len(data)):
                self._rotate()
            if not self._regular:
                return os.write(self._fd, data) == len(data)
            done = 0
            while done < len(data):
                done += os.pwrite(self._fd, data[done:], self._size + done)
            self._size += done
            return True
        except OSError as exc:
            self._failed(exc)
            if self._regular and self._fd >= 0:
                with contextlib.suppress(OSError):  # leave no partial line behind
                    os.ftruncate(self._fd, self._size)
            return False

    def _would_overflow(self, incoming: int) -> bool:
        """Whether ``incoming`` more bytes take a non-empty file past the cap."""
        cap = self.max_bytes
        return cap is not None and self._size > 0 and self._size + incoming > cap

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        os.replace(self.path, self.path + ".1")
        self._open()

    def _lose(self) -> None:
        self.lost += 1

    def _failed(self, exc: Exception) -> None:
        if not self._failed_before:
            self._failed_before = True
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            log.warning(
                "event log %s: cannot write (%s); the module goes on, events are lost "
                "until writing works again",
                self.path,
                reason,
            )

    def _recovered(self, lost: int) -> None:
        if not self._recovered_before:
            self._recovered_before = True
            log.warning("event log %s: writing again after losing %d events", self.path, lost)

    def close(self) -> None:
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _record(event: Event) -> dict[str, Any]:
    record: dict[str, Any] = {"t": round(event.t, 6), "kind": event.kind}
    for key, value in event.data.items():
        record[key if key not in record else f"data_{key}"] = value
    return record


def _line(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, default=str, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
