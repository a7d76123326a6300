"""The exceptions of the AT client, all rooted in :class:`AtClientError`.

::

    AtClientError
    ├── AtConnectionError (also ConnectionError)  the port cannot be opened, or went away
    │   └── ModuleResetError                      the module booted while a command ran
    ├── AtTimeoutError (also TimeoutError)        no final result in time
    ├── AtParseError (also ValueError)            an answer in a shape we cannot read
    ├── AtBusyError                               ``busy p...``, retries exhausted
    └── AtCommandError                            ``ERROR`` / ``SEND FAIL`` (``.code``, ``.lines``)
        └── JoinError                             ``AT+CWJAP`` failed (``.reason``)

Errors raised by the operating system or pyserial are wrapped, with the original kept
as ``__cause__``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class AtClientError(Exception):
    """Base class of every error the client raises."""


class AtConnectionError(AtClientError, ConnectionError):
    """The port could not be opened, or it closed or failed while in use."""


class ModuleResetError(AtConnectionError):
    """The module printed ``ready`` while a command was waiting for its answer: it
    rebooted (a crash, a watchdog, a power cut) and the command is lost."""


class AtTimeoutError(AtClientError, TimeoutError):
    """A command got no final result in time.

    ``command`` is the line that was sent, ``lines`` what had arrived so far.
    """

    def __init__(self, message: str, command: bytes = b"", lines: Sequence[bytes] = ()) -> None:
        super().__init__(message)
        self.command = command
        self.lines = tuple(lines)


class AtParseError(AtClientError, ValueError):
    """An answer did not have the shape its command documents."""


class AtBusyError(AtClientError):
    """The module answered ``busy p...`` (it is still executing an earlier command)
    and the configured retries were used up."""

    def __init__(self, message: str, command: bytes = b"") -> None:
        super().__init__(message)
        self.command = command


class AtCommandError(AtClientError):
    """The module answered ``ERROR`` (or ``SEND FAIL``).

    ``lines`` holds the information lines before the final result; ``code`` is the
    number of the ``ERR CODE:0x…`` line when the module printed one (``AT+SYSLOG=1``),
    else ``None``; ``final`` is the final result word.
    """

    def __init__(
        self,
        command: bytes,
        lines: Sequence[bytes] = (),
        code: int | None = None,
        final: str = "ERROR",
    ) -> None:
        self.command = command
        self.lines = tuple(lines)
        self.code = code
        self.final = final
        text = command.decode("utf-8", "replace")
        suffix = f" (ERR CODE 0x{code:08x})" if code is not None else ""
        super().__init__(f"{text!r} answered {final}{suffix}")

    @property
    def sub_code(self) -> int | None:
        """The error's sub-category (byte 2 of the code: 0x07 parameter invalid…)."""
        return None if self.code is None else (self.code >> 16) & 0xFF


class JoinReason(enum.IntEnum):
    """Why ``AT+CWJAP`` failed: the ``<code>`` of ``+CWJAP:<code>``."""

    TIMEOUT = 1
    WRONG_PASSWORD = 2
    NOT_FOUND = 3
    FAILED = 4


class JoinError(AtCommandError):
    """``AT+CWJAP`` failed with ``+CWJAP:<code>``; ``reason`` is that code (a
    :class:`JoinReason`, or the bare number for a code this client does not know)."""

    def __init__(
        self,
        command: bytes,
        reason: JoinReason | int,
        lines: Sequence[bytes] = (),
        code: int | None = None,
    ) -> None:
        super().__init__(command, lines, code)
        self.reason = reason
        name = reason.name if isinstance(reason, JoinReason) else str(reason)
        self.args = (f"joining the AP failed: {name} (+CWJAP:{int(reason)})",)
