"""The sans-IO engine on its own: framing, echo, busy, URC ordering."""

from __future__ import annotations

import pytest

from esp_at_sim.at.engine import AtEngine, BadLine, CommandLine, DataReceived, Mode
from esp_at_sim.at.errors import AtError, Sub


def run_sync(engine: AtEngine, data: bytes) -> bytes:
    """Feed bytes and answer every command line OK at once, like a fast command."""
    engine.receive_data(data)
    while (event := engine.next_event()) is not None:
        if isinstance(event, CommandLine):
            engine.finish()
        elif isinstance(event, BadLine):
            engine.fail(event.error)
    return engine.data_to_send()


def test_echo_and_ok() -> None:
    assert run_sync(AtEngine(), b"AT\r\n") == b"AT\r\n\r\nOK\r\n"


def test_echo_off() -> None:
    engine = AtEngine()
    engine.echo = False
    assert run_sync(engine, b"AT\r\n") == b"\r\nOK\r\n"


@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
def test_byte_at_a_time_equals_one_write(chunk: int) -> None:
    data = b"AT\r\nAT+GMR\r\nATE0\r\n"
    whole = run_sync(AtEngine(), data)
    engine = AtEngine()
    pieces = b"".join(run_sync(engine, data[i : i + chunk]) for i in range(0, len(data), chunk))
    assert pieces == whole


def test_crlf_split_across_reads() -> None:
    engine = AtEngine()
    assert run_sync(engine, b"AT\r") == b""
    assert run_sync(engine, b"\n") == b"AT\r\n\r\nOK\r\n"


def test_bare_lf_is_no_terminator_error() -> None:
    engine = AtEngine()
    engine.syslog = True
    engine.receive_data(b"AT\n")
    event = engine.next_event()
    assert isinstance(event, BadLine)
    assert event.error.sub is Sub.NO_TERMINATOR
    engine.fail(event.error)
    assert engine.data_to_send() == b"AT\n" + b"ERR CODE:0x01020000\r\n\r\nERROR\r\n"


def test_lone_cr_stays_in_line() -> None:
    engine = AtEngine()
    engine.receive_data(b"AT\rAT\r\n")
    event = engine.next_event()
    assert event == CommandLine(b"AT\rAT")


def test_overlong_line_discarded_until_lf() -> None:
    engine = AtEngine()
    engine.receive_data(b"AT+" + b"A" * 300 + b"\r\nAT\r\n")
    first = engine.next_event()
    assert isinstance(first, BadLine)
    engine.fail(first.error)
    assert engine.next_event() == CommandLine(b"AT")
    engine.finish()
    assert engine.data_to_send() == b"\r\nERROR\r\nAT\r\n\r\nOK\r\n"


def test_line_of_exactly_256_bytes_is_accepted() -> None:
    line = b"AT+" + b"A" * (256 - 5) + b"\r\n"
    assert len(line) == 256
    engine = AtEngine()
    engine.receive_data(line)
    assert isinstance(engine.next_event(), CommandLine)
    engine2 = AtEngine()
    engine2.receive_data(b"A" + line)
    assert isinstance(engine2.next_event(), BadLine)


def test_busy_while_background() -> None:
    engine = AtEngine()
    engine.receive_data(b'AT+CWJAP="a","b"\r\nAT\r\n')
    assert isinstance(engine.next_event(), CommandLine)
    engine.background()
    assert engine.mode is Mode.BACKGROUND
    engine.receive_data(b"AT+GMR\r\n")
    assert engine.next_event() is None
    out = engine.data_to_send()
    assert out == b'AT+CWJAP="a","b"\r\n' + b"\r\nbusy p...\r\n" * 2
    engine.finish()
    assert engine.next_event() is None  # busy lines are gone
    assert engine.data_to_send() == b"\r\nOK\r\n"


def test_urc_waits_inside_response() -> None:
    engine = AtEngine()
    engine.echo = False
    engine.receive_data(b"AT+CWLAP\r\n")
    engine.next_event()
    engine.background()
    engine.reply('+CWLAP:(3,"a",-40,"aa:bb:cc:dd:ee:ff",1,0,0,4,4,7,0)')
    engine.urc("WIFI DISCONNECT")
    engine.finish()
    assert engine.data_to_send() == (
        b'+CWLAP:(3,"a",-40,"aa:bb:cc:dd:ee:ff",1,0,0,4,4,7,0)\r\n\r\nOK\r\nWIFI DISCONNECT\r\n'
    )


def test_urc_passes_while_waiting_without_output() -> None:
    engine = AtEngine()
    engine.echo = False
    engine.receive_data(b'AT+CWJAP="a","b"\r\n')
    engine.next_event()
    engine.background()
    engine.urc("WIFI CONNECTED")
    engine.urc("WIFI GOT IP")
    engine.finish()
    assert engine.data_to_send() == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"


def test_urc_during_synchronous_run_follows_result() -> None:
    engine = AtEngine()
    engine.echo = False
    engine.receive_data(b"AT+CWQAP\r\n")
    engine.next_event()
    engine.urc("WIFI DISCONNECT")
    engine.finish()
    assert engine.data_to_send() == b"\r\nOK\r\nWIFI DISCONNECT\r\n"


def test_urc_when_idle_goes_out_at_once() -> None:
    engine = AtEngine()
    engine.urc('+STA_CONNECTED:"f2:11:22:33:44:55"')
    assert engine.data_to_send() == b'+STA_CONNECTED:"f2:11:22:33:44:55"\r\n'


def test_fail_renders_lines_code_and_final() -> None:
    engine = AtEngine()
    engine.echo = False
    engine.syslog = True
    engine.receive_data(b"AT+CWJAP\r\n")
    engine.next_event()
    engine.fail(AtError(Sub.CMD_EXEC_FAIL, 0, lines=("+CWJAP:2",)))
    assert engine.data_to_send() == b"+CWJAP:2\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n"


def test_data_mode_collects_exact_length() -> None:
    engine = AtEngine()
    engine.echo = False
    engine.receive_data(b"AT+CIPSEND=5\r\n")
    engine.next_event()
    engine.write(b"\r\nOK\r\n\r\n>")
    engine.expect_data(5)
    engine.receive_data(b"he")
    assert engine.next_event() is None
    engine.receive_data(b"llo")
    assert engine.next_event() == DataReceived(b"hello")
    engine.finish("SEND OK")
    assert engine.data_to_send() == b"\r\nOK\r\n\r\n>\r\nSEND OK\r\n"


def test_reset_forgets_input_and_restores_echo() -> None:
    engine = AtEngine()
    engine.echo = False
    engine.syslog = True
    engine.receive_data(b"AT+GM")
    engine.reset()
    assert engine.echo and not engine.syslog
    assert run_sync(engine, b"AT\r\n") == b"AT\r\n\r\nOK\r\n"


def test_flood_is_bounded_and_every_line_answered() -> None:
    engine = AtEngine()
    engine.echo = False
    out = run_sync(engine, b"AT\r\n" * 500)
    assert out.count(b"\r\nOK\r\n") == 500
    flood = b"AT\r\n" * 10_000  # more than the receive buffer holds at once
    out = run_sync(engine, flood)
    assert out.count(b"\r\nOK\r\n") + out.count(b"busy p...") == 10_000
    assert 0 < out.count(b"busy p...") < 10_000
