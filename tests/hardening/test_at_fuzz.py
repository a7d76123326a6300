"""Fuzzing the AT port of an in-process module (time scale 0) with hypothesis: arbitrary
bytes in arbitrary chunks, and command-like lines built from the real command table.

- no exception escapes a handler (the module logs nothing at ERROR: no "command
  handler crashed", no failed task);
- every complete line gets exactly one final answer (``OK``, ``ERROR``, ``busy p...``);
- a line answered ``ERROR`` leaves the module's configuration as it was (a snapshot of
  the query forms, taken before and after, is unchanged).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esp_at_sim.at.errors import Sub
from esp_at_sim.at.table import IntParam, StrParam
from esp_at_sim.commands import build_table
from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness, start_module

FINAL = re.compile(rb"\r\n(OK|ERROR|busy p\.\.\.|SEND OK|SEND FAIL)\r\n")
# Commands that reboot the module (AT+SYSREG at an unmapped address does), switch echo or
# filter what the module prints: their effect on framing is tested elsewhere; here they
# would only make the count of answers ambiguous.
EXCLUDED = ("ATE", "AT+RST", "AT+RESTORE", "AT+GSLP", "AT+SYSREG", "AT+SYSMSGFILTER")
TABLE = [c for c in build_table() if c.name not in EXCLUDED]
NAMES = [c.name for c in TABLE]
# The configuration a failed command must not touch (query forms that depend only on
# commands, not on the simulated world moving on).
SNAPSHOT = (
    "AT+CWMODE?",
    "AT+CWSAP?",
    "AT+SYSMSG?",
    "AT+CIPMUX?",
    "AT+UART_CUR?",
    "AT+SYSSTORE?",
    "AT+SYSLOG?",
    "AT+CWDHCP?",
    "AT+CWDHCPS?",
    "AT+CIPAP?",
    "AT+CWHOSTNAME?",
    "AT+CWAUTOCONN?",
    "AT+CWRECONNCFG?",
    "AT+CWCOUNTRY?",
    "AT+CIPSTAMAC?",
    "AT+CIPAPMAC?",
    "AT+CIPDINFO?",
    "AT+CIPRECVMODE?",
    "AT+SLEEP?",
    "AT+CWCONFIG?",
    "AT+CWSTAPROTO?",
    "AT+CWBANDWIDTH?",
    "AT+RFPOWER?",
    "AT+SYSMSGFILTERCFG?",
)
TURNS = 5_000  # event-loop turns to wait for answers (no real time passes at scale 0)
# ESP_AT_SIM_FUZZ_EXAMPLES raises the count for a longer hunt (a soak run).
EXAMPLES = int(os.environ.get("ESP_AT_SIM_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def module_errors() -> Iterator[Errors]:
    handler = Errors()
    logger = logging.getLogger("esp_at_sim")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def finals(data: bytes) -> list[bytes]:
    return [m.group(1) for m in FINAL.finditer(data)]


async def answers(at: AtHarness, expected: int) -> list[bytes]:
    """Wait (bounded) for ``expected`` final answers, then a little longer for extras."""
    for _ in range(TURNS):
        if len(finals(bytes(at.received[at.mark :]))) >= expected:
            break
        await asyncio.sleep(0)
    return finals(await at.settle(300))


async def snapshot(at: AtHarness) -> list[bytes]:
    return [await at.cmd(query) for query in SNAPSHOT]


def run(test: Callable[[Module, AtHarness], Awaitable[None]]) -> None:
    """A fresh module with echo off, ``test`` on it, then the module's error log."""

    async def main() -> None:
        module, at = await start_module()
        try:
            assert await at.cmd("ATE0") == b"ATE0\r\n\r\nOK\r\n"
            await test(module, at)
            # still alive and answering
            assert await at.cmd("AT") == b"\r\nOK\r\n"
        finally:
            await module.close()

    with module_errors() as errors:
        asyncio.run(main())
    assert errors.messages == []


# ------------------------------------------------------------------ arbitrary bytes
FRAGMENTS = st.sampled_from(
    [b"AT", b"AT+", b"\r", b"\n", b"\r\n", b"=", b"?", b",", b'"', b"\\", b"AT+CWMODE=", b"\xff"]
    + [name.encode() for name in NAMES]
)
CHUNK = st.binary(max_size=300) | FRAGMENTS | st.lists(FRAGMENTS, max_size=12).map(b"".join)


@FUZZ
@given(st.lists(CHUNK, min_size=1, max_size=10))
def test_arbitrary_bytes_get_one_answer_per_line(chunks: list[bytes]) -> None:
    data = b"".join(chunks) + b"\r\n"  # the last line completed, so every line counts
    lines = data.count(b"\n")

    async def body(module: Module, at: AtHarness) -> None:
        before = await snapshot(at)
        for chunk in [*chunks, b"\r\n"]:
            at.port.feed(chunk)
            await asyncio.sleep(0)
        got = await answers(at, lines)
        assert len(got) == lines, (lines, got)
        if b"OK" not in got and b"SEND OK" not in got:
            assert await snapshot(at) == before

    run(body)


# -------------------------------------------------------------- command-like lines
TEXT = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=40)


def quoted(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return text.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')


JUNK = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    quoted(TEXT),
    TEXT,
    st.just(""),
    st.sampled_from(['"HomeNet"', '"sunflower42"', '"24:0a:c4:00:00:09"', '"192.168.4.1"']),
)


def typed(spec: IntParam | StrParam) -> st.SearchStrategy[str]:
    """Mostly a value the declaration accepts, sometimes one just outside, or junk."""
    if isinstance(spec, IntParam):
        valid = st.integers(spec.lo, spec.hi).map(str)
        edge = st.sampled_from([spec.lo - 1, spec.hi + 1, spec.lo, spec.hi]).map(str)
        return st.one_of(valid, valid, valid, valid, edge, JUNK)
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=70)
    fits = quoted(printable.map(lambda t: t[: spec.max_len]))
    return st.one_of(fits, fits, fits, fits, quoted(printable), JUNK)


@st.composite
def command_line(draw: st.DrawFn) -> bytes:
    command = draw(st.sampled_from(TABLE))
    op = draw(st.sampled_from(["", "?", "=?", "=", "=", "="]))
    if op == "=" and command.params is not None:
        specs = list(command.params)
        need = command.min_params
        if need is None:
            need = sum(1 for spec in specs if not spec.optional)
        right = st.integers(need, len(specs))
        count = draw(st.one_of(right, right, right, st.integers(0, len(specs) + 1)))
        params = [draw(typed(spec)) for spec in specs[:count]]
        params += [draw(JUNK) for _ in range(count - len(params))]
    elif op == "=":
        params = draw(st.lists(JUNK, max_size=8))
    else:
        params = []
    noise = draw(st.one_of(st.just(""), st.just(""), st.just(""), TEXT))
    return (command.name + op + ",".join(params) + noise).encode("utf-8", "surrogateescape")


# Set commands that succeed (in the right Wi-Fi mode); mutated below into near misses,
# which get furthest into the handlers before they fail.
VALID = [
    "AT+CWMODE=3",
    "AT+CWMODE=1,0",
    'AT+CWSAP="pos_softap","espressif",11,3,4,0',
    'AT+CWSAP="open_ap","",6,0',
    "AT+SYSMSG=4",
    "AT+CIPMUX=1",
    "AT+UART_CUR=115200,8,1,0,0",
    "AT+UART_DEF=921600,8,1,0,1",
    "AT+SYSSTORE=0",
    "AT+SYSLOG=1",
    "AT+CWDHCP=1,1",
    'AT+CWDHCPS=1,3,"192.168.4.10","192.168.4.15"',
    'AT+CIPAP="192.168.5.1","192.168.5.1","255.255.255.0"',
    'AT+CIPSTA="192.168.1.50","192.168.1.1","255.255.255.0"',
    'AT+CWHOSTNAME="my-esp"',
    "AT+CWAUTOCONN=0",
    "AT+CWRECONNCFG=1,100",
    'AT+CWCOUNTRY=0,"US",1,11',
    'AT+CIPSTAMAC="1a:fe:34:00:00:01"',
    'AT+CIPAPMAC="1a:fe:34:00:00:02"',
    "AT+CIPDINFO=1",
    "AT+CIPRECVMODE=1",
    "AT+SLEEP=1",
    "AT+CWLAPOPT=1,2047,-100,65535",
    'AT+CWJAP="HomeNet","sunflower42"',
    'AT+CWLAP="HomeNet"',
    "AT+CWINIT=1",
    "AT+SYSTIMESTAMP=1700000000",
    "AT+WEBSERVER=1,80,25",
]


@st.composite
def near_miss(draw: st.DrawFn) -> bytes:
    """A valid set command with one thing wrong: a parameter replaced, dropped, added
    or moved, the form changed, or bytes inserted."""
    line = draw(st.sampled_from(VALID))
    name, _, tail = line.partition("=")
    params = tail.split(",")
    index = draw(st.integers(0, len(params) - 1))
    how = draw(st.sampled_from(["replace", "replace", "drop", "add", "swap", "form", "insert"]))
    if how == "replace":
        params[index] = draw(JUNK | st.sampled_from(["-1", "0", "99999999999", '""', '"x"']))
    elif how == "drop":
        del params[index]
    elif how == "add":
        params.insert(index, draw(JUNK))
    elif how == "swap" and len(params) > 1:
        params[index], params[index - 1] = params[index - 1], params[index]
    elif how == "form":
        return (name + draw(st.sampled_from(["", "?", "=?", "=", "==", "?="]))).encode()
    text = name + "=" + ",".join(params)
    if how == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(TEXT) + text[at:]
    return text.encode("utf-8", "surrogateescape")


LINE = st.one_of(
    command_line(),
    near_miss(),
    near_miss(),
    st.sampled_from(VALID).map(str.encode),
    st.from_regex(r"AT\+[A-Z_]{1,10}[=?]?", fullmatch=True).map(str.encode),
)


FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n", b"\r\nbusy p...\r\n", b"\r\nSEND FAIL\r\n")
ERR_CODE = re.compile(rb"ERR CODE:0x01([0-9a-f]{2})[0-9a-f]{4}\r\n")
# A join that fails does so after it took up the new configuration, as on the module
# (AT+CWJAP's reconnection interval is AT+CWRECONNCFG's): its ERROR is an outcome of
# the radio world, not a refusal of the line.
OUTCOMES = (b"AT+CWJAP=", b"AT+CWJAP\r")


def refused(line: bytes, answer: bytes) -> bool:
    """Whether ``ERROR`` refused the line (framing, parsing, validation, a failed
    execution of anything but a join), as opposed to reporting a failed join."""
    found = ERR_CODE.search(answer)
    if found is None:  # AT+SYSLOG=0 was among the lines: no code to tell by
        return not line.startswith(OUTCOMES)
    return Sub(int(found.group(1), 16)) is not Sub.CMD_EXEC_FAIL or not line.startswith(OUTCOMES)


@FUZZ
@given(st.sampled_from([1, 2, 3]), st.lists(LINE, min_size=1, max_size=6))
def test_command_lines_answer_once_and_errors_change_nothing(mode: int, lines: list[bytes]) -> None:
    async def body(module: Module, at: AtHarness) -> None:
        assert await at.cmd(f"AT+CWMODE={mode}") == b"\r\nOK\r\n"
        assert await at.cmd("AT+SYSLOG=1") == b"\r\nOK\r\n"
        for line in lines:
            line = line.replace(b"\n", b"")
            before = await snapshot(at)
            at.port.feed(line + b"\r\n")
            answer = await at.wait_for(*FINALS)
            got = finals(answer + await at.settle(300))
            assert len(got) == 1, (line, got)
            if got == [b"ERROR"] and refused(line, answer):
                assert await snapshot(at) == before, line

    run(body)
