"""The Wi-Fi tab against the fake API, for what a module at time scale 0 cannot hold
still: a provisioning that stays in CONNECTING until the test releases it, and answers
in the original firmware's style (no ``reason``, the password echoed)."""

from __future__ import annotations

import asyncio
import json

from .browser_env import BROWSER_TESTS
from .fake_api import CONNECT_OK, CONNECTING, FakeModule
from .pages import connect, eventually, expect, screenshot, wait_result

pytestmark = BROWSER_TESTS


def posts(module: FakeModule, path: str) -> list[bytes]:
    return [body for method, p, body in module.requests if method == "POST" and p == path]


async def test_connecting_shows_live_status_then_result(fake, open_page):
    module, base = fake
    module.hold.clear()  # the module stays in CONNECTING until released
    page = await open_page(base)
    await connect(page, "HomeNet", "sunflower42")
    status = page.locator("#wifi-status")
    await expect(status).to_have_attribute("data-tone", "busy")
    await expect(status).to_contain_text("Connecting to HomeNet")
    await expect(status.locator(".spinner")).to_be_visible()
    await expect(page.locator("#connect")).to_be_disabled()
    await expect(page.locator("#ssid")).to_be_disabled()
    assert await status.get_attribute("aria-live") == "polite"
    sent = json.loads(posts(module, "/setstainfo")[0])
    assert sent == {"ssid": "HomeNet", "password": "sunflower42", "ssid_len": 7, "password_len": 11}
    await screenshot(page, "wifi-connecting")
    # Still connecting a few polls later.
    await page.clock.fast_forward(3000)
    await eventually(lambda: len([r for r in module.requests if r[1] == "/getstainfo"]) >= 2)
    await expect(status).to_contain_text("Connecting to HomeNet")
    assert posts(module, "/getresult") == []
    module.hold.set()
    text = await wait_result(page, "ok")
    assert "Its address there is 192.168.1.23." in text
    await expect(page.locator("#connect")).to_be_enabled()
    await eventually(lambda: posts(module, "/getresult") == [b"received=1"])


async def test_closing_the_page_while_connecting_sends_a_beacon(fake, open_page):
    module, base = fake
    module.hold.clear()
    page = await open_page(base)
    await connect(page, "HomeNet", "sunflower42")
    await expect(page.locator("#wifi-status")).to_contain_text("Connecting")
    # The page says "Connecting" at once; the module only after its grace period (and
    # +WEBSERVERRSP:1 with it): leave once the module is connecting.
    await eventually(lambda: module.state == CONNECTING)
    await page.goto("about:blank")
    # Without "received": if it arrives after the result, the result stays for others.
    await eventually(lambda: posts(module, "/getresult") == [b""])
    assert module.urcs[-1] == "+WEBSERVERRSP:2"
    module.hold.set()
    await eventually(lambda: module.state == CONNECT_OK)
    await asyncio.sleep(0.1)
    assert module.state == CONNECT_OK and posts(module, "/getresult") == [b""]


async def test_an_answer_without_reason_gives_the_generic_text(fake, open_page):
    module, base = fake
    module.send_reason = False  # a server that only says state 2, as the original does
    page = await open_page(base)
    await connect(page, "HomeNet", "not-the-password")
    text = await wait_result(page, "fail")
    assert "The module could not connect to HomeNet. Check the name and password" in text


async def test_a_page_opened_mid_way_follows_and_never_shows_the_password(fake, open_page):
    module, base = fake
    module.echo_password = True  # the original's echo of sta_password
    module.hold.clear()
    page = await open_page(base)
    await connect(page, "HomeNet", "sunflower42")
    await expect(page.locator("#wifi-status")).to_contain_text("Connecting")
    late = await open_page(base)
    await expect(late.locator("#wifi-status")).to_contain_text("Connecting to HomeNet")
    assert await late.input_value("#password") == ""
    assert "sunflower42" not in await late.content()
    await page.close()  # one client collects the result
    module.hold.set()
    await wait_result(late, "ok")
