"""AT errors that render themselves into the wire response.

ESP-AT reports a failed command with ``ERROR``; with ``AT+SYSLOG=1`` the line
``ERR CODE:0x01SSEEEE`` comes first, where ``SS`` is the sub-category below and ``EEEE``
an extension (the parameter concerned, or ``need << 8 | given`` for a count mismatch).
The numbering is the firmware's own (``esp_at.h``); the manual's table agrees with it.
"""

from __future__ import annotations

import enum

ERROR_CATEGORY = 0x01


class Sub(enum.IntEnum):
    """Error sub-categories (``esp_at_error_code``)."""

    OK = 0x00
    COMMON_ERROR = 0x01
    NO_TERMINATOR = 0x02
    NO_AT = 0x03
    PARA_LENGTH_MISMATCH = 0x04
    PARA_TYPE_MISMATCH = 0x05
    PARA_NUM_MISMATCH = 0x06
    PARA_INVALID = 0x07
    PARA_PARSE_FAIL = 0x08
    UNSUPPORT_CMD = 0x09
    CMD_EXEC_FAIL = 0x0A
    CMD_PROCESSING = 0x0B
    CMD_OP_ERROR = 0x0C


class AtError(Exception):
    """A command failed: the engine answers ``ERROR`` (after ``ERR CODE`` when enabled).

    ``lines`` are information lines printed before the final result (``+CWJAP:2`` for
    instance); ``final`` replaces the word ``ERROR`` where the firmware prints another one.
    """

    def __init__(
        self,
        sub: Sub,
        extension: int = 0,
        *,
        lines: tuple[str, ...] = (),
        final: str = "ERROR",
        reason: str = "",
    ) -> None:
        self.sub = sub
        self.extension = extension & 0xFFFF
        self.lines = lines
        self.final = final
        self.reason = reason
        super().__init__(reason or f"{sub.name} (0x{self.code:08x})")

    @property
    def code(self) -> int:
        return (ERROR_CATEGORY << 24) | (int(self.sub) << 16) | self.extension

    def code_line(self) -> str:
        return f"ERR CODE:0x{self.code:08x}"


def para_invalid(index: int, reason: str = "") -> AtError:
    """A parameter's value is out of range or otherwise not acceptable."""
    return AtError(Sub.PARA_INVALID, index, reason=reason)


def para_type(index: int) -> AtError:
    """A parameter has the wrong type (a string where a number belongs, or the reverse)."""
    return AtError(Sub.PARA_TYPE_MISMATCH, index)


def para_length(index: int) -> AtError:
    """A string parameter is too long."""
    return AtError(Sub.PARA_LENGTH_MISMATCH, index)


def para_num(need: int, given: int) -> AtError:
    """The number of parameters is wrong."""
    return AtError(Sub.PARA_NUM_MISMATCH, ((need & 0xFF) << 8) | (given & 0xFF))


def para_parse(index: int) -> AtError:
    """A parameter could not be parsed at all (an unterminated string, for instance)."""
    return AtError(Sub.PARA_PARSE_FAIL, index)


def exec_fail(result: int = 0, *, lines: tuple[str, ...] = (), reason: str = "") -> AtError:
    """The command was well-formed but could not be carried out."""
    return AtError(Sub.CMD_EXEC_FAIL, result, lines=lines, reason=reason)
