"""Parameter parsing for set commands, by the manual's rules.

Parameters are separated by commas. A string is enclosed in double quotes; inside it (and
only there) a backslash takes the next byte literally, so ``\\,`` ``\\"`` ``\\\\`` give
``,`` ``"`` ``\\``. A number is an optional minus sign and decimal digits (or ``0x``
and hex digits, as the firmware's number parser takes them: ``AT+SYSRAM=0x1800``). An
empty parameter (``AT+CWJAP="a","b",,1``) is omitted and takes its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import para_parse

ParamKind = Literal["str", "int", "empty", "raw"]


@dataclass(frozen=True)
class Param:
    """One parameter as written: a quoted string, an integer, empty, or anything else."""

    kind: ParamKind
    raw: bytes  # the text as written, quotes and escapes included
    value: bytes | int | None = None  # unescaped bytes for "str", the number for "int"

    @property
    def is_empty(self) -> bool:
        return self.kind == "empty"


def _parse_one(token: bytes, index: int) -> Param:
    if not token:
        return Param("empty", token, None)
    if token[0:1] == b'"':
        return Param("str", token, _unquote(token, index))
    body = token[1:] if token[0:1] == b"-" else token
    if body and body.isdigit():
        return Param("int", token, int(token))
    if body[:2] in (b"0x", b"0X") and len(body) > 2 and _is_hex(body[2:]):
        value = int(body[2:], 16)
        return Param("int", token, -value if token[0:1] == b"-" else value)
    return Param("raw", token, None)


def _is_hex(text: bytes) -> bool:
    return all(c in b"0123456789abcdefABCDEF" for c in text)


def _unquote(token: bytes, index: int) -> bytes:
    out = bytearray()
    i = 1
    n = len(token)
    while i < n:
        c = token[i]
        if c == 0x5C:  # backslash
            if i + 1 >= n:
                raise para_parse(index)
            out.append(token[i + 1])
            i += 2
            continue
        if c == 0x22:  # closing quote: nothing may follow inside this parameter
            if i != n - 1:
                raise para_parse(index)
            return bytes(out)
        out.append(c)
        i += 1
    raise para_parse(index)  # no closing quote


def split_params(text: bytes) -> list[Param]:
    """Split the text after ``=`` into parameters.

    Raises :class:`AtError` (parse failure) for an unterminated string.
    """
    params: list[Param] = []
    start = 0
    i = 0
    n = len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            if c == 0x5C:
                i += 2
                continue
            if c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c == 0x2C:
            params.append(_parse_one(text[start:i], len(params)))
            start = i + 1
        i += 1
    if in_str:
        raise para_parse(len(params))
    params.append(_parse_one(text[start:], len(params)))
    return params


def quote(value: bytes | str) -> bytes:
    """Quote a string for an AT command line, escaping ``\\`` ``"`` and ``,``."""
    raw = value.encode() if isinstance(value, str) else value
    out = bytearray(b'"')
    for c in raw:
        if c in (0x5C, 0x22, 0x2C):
            out.append(0x5C)
        out.append(c)
    out.append(0x22)
    return bytes(out)
