"""Masking of secrets before anything is logged (the event log, console traces).

Passwords travel in AT+CWJAP / AT+CWSAP (and AT+CWJEAP) command lines and come back in
``+CWSAP:`` answers. The masked forms keep what helps debugging (the command, the SSID)
and replace everything after it with ``***``.
"""

from __future__ import annotations

from ..at.errors import AtError
from ..at.params import split_params

MASK = "***"
# Commands whose parameters after the first one may hold a secret.
_SECRET_COMMANDS = (b"AT+CWJAP=", b"AT+CWSAP=", b"AT+CWJEAP=")
# Answers whose fields after the prefix may hold a secret.
_SECRET_ANSWERS = (b"+CWSAP:",)


def mask_line(line: bytes) -> bytes:
    """One line (without CR LF) with any secret in it masked."""
    for prefix in _SECRET_COMMANDS:
        if line.startswith(prefix):
            tail = line[len(prefix) :]
            try:
                params = split_params(tail)
            except AtError:
                return prefix + MASK.encode()
            if len(params) <= 1:
                return line
            return prefix + params[0].raw + b"," + MASK.encode()
    for prefix in _SECRET_ANSWERS:
        if line.startswith(prefix):
            return prefix + MASK.encode()
    return line


def mask_output(data: bytes) -> bytes:
    """A chunk of AT port output with secrets masked line by line."""
    if not any(p in data for p in _SECRET_ANSWERS + _SECRET_COMMANDS):
        return data
    return b"\r\n".join(mask_line(line) for line in data.split(b"\r\n"))
