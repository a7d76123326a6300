"""The sans-IO pieces: building lines, framing the received stream, classifying lines,
choosing timeouts. The simulator's own parameter parser serves as the firmware's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.at.params import split_params
from esp_at_sim.client.protocol import (
    Framer,
    IpdData,
    Line,
    Prompt,
    build_command,
    command_name,
    default_timeout,
    escape,
    is_urc,
    parse_err_code,
    split_fields,
)

NO_LF = st.binary(max_size=80).filter(lambda b: b"\n" not in b)


def test_build_command_forms() -> None:
    assert build_command("AT") == b"AT"
    assert build_command("AT+CWMODE?") == b"AT+CWMODE?"
    assert build_command("+CWMODE", 3) == b"AT+CWMODE=3"
    assert build_command("AT+CWJAP", 'a"b', "c,d\\", None, None) == b'AT+CWJAP="a\\"b","c\\,d\\\\"'
    assert build_command("AT+CWJAP", "s", None, None, 5) == b'AT+CWJAP="s",,,5'
    assert build_command("AT+X", True, False, -3, b"\xff") == b'AT+X=1,0,-3,"\xff"'
    assert build_command("AT+X", "é") == 'AT+X="é"'.encode()


def test_build_command_refuses_what_cannot_travel() -> None:
    with pytest.raises(ValueError, match="line feed"):
        build_command("AT+CWJAP", "a\nb", "pw")
    with pytest.raises(TypeError, match="float"):
        build_command("AT+X", 1.5)  # type: ignore[arg-type]


@given(values=st.lists(st.one_of(NO_LF, st.integers(-(2**31), 2**31)), min_size=1, max_size=5))
@settings(max_examples=200)
def test_parameters_round_trip_through_the_firmware_parser(values: list[bytes | int]) -> None:
    line = build_command("AT+X", *values)
    params = split_params(line[len(b"AT+X=") :])
    assert [p.value for p in params] == values


@given(value=NO_LF)
def test_split_fields_keeps_escaped_strings_whole(value: bytes) -> None:
    assert split_fields(escape(value) + b",7") == [escape(value), b"7"]


def feed_bytewise(framer: Framer, data: bytes) -> list[object]:
    items: list[object] = []
    for i in range(len(data)):
        items += framer.feed(data[i : i + 1])
    return items


def test_framer_lines_byte_at_a_time() -> None:
    items = feed_bytewise(Framer(), b"AT\r\n\r\nOK\r\nbare lf\nend")
    assert items == [Line(b"AT"), Line(b""), Line(b"OK"), Line(b"bare lf")]


def test_framer_prompt_only_when_expected() -> None:
    framer = Framer()
    assert framer.feed(b"\r\n>") == [Line(b"")]
    framer.expect_prompt = True
    assert framer.feed(b"") == [Prompt()]
    assert framer.feed(b"\r\nOK\r\n\r\n> ") == [Line(b""), Line(b"OK"), Line(b""), Prompt()]
    assert framer.feed(b">abc\r\n") == [Line(b">abc")]


def test_framer_ipd_payload_may_hold_line_ends() -> None:
    framer = Framer()
    data = b'+IPD,0,7:ab\r\ncd\n\r\nOK\r\n+IPD,3,"1.2.3.4",80:xyz+IPD,2\r\n'
    items = feed_bytewise(framer, data)
    assert items == [
        IpdData(b"+IPD,0,7", b"ab\r\ncd\n"),
        Line(b""),
        Line(b"OK"),
        IpdData(b'+IPD,3,"1.2.3.4",80', b"xyz"),
        Line(b"+IPD,2"),  # passive mode: only the length, no payload
    ]


@pytest.mark.parametrize(
    "line",
    [
        b"ready",
        b"WIFI CONNECTED",
        b"WIFI GOT IP",
        b"WIFI DISCONNECT",
        b'+STA_CONNECTED:"f2:11:22:33:44:55"',
        b'+DIST_STA_IP:"f2:11:22:33:44:55","192.168.4.2"',
        b'+STA_DISCONNECTED:"f2:11:22:33:44:55"',
        b"+WEBSERVERRSP:1",
        b"+IPD,4",
        b"0,CONNECT",
        b"4,CLOSED",
        b"+TIME_UPDATED",
    ],
)
def test_urcs_are_recognised(line: bytes) -> None:
    assert is_urc(line)


@pytest.mark.parametrize(
    "line", [b"OK", b"+CWJAP:2", b"+CWMODE:3", b"AT version:4.1", b"STATUS:2", b"No AP", b"10"]
)
def test_answer_lines_are_not_urcs(line: bytes) -> None:
    assert not is_urc(line)


def test_err_code_lines() -> None:
    assert parse_err_code(b"ERR CODE:0x01070000") == 0x01070000
    assert parse_err_code(b"ERR CODE:0xzz") is None
    assert parse_err_code(b"ERROR") is None


def test_timeouts_per_command() -> None:
    assert command_name(b'at+cwjap="a","b"') == b"AT+CWJAP"
    assert default_timeout(b'AT+CWJAP="a","b"', 5.0) == 20.0
    assert default_timeout(b'AT+CWJAP="a,\\"","b",,,,,,40', 5.0) == 45.0
    assert default_timeout(b"AT+CWJAP", 5.0) == 20.0
    assert default_timeout(b"AT+CWJAP?", 5.0) == 5.0
    assert default_timeout(b"AT+CWLAP", 5.0) == 15.0
    assert default_timeout(b"AT+GMR", 7.0) == 7.0
