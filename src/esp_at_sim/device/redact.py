"""Masking of secrets before anything is logged (the event log, the script transcript).

One rule for command lines: what the command table parses as a secret parameter is
masked (:meth:`esp_at_sim.at.table.CommandTable.mask`), so every line the module accepts
as a command with a secret is masked, however it is spaced or spelled, and a line it
cannot parse shows no parameters at all. The module's output repeats command lines in
its echo: :func:`mask_output` replaces each echo by the masked line. Answers that carry
a secret (``+CWSAP:`` holds the SoftAP password, SmartConfig's ``password:`` line the
station's, ``+CIPSSLCPSK:`` a link's pre-shared key) keep their prefix only, in the
output and in the ``urc`` events.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = b"***"
# Answers and messages whose fields after the prefix may hold a secret (SmartConfig
# prints the password it received as ``password:<password>``).
_SECRET_ANSWERS = (b"+CWSAP:", b"password:", b"+CIPSSLCPSK:", b"+CIPSSLCPSKHEX:")


def mask_answer(line: bytes) -> bytes:
    """One output line (without CR LF) with the fields of a secret answer masked."""
    for prefix in _SECRET_ANSWERS:
        if line.startswith(prefix):
            return prefix + MASK
    return line


def mask_output(data: bytes, echoes: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
    """A chunk of AT port output as it may be logged. ``echoes``: pairs of a command line
    and its masked form; the line's echo in ``data`` is replaced by the masked form."""
    for line, shown in echoes:
        if line and line != shown:
            data = data.replace(line, shown)
    if not any(p in data for p in _SECRET_ANSWERS):
        return data
    return b"\r\n".join(mask_answer(line) for line in data.split(b"\r\n"))
