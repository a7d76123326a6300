"""AT+SYSMSGFILTER and AT+SYSMSGFILTERCFG: filters added after a prompt, POSIX
expressions, and system messages really filtered (URCs, results, information lines)."""

from __future__ import annotations

import pytest

from esp_at_sim.device.msgfilter import MessageFilter, compile_posix
from esp_at_sim.testing import AtHarness, start_module
from wifi.harness import At, scenario

PROMPT = b"\r\nOK\r\n\r\n>"


async def add(
    at: AtHarness, head: bytes, tail: bytes, cflags: int | None = None, op: int = 1
) -> bytes:
    flags = "" if cflags is None else f",{cflags}"
    line = f"AT+SYSMSGFILTERCFG={op},{len(head)},{len(tail)}{flags}"
    at.port.feed(line.encode() + b"\r\n")
    assert await at.wait_for(b">") == line.encode() + b"\r\n" + PROMPT
    at.port.feed(head + tail)
    return await at.wait_for(b"\r\nOK\r\n", b"\r\nERROR\r\n")


async def test_the_manuals_example_filters_wifi_connected() -> None:
    module, _ = await start_module(scenario())
    at = At(module)
    try:
        assert await add(at, b"^WIFI CONNECTED\r\n", b"") == b"\r\nOK\r\n"
        assert await at.ok("AT+SYSMSGFILTER=1") == b""
        await at.ok("AT+CWMODE=1")
        assert await at.ok('AT+CWJAP="Lab","pass1234"') == b"WIFI GOT IP\r\n"
        assert await at.ok("AT+SYSMSGFILTER?") == b"+SYSMSGFILTER:1\r\n"
        assert await at.ok("AT+SYSMSGFILTERCFG?") == (
            b'+SYSMSGFILTERCFG:0,"^WIFI CONNECTED\r\n",""\r\n'
        )
        await at.ok("AT+CWQAP")
        assert await add(at, b"^WIFI CONNECTED\r\n", b"", op=2) == b"\r\nOK\r\n"
        assert await at.ok('AT+CWJAP="Lab","pass1234"') == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"
    finally:
        await module.close()


async def test_head_and_tail_cut_a_message_and_results_are_messages(at: AtHarness) -> None:
    """The manual's HTTP example in small: the head and tail of an information line go,
    and a filter on the final OK removes it whole."""
    assert await add(at, b"^+SYSLOG:", b"\r\n$") == b"\r\nOK\r\n"
    assert await add(at, b"", b"\r\nOK\r\n$") == b"\r\nOK\r\n"
    at.port.feed(b"AT+SYSMSGFILTER=1\r\n")
    assert await at.settle() == b"AT+SYSMSGFILTER=1\r\n"  # its OK is gone
    at.port.feed(b"AT+SYSLOG?\r\n")
    assert await at.settle() == b"AT+SYSLOG?\r\n0"
    at.port.feed(b"AT+FAKE\r\n")
    assert await at.wait_for(b"\r\nERROR\r\n") == b"AT+FAKE\r\n\r\nERROR\r\n"
    at.port.feed(b"AT+SYSMSGFILTER=0\r\n")
    # filtering is off before this command's own OK goes out
    assert await at.wait_for(b"\r\nOK\r\n") == b"AT+SYSMSGFILTER=0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+SYSLOG?") == b"AT+SYSLOG?\r\n+SYSLOG:0\r\n\r\nOK\r\n"


async def test_cflags_extended_and_icase(at: AtHarness) -> None:
    assert await add(at, b"^\\+(SYSSTORE|SYSLOG):", b"", cflags=3) == b"\r\nOK\r\n"
    await at.cmd("AT+SYSMSGFILTER=1")
    assert await at.cmd("AT+SYSSTORE?") == b"AT+SYSSTORE?\r\n1\r\n\r\nOK\r\n"


async def test_first_matching_filter_wins_and_clear_removes_all(at: AtHarness) -> None:
    await add(at, b"^+SYSSTORE", b"")
    await add(at, b"^+SYSSTORE:", b"")
    await at.cmd("AT+SYSMSGFILTER=1")
    assert await at.cmd("AT+SYSSTORE?") == b"AT+SYSSTORE?\r\n:1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+SYSMSGFILTERCFG=0") == b"AT+SYSMSGFILTERCFG=0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+SYSSTORE?") == b"AT+SYSSTORE?\r\n+SYSSTORE:1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+SYSMSGFILTERCFG?") == b"AT+SYSMSGFILTERCFG?\r\n\r\nOK\r\n"


async def test_bad_expressions_and_unknown_deletes_are_errors(at: AtHarness) -> None:
    assert await add(at, b"^[abc", b"") == b"\r\nERROR\r\n"
    assert await add(at, b"a\\{2", b"") == b"\r\nERROR\r\n"
    assert await add(at, b"x(", b"", cflags=1) == b"\r\nERROR\r\n"
    assert await add(at, b"^nothing", b"", op=2) == b"\r\nERROR\r\n"
    assert await at.cmd("AT+SYSMSGFILTERCFG?") == b"AT+SYSMSGFILTERCFG?\r\n\r\nOK\r\n"


@pytest.mark.parametrize(
    "line",
    [
        "AT+SYSMSGFILTERCFG=1,0,0",
        "AT+SYSMSGFILTERCFG=1,65,0",
        "AT+SYSMSGFILTERCFG=1,3",
        "AT+SYSMSGFILTERCFG=1,3,0,8",
        "AT+SYSMSGFILTERCFG=3,3,0",
        "AT+SYSMSGFILTERCFG=0,3,0",
        "AT+SYSMSGFILTER=2",
        "AT+SYSMSGFILTER",
    ],
)
async def test_bad_lines(at: AtHarness, line: str) -> None:
    assert (await at.cmd(line)).endswith(b"\r\nERROR\r\n")
    assert b"+SYSMSGFILTER:0" in await at.cmd("AT+SYSMSGFILTER?")


async def test_filters_are_gone_after_a_reset(at: AtHarness) -> None:
    await add(at, b"^+SYSLOG:", b"")
    await at.cmd("AT+SYSMSGFILTER=1")
    await at.cmd("AT+RST")
    await at.wait_for(b"ready\r\n")
    assert await at.cmd("AT+SYSLOG?") == b"AT+SYSLOG?\r\n+SYSLOG:0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+SYSMSGFILTERCFG?") == b"AT+SYSMSGFILTERCFG?\r\n\r\nOK\r\n"


@pytest.mark.parametrize(
    ("pattern", "cflags", "text", "found"),
    [
        (b"a+b", 0, b"a+b", True),  # + is literal in basic syntax
        (b"a\\+b", 0, b"aaab", True),  # GNU's \+
        (b"a+b", 1, b"aaab", True),
        (b"\\(ab\\)\\{2\\}", 0, b"abab", True),
        (b"(ab){2}", 0, b"(ab){2}", True),
        (b"*x", 0, b"*x", True),  # a leading star is literal
        (b"a$b", 0, b"a$b", True),  # $ in the middle is literal in basic syntax
        (b"x$", 0, b"x\n", False),  # $ is the very end without REG_NEWLINE
        (b"x$", 4, b"x\ny", True),
        (b"a.b", 0, b"a\nb", True),
        (b"a.b", 4, b"a\nb", False),
        (b"[[:digit:]][[:alpha:]]", 0, b"1z", True),
        (b"[]x]", 0, b"]", True),
        (b"[a\\]", 0, b"\\", True),  # no escapes inside brackets
        (b"ABC", 2, b"abc", True),
        (b"a{", 1, b"a{", True),
    ],
)
def test_posix_expressions(pattern: bytes, cflags: int, text: bytes, found: bool) -> None:
    assert bool(compile_posix(pattern, cflags).search(text)) is found


def test_a_filter_needs_an_expression() -> None:
    with pytest.raises(ValueError):
        MessageFilter.create(b"", b"", 0)
