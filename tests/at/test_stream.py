"""The engine's stream mode (passthrough, AT+CIPSENDL): raw chunks out, as they came."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from esp_at_sim.at.engine import AtEngine, CommandLine, Mode, StreamData


def streaming(limit: int | None = None) -> AtEngine:
    engine = AtEngine()
    engine.receive_data(b"AT+CIPSEND\r\n")
    assert engine.next_event() == CommandLine(b"AT+CIPSEND")
    engine.write(b"\r\nOK\r\n\r\n>")
    engine.stream(limit)
    assert engine.data_to_send() == b"AT+CIPSEND\r\n\r\nOK\r\n\r\n>"
    return engine


def test_chunks_come_out_as_they_came_without_echo_or_framing() -> None:
    engine = streaming()
    for chunk in (b"AT\r\n", b"+++", b"\n", b"x" * 5000):
        engine.receive_data(chunk)
        assert engine.next_event() == StreamData(chunk)
        assert engine.next_event() is None
    assert engine.data_to_send() == b""
    assert engine.mode is Mode.STREAM


def test_urcs_wait_until_the_stream_ends() -> None:
    engine = streaming()
    engine.urc("WIFI DISCONNECT")
    engine.raw(b"remote data")
    assert engine.data_to_send() == b"remote data"
    engine.end_stream()
    assert engine.mode is Mode.RUNNING
    engine.finish_silently()
    assert engine.data_to_send() == b"WIFI DISCONNECT\r\n"
    engine.receive_data(b"AT\r\n")
    assert engine.next_event() == CommandLine(b"AT")


def test_a_limit_ends_the_stream_and_surplus_is_busy() -> None:
    engine = streaming(limit=5)
    engine.receive_data(b"abc")
    engine.receive_data(b"defgh")
    assert engine.next_event() == StreamData(b"abc")
    assert engine.next_event() == StreamData(b"de")
    assert engine.next_event() is None
    assert engine.mode is Mode.RUNNING
    assert engine.data_to_send() == b"\r\nbusy p...\r\n"


@given(st.binary(min_size=1, max_size=300), st.lists(st.integers(1, 50), max_size=20))
def test_split_anywhere_the_bytes_come_out_whole(data: bytes, cuts: list[int]) -> None:
    engine = streaming(limit=len(data))
    out = bytearray()
    offset = 0
    for size in [*cuts, len(data)]:
        engine.receive_data(data[offset : offset + size])
        offset += size
        while (event := engine.next_event()) is not None:
            assert isinstance(event, StreamData)
            out += event.data
    assert bytes(out) == data
    assert engine.mode is Mode.RUNNING


def test_a_quiet_stream_drops_urcs() -> None:
    engine = streaming()
    engine.stream(quiet=True)
    engine.urc("WIFI GOT IP")
    engine.end_stream()
    engine.finish_silently()
    assert engine.data_to_send() == b""
