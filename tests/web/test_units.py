"""Pure pieces of the web package: JSON string escaping, form arguments, credentials."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esp_at_sim.web.provisioning import Credentials, parse_credentials
from esp_at_sim.web.wire import BadRequest, form_arg, json_string


@given(st.binary(max_size=64))
def test_any_bytes_give_a_valid_json_string(raw: bytes) -> None:
    text = json_string(raw)
    assert json.loads(f'"{text}"') == raw.decode("utf-8", "replace")


def test_escapes_like_the_firmware() -> None:
    assert json_string(b'a"b/c\\d') == 'a\\"b\\/c\\\\d'
    assert json_string(b"\x00\x1f\x7f") == "\\u0000\\u001f\x7f"
    assert json_string("Café☕".encode()) == "Café☕"
    assert json_string(b"\xff") == "\ufffd"


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b"received=1", b"1"),
        (b"a=2&received=", b""),
        (b"received", None),
        (b"xreceived=1", None),
        (b"a=1&received=yes&received=no", b"yes"),
        (b"received=1\r\nmore", b"1"),
        (b"", None),
    ],
)
def test_form_arg(body: bytes, value: bytes | None) -> None:
    assert form_arg(body, "received") == value


def test_credentials_from_the_stock_page_and_the_applet() -> None:
    assert parse_credentials(b'{"ssid":"a","password":"b","ssid_len":1}') == Credentials(b"a", b"b")
    assert parse_credentials(b'  {"ssid":"a"}&udp_port=5 ') == Credentials(b"a", b"", 5)
    assert parse_credentials(b'{"password":"secret12"}&x=1&udp_port=6') == Credentials(
        b"", b"secret12", 6
    )
    assert parse_credentials(b'{"ssid":"a"} trailing text') == Credentials(b"a", b"")


@given(st.binary(max_size=400))
def test_garbage_only_ever_raises_bad_request(body: bytes) -> None:
    try:
        creds = parse_credentials(body)
    except BadRequest:
        return
    assert len(creds.ssid) <= 32 and len(creds.password) <= 64
    assert creds.ssid or creds.password
