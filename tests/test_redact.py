"""Secrets never reach the event log."""

from __future__ import annotations

from esp_at_sim.commands import build_table
from esp_at_sim.core.events import Event
from esp_at_sim.device.redact import mask_answer, mask_output
from esp_at_sim.testing import start_module


def test_mask_command_lines() -> None:
    mask = build_table().mask
    assert mask(b'AT+CWJAP="HomeNet","sunflower42"') == b'AT+CWJAP="HomeNet",***'
    assert mask(b'AT+CWSAP="a\\,b","secret99",11,3') == b'AT+CWSAP="a\\,b",***,11,3'
    assert mask(b'AT+CWJAP="unterminated') == b"AT+CWJAP=***"
    assert mask(b"AT+CWJAP") == b"AT+CWJAP"
    assert mask(b"AT+GMR") == b"AT+GMR"
    assert mask(b"AT+NOSUCH=1") == b"AT+NOSUCH=***"  # unknown: it cannot tell, shows none
    assert mask(b"AT+CWMODE=9") == b"AT+CWMODE=9"  # refused, but holds no secret


def test_mask_answer_lines() -> None:
    assert mask_answer(b'+CWSAP:"pos_softap","secret99",11,3,4,0') == b"+CWSAP:***"
    assert mask_answer(b"+CWMODE:3") == b"+CWMODE:3"


def test_mask_output_keeps_other_lines() -> None:
    data = b'AT+CWSAP?\r\n+CWSAP:"x","pw123456",1,3,4,0\r\n\r\nOK\r\n'
    assert mask_output(data) == b"AT+CWSAP?\r\n+CWSAP:***\r\n\r\nOK\r\n"
    echo = b'AT+CWJAP="a","pw123456"'
    masked = b'AT+CWJAP="a",***'
    assert mask_output(echo + b"\r\n\r\nOK\r\n", [(echo, masked)]) == masked + b"\r\n\r\nOK\r\n"


async def test_event_log_has_no_password() -> None:
    module, at = await start_module()
    events: list[Event] = []
    module.bus.subscribe(events.append)
    try:
        await at.cmd("AT+CWMODE=3")
        await at.cmd('AT+CWSAP="pos_softap","topsecret1",11,3')
        await at.cmd("AT+CWSAP?")
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        assert b"topsecret1" in at.received  # the host itself sees everything
        text = repr([e.data for e in events])
        assert "topsecret1" not in text
        assert "sunflower42" not in text
        assert any(
            e.kind == "at.cmd" and e.data["line"] == 'AT+CWJAP="HomeNet",***' for e in events
        )
    finally:
        await module.close()
