"""Masking of secrets before anything is logged (the event log, console traces).

Passwords travel in AT+CWJAP / AT+CWSAP (and AT+CWJEAP) command lines and come back in
``+CWSAP:`` answers. The masked forms keep what helps debugging (the command, the SSID)
and replace everything after it with ``***``.
"""

from __future__ import annotations

import re

from ..at.errors import AtError
from ..at.params import split_params

MASK = "***"
# Commands whose parameters after the first one may hold a secret: found anywhere in a
# line and in any case, with the ``_CUR``/``_DEF`` names of ESP-AT 1.x, since a line the
# module refuses (lower case, line noise before ``AT``, an old driver's command name) is
# logged too and still carries the password.
_SECRET_COMMAND = re.compile(rb"AT\+(?:CWJAP|CWSAP|CWJEAP)(?:_CUR|_DEF)?=", re.IGNORECASE)
# Answers whose fields after the prefix may hold a secret.
_SECRET_ANSWERS = (b"+CWSAP:",)


def mask_line(line: bytes) -> bytes:
    """One line (without CR LF) with any secret in it masked."""
    found = _SECRET_COMMAND.search(line)
    if found is not None:
        head, tail = line[: found.end()], line[found.end() :]
        try:
            params = split_params(tail)
        except AtError:
            return head + MASK.encode()
        if len(params) <= 1:
            return line
        return head + params[0].raw + b"," + MASK.encode()
    for prefix in _SECRET_ANSWERS:
        if line.startswith(prefix):
            return prefix + MASK.encode()
    return line


def mask_output(data: bytes) -> bytes:
    """A chunk of AT port output with secrets masked line by line."""
    if not any(p in data for p in _SECRET_ANSWERS) and _SECRET_COMMAND.search(data) is None:
        return data
    return b"\r\n".join(mask_line(line) for line in data.split(b"\r\n"))
