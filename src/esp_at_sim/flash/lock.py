"""One writer per flash file: an advisory lock held while a flash file is open for writing.

Every writer (a running module, ``flash load``, any command that changes a flash file)
opens the file through :meth:`FlashDevice.open` with ``writable=True``, which takes an
exclusive ``flock`` on it for as long as the file stays open; a second writer gets
:class:`FlashLockedError` naming the process that holds the lock, and the command line
turns that into exit status 2. Readers (``flash info``) take no lock and may read a file
that a module is using. The lock is advisory: it keeps our own processes apart, not a
program that writes the file without asking. ``flock`` belongs to the open file, not to
the process, so two opens in one process exclude each other too, and the kernel drops the
lock when the holder exits, however it exits (SIGKILL included): there is no stale lock
file to clean up. The holder's PID comes from ``/proc/locks`` (Linux); elsewhere the error
says only that another process holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from esp_at_sim.flash.errors import FlashFileError

PROC_LOCKS = Path("/proc/locks")


class FlashLockedError(FlashFileError):
    """Another process (or another open file in this one) is writing the flash file."""

    def __init__(self, path: str | os.PathLike[str], pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"{path} is in use by {holder} (one module or tool writes a flash file at a time)"
        )
        self.path = Path(path)
        self.pid = pid


def holder_pid(fd: int) -> int | None:
    """The PID holding a ``flock`` on the file open as ``fd``, from ``/proc/locks``."""
    st = os.fstat(fd)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        text = PROC_LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split()
        # "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END"; "N: -> ..." lines wait
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == ident:
            try:
                return int(fields[4])
            except ValueError:
                return None
    return None


def lock_for_writing(fd: int, path: str | os.PathLike[str]) -> None:
    """Take the exclusive lock on the open file ``fd`` or raise :class:`FlashLockedError`.

    The lock lasts until ``fd`` is closed."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise FlashLockedError(path, holder_pid(fd)) from None
