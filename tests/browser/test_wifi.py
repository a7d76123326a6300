"""The Wi-Fi tab: the network list, provisioning, its result and why it failed."""

from __future__ import annotations

import json

import pytest

from .browser_env import BROWSER_TESTS
from .pages import (
    REASON_TEXT,
    connect,
    eventually,
    expect,
    networks,
    record_requests,
    record_states,
    screenshot,
    wait_result,
)
from .targets import REASONS

pytestmark = BROWSER_TESTS


async def test_network_list_is_in_signal_order_with_locks(target, open_page):
    page = await open_page(target.base)
    listed = await networks(page)
    assert [n["ssid"] for n in listed] == [
        "HomeNet",  # -42 dBm
        "Pixel-Hotspot",  # -45
        "Neighbour-WPA3",  # -67 (LabHidden, -58, does not broadcast its name)
        "Cafe-Free-WiFi",  # -78, open
    ]
    assert [(n["secured"], n["lock"]) for n in listed] == [(True, True)] * 3 + [(False, False)]
    await expect(page.locator("#ssid")).to_have_attribute("aria-expanded", "true")
    await screenshot(page, "wifi-list")
    # Choosing with the keyboard fills the field and moves on to the password.
    await page.focus("#ssid")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    assert await page.input_value("#ssid") == "Pixel-Hotspot"
    await expect(page.locator("#password")).to_be_focused()
    await expect(page.locator("#ap-list")).to_be_hidden()


async def test_provisioning_success(target, open_page):
    page = await open_page(target.base)
    sent = record_requests(page)
    states = record_states(page)
    await networks(page)
    await page.click("#ap-list [data-ssid='HomeNet']")
    await page.fill("#password", "sunflower42")
    await page.click("#connect")
    text = await wait_result(page, "ok")
    assert "Connected" in text and "HomeNet" in text
    # The station address, when the server reports it (sta_ip, our addition).
    ip = next(s.get("sta_ip") for s in states if s["state"] == 1)
    assert ("192.168.1.23" in text) if ip else text.endswith("connected to HomeNet.")
    assert ip in (None, "192.168.1.23")
    await screenshot(page, "wifi-connected")
    body = next(b for m, p, b in sent if (m, p) == ("POST", "/setstainfo"))
    assert json.loads(body or "") == {
        "ssid": "HomeNet",
        "password": "sunflower42",
        "ssid_len": 7,
        "password_len": 11,
    }
    await eventually(lambda: ("POST", "/getresult", "received=1") in sent)
    await eventually(lambda: target.urcs() == ["+WEBSERVERRSP:1", "+WEBSERVERRSP:2"])
    assert await page.input_value("#password") == "sunflower42"  # what the user typed, only


@pytest.mark.parametrize("reason", REASONS)
async def test_failure_shows_why(target, open_page, reason):
    ssid, password = await target.failing(reason)
    page = await open_page(target.base)
    sent = record_requests(page)
    await connect(page, ssid, password)
    text = await wait_result(page, "fail")
    assert "Could not connect" in text
    assert REASON_TEXT[reason].format(ssid=ssid) in text
    if reason == "wrong_password":
        await screenshot(page, "wifi-failed-password")
    # As with the stock page, a failure is not collected: the AT port shows only
    # +WEBSERVERRSP:1 and the module takes new credentials at once.
    await page.wait_for_timeout(300)
    assert not any(p == "/getresult" for _, p, _ in sent)
    assert target.urcs() == ["+WEBSERVERRSP:1"]
    # Ready for another try, with the focus back where it was.
    await expect(page.locator("#connect")).to_be_enabled()
    await expect(page.locator("#connect")).to_be_focused()


@pytest.mark.parametrize("reason", ["wrong_password", "not_found"])
async def test_a_reason_retrying_cannot_change_shows_at_once(slow_target, open_page, reason):
    target = slow_target
    ssid, password = await target.failing(reason)
    page = await open_page(target.base)
    await expect(page.locator("#scan-status")).to_contain_text("networks found")
    await connect(page, ssid, password)
    text = await wait_result(page, "fail")
    status = page.locator("#wifi-status")
    # Long before the module gives up (12 s of real time here): it is still retrying.
    assert target.server.provisioning.state.name == "CONNECTING"
    await expect(status).to_have_attribute("data-retrying", "true")
    assert REASON_TEXT[reason].format(ssid=ssid) in text
    assert "keeps retrying" in text
    await expect(page.locator("#connect")).to_be_enabled()
    assert target.urcs() == ["+WEBSERVERRSP:1"]
    # The corrected settings are taken at once.
    await connect(page, "HomeNet", "sunflower42")
    text = await wait_result(page, "ok")
    assert "Connected" in text and "HomeNet" in text
    await expect(status).to_have_attribute("data-retrying", "false")
    await eventually(
        lambda: target.urcs() == ["+WEBSERVERRSP:1", "+WEBSERVERRSP:1", "+WEBSERVERRSP:2"]
    )


async def test_a_fresh_visitor_never_sees_an_earlier_visitors_failure(target, open_page):
    ssid, password = await target.failing("wrong_password")
    first = await open_page(target.base)
    await connect(first, ssid, password)
    await wait_result(first, "fail")  # shown at once, while the module still retries
    # the module's connection_timeout runs out (simulated time passes as the loop idles),
    # and the failure is left uncollected
    await eventually(lambda: target.server.provisioning.state.name == "CONNECT_FAIL")
    # Another phone opens the page: no failure, the network list, a form that works.
    other = await open_page(target.base)
    await expect(other.locator("#scan-status")).to_contain_text("networks found")
    await expect(other.locator("#wifi-status")).to_be_hidden()
    await expect(other.locator("#connect")).to_be_enabled()
    # The first visitor's own tab, reloaded, still shows what happened to its settings.
    await first.reload()
    await expect(first.locator("#wifi-status")).to_contain_text(
        REASON_TEXT["wrong_password"].format(ssid=ssid)
    )
    await connect(other, "Cafe-Free-WiFi", "")
    text = await wait_result(other, "ok")
    assert "Cafe-Free-WiFi" in text and "HomeNet" not in text


async def test_hidden_network_typed_by_hand(target, open_page):
    page = await open_page(target.base)
    await networks(page)
    await connect(page, "LabHidden", "lab-secret-7")
    text = await wait_result(page, "ok")
    assert "LabHidden" in text


@pytest.mark.parametrize(
    ("ssid", "password", "field", "message"),
    [
        ("", "whatever1", "ssid", "Enter the network name."),
        ("é" * 17, "whatever1", "ssid", "34 bytes long; at most 32"),
        ("HomeNet", "short", "password", "at least 8 characters"),
        ("HomeNet", "p" * 65, "password", "65 bytes long; at most 64"),
        ("HomeNet", "密" * 22, "password", "66 bytes long"),
        ("HomeNet", "g" * 64, "password", "hexadecimal"),
        ("Cafe-Free-WiFi", "password1", "password", "open network"),
    ],
)
async def test_bad_input_is_caught_before_sending(
    target, open_page, ssid, password, field, message
):
    page = await open_page(target.base)
    sent = record_requests(page)
    await expect(page.locator("#scan-status")).to_contain_text("networks found")
    await connect(page, ssid, password)
    error = page.locator(f"#{'ssid' if field == 'ssid' else 'pw'}-error")
    await expect(error).to_contain_text(message)
    await expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(f"#{field}")).to_be_focused()
    assert not [p for m, p, _ in sent if m == "POST"]
    # The longest names and passwords that are allowed do go out.
    await connect(page, "S" * 32, "a" * 64)
    await eventually(lambda: any(p == "/setstainfo" for _, p, _ in sent))


async def test_refused_settings_are_reported(target, open_page):
    page = await open_page(target.base)
    await expect(page.locator("#scan-status")).to_contain_text("networks found")
    # Station only: the module takes credentials only in SoftAP+Station mode.
    assert (await target.at.cmd("AT+CWMODE=1")).endswith(b"OK\r\n")
    await connect(page, "HomeNet", "sunflower42")
    status = page.locator("#wifi-status")
    await expect(status).to_have_attribute("data-tone", "fail")
    await expect(status).to_contain_text("Settings not accepted")
    await expect(status).to_contain_text("AT+CWMODE=3")
    await expect(page.locator("#connect")).to_be_enabled()
    assert target.urcs() == []


async def test_password_visibility_toggle(target, open_page):
    page = await open_page(target.base)
    await page.fill("#password", "abc")
    toggle = page.locator("#pw-toggle")
    await toggle.click()
    await expect(page.locator("#password")).to_have_attribute("type", "text")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(toggle).to_have_attribute("aria-label", "Hide password")
    await toggle.click()
    await expect(page.locator("#password")).to_have_attribute("type", "password")
    await expect(toggle).to_have_attribute("aria-label", "Show password")
