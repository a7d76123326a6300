"""Child process of the crash tests.

``crash_child.py count OP FLASH`` runs operation ``OP`` (see ``crash_ops``) on ``FLASH``
with fsync on and prints how many raw writes it made.

``crash_child.py kill OP LIMIT:TEAR:FLASH ...`` forks once per argument (so the imports
are paid once); each fork runs ``OP`` on its ``FLASH`` and SIGKILLs itself just before
raw write number ``LIMIT`` (counting from 0), after writing the first half of that write
when ``TEAR`` is 1. For every fork it prints ``FLASH`` and the signal that ended it.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from crash_ops import LAYOUT, run

from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.flashio import FlashDevice


def arm(limit: int, tear: bool) -> list[int]:
    """Count raw writes; die at write ``limit`` (never, for -1)."""
    original = FlashDevice.write_raw
    count = [0]

    def write_raw(self: FlashDevice, offset: int, data: bytes) -> None:
        if count[0] == limit:
            if tear and len(data) > 1:
                original(self, offset, bytes(data[: len(data) // 2]))
            os.kill(os.getpid(), signal.SIGKILL)
        count[0] += 1
        original(self, offset, data)

    FlashDevice.write_raw = write_raw  # type: ignore[method-assign]
    return count


def operate(op: str, path: Path) -> None:
    with FlashImage.open(path, LAYOUT) as flash:
        run(op, flash)


def main() -> None:
    mode, op = sys.argv[1], sys.argv[2]
    if mode == "count":
        count = arm(-1, False)
        operate(op, Path(sys.argv[3]))
        print(f"writes={count[0]}")
        return
    for spec in sys.argv[3:]:
        limit, tear, path = spec.split(":", 2)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            arm(int(limit), tear == "1")
            operate(op, Path(path))
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(path, os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0)


if __name__ == "__main__":
    main()
