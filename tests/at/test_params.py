"""Parameter splitting and quoting, with properties over arbitrary strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esp_at_sim.at.errors import AtError, Sub
from esp_at_sim.at.params import Param, quote, split_params


def test_manual_examples() -> None:
    params = split_params(b'"comma\\,backslash\\\\ssid","1234567890"')
    assert [p.value for p in params] == [b"comma,backslash\\ssid", b"1234567890"]
    params = split_params(b'"ssid","password",,1')
    assert [p.kind for p in params] == ["str", "str", "empty", "int"]
    assert params[3].value == 1


def test_escape_of_any_byte_drops_backslash() -> None:
    assert split_params(b'"a\\b"')[0].value == b"ab"


def test_numbers() -> None:
    assert split_params(b"-5,0x1800,007")[0].value == -5
    assert split_params(b"0x1800")[0].value == 0x1800
    assert split_params(b"007")[0].value == 7
    assert split_params(b"12a")[0].kind == "raw"
    assert split_params(b"0x")[0].kind == "raw"


@pytest.mark.parametrize("text", [b'"abc', b'"abc\\"', b'"a"b', b'"a","b'])
def test_malformed_strings_fail_to_parse(text: bytes) -> None:
    with pytest.raises(AtError) as info:
        split_params(text)
    assert info.value.sub is Sub.PARA_PARSE_FAIL


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=6))
def test_quoted_strings_round_trip(values: list[bytes]) -> None:
    text = b",".join(quote(v) for v in values)
    params = split_params(text)
    assert [p.value for p in params] == values
    assert all(p.kind == "str" for p in params)


@given(st.lists(st.one_of(st.integers(-(2**31), 2**31 - 1), st.none()), min_size=1, max_size=8))
def test_integers_and_omitted_round_trip(values: list[int | None]) -> None:
    text = b",".join(b"" if v is None else str(v).encode() for v in values)
    params = split_params(text)
    assert [p.value for p in params] == values


@given(st.binary(max_size=80))
def test_any_bytes_parse_or_raise_at_error(text: bytes) -> None:
    try:
        params = split_params(text)
    except AtError as exc:
        assert exc.sub is Sub.PARA_PARSE_FAIL
    else:
        assert all(isinstance(p, Param) for p in params)
        assert len(params) >= 1
