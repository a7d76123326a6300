"""Lines that arrive while a command is busy: ``busy p...`` (after ``ERR CODE:0x010b0000``
with AT+SYSLOG=1), and AT+RST, which the firmware takes even then: ``Will force to
restart!!!`` and a reset."""

from __future__ import annotations

from .harness import At

JOIN_SLOW = b'AT+CWJAP="Slow","slowpass1"\r\n'  # 30 s to associate: the join stays busy


async def test_busy_with_syslog_prints_the_processing_code(at: At) -> None:
    await at.ok("AT+SYSLOG=1")
    at.send(JOIN_SLOW[:-2])
    at.send("AT+CWMODE?")
    assert await at.wait_for(b"busy p...\r\n") == (
        JOIN_SLOW + b"ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n"
    )


async def test_busy_without_syslog_is_the_word_alone(at: At) -> None:
    at.send(JOIN_SLOW[:-2])
    at.send("AT")
    assert await at.wait_for(b"busy p...\r\n") == JOIN_SLOW + b"\r\nbusy p...\r\n"


async def test_rst_while_busy_forces_a_restart(at: At) -> None:
    await at.ok("AT+CWMODE=3")  # stored: the module comes back in mode 3
    at.send(JOIN_SLOW[:-2])
    at.send("AT+RST")
    assert await at.wait_for(b"ready\r\n") == (
        JOIN_SLOW + b"\r\nWill force to restart!!!\r\n\r\nready\r\n"
    )
    assert await at.ok("AT+CWMODE?") == b"+CWMODE:3\r\n"
    # the join had stored its network before it went busy: auto-connect takes it up
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:3,"Slow"\r\n'
    assert await at.later(40) == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"


async def test_rst_queued_before_the_command_went_busy(at: At) -> None:
    """AT+RST typed right behind the join, in the same write: the join goes busy first,
    then the queued AT+RST forces the restart."""
    at.port.feed(JOIN_SLOW + b"AT+RST\r\n")
    assert await at.wait_for(b"ready\r\n") == (
        JOIN_SLOW + b"\r\nWill force to restart!!!\r\n\r\nready\r\n"
    )


async def test_rst_when_idle_is_an_ordinary_reset(at: At) -> None:
    assert await at.cmd_urcs("AT+RST") == b"AT+RST\r\n\r\nOK\r\n"
    assert await at.wait_for(b"ready\r\n") == b"\r\nready\r\n"
