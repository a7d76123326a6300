"""The phone layout, the Chinese page, labels and keyboard use."""

from __future__ import annotations

from .browser_env import BROWSER_TESTS
from .pages import REASON_TEXT, Page, connect, expect, networks, open_ota, screenshot, wait_result

pytestmark = BROWSER_TESTS

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


async def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the screen (0: no sideways scroll)."""
    return await page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )


async def test_phone_layout_has_no_sideways_scroll(target, open_page):
    page = await open_page(target.base, **PHONE)
    assert await page.evaluate("window.innerWidth") == 360
    listed = await networks(page)
    assert len(listed) == 4
    assert await overflow(page) == 0
    await screenshot(page, "mobile")
    # A long failure text wraps instead of widening the page.
    ssid, password = await target.failing("not_found")
    await connect(page, ssid, password)
    await wait_result(page, "fail")
    assert await overflow(page) == 0
    # Buttons are big enough to tap.
    for selector in ("#ap-toggle", "#rescan", "#pw-toggle", "#connect", "#tab-ota"):
        box = await page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 40, selector
    await open_ota(page)
    await page.set_input_files(
        "#file", {"name": "x" * 80 + ".txt", "mimeType": "text/plain", "buffer": b"x"}
    )
    await expect(page.locator("#file-error")).to_be_visible()
    assert await overflow(page) == 0


async def test_chinese_page(target, open_page):
    page = await open_page(target.base, locale="zh-CN")
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await expect(page.locator("#tab-wifi")).to_have_text("Wi-Fi 配网")
    await expect(page.locator("#tab-ota")).to_have_text("固件升级")
    await expect(page.locator("#connect")).to_have_text("连接")
    await expect(page.locator("label[for=password]")).to_have_text("密码")
    await expect(page.locator("#scan-status")).to_have_text("找到 4 个网络。")
    assert await page.title() == "模组配置"
    ssid, password = await target.failing("wrong_password")
    await connect(page, ssid, password)
    text = await wait_result(page, "fail")
    assert "连接失败" in text and "HomeNet 的密码错误。" in text
    await screenshot(page, "zh")
    # The manual switch: everything, the result included, in English, and kept.
    await expect(page.locator("#lang")).to_have_text("English")
    await page.click("#lang")
    await expect(page.locator("#connect")).to_have_text("Connect")
    await expect(page.locator("#wifi-status")).to_contain_text(
        REASON_TEXT["wrong_password"].format(ssid="HomeNet")
    )
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.reload()
    await expect(page.locator("#connect")).to_have_text("Connect")


async def test_other_languages_fall_back_to_english(target, open_page):
    page = await open_page(target.base, locale="de-DE")
    await expect(page.locator("#connect")).to_have_text("Connect")
    await expect(page.locator("#lang")).to_have_text("中文")


async def test_labels_and_keyboard_order(target, open_page):
    page = await open_page(target.base)
    await networks(page)
    await page.keyboard.press("Escape")
    # Every control has a name a screen reader can say.
    await expect(page.get_by_label("Network name (SSID)")).to_have_id("ssid")
    await expect(page.get_by_label("Password", exact=True)).to_have_id("password")
    await expect(page.get_by_role("button", name="Show networks")).to_have_id("ap-toggle")
    await expect(page.get_by_role("button", name="Scan again")).to_have_id("rescan")
    await expect(page.get_by_role("button", name="Show password")).to_have_id("pw-toggle")
    await expect(page.get_by_role("status").first).to_have_id("scan-status")
    # Tab goes through the form in reading order.
    await page.focus("#tab-wifi")
    order = []
    for _ in range(6):
        await page.keyboard.press("Tab")
        order.append(await page.evaluate("document.activeElement.id"))
    assert order == ["ssid", "ap-toggle", "rescan", "password", "pw-toggle", "connect"]
    # The tabs: arrow keys move between them, and the OTA form follows in order.
    await page.focus("#tab-wifi")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#tab-ota")).to_be_focused()
    await expect(page.locator("#tab-ota")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#panel-ota")).to_be_visible()
    await expect(page.locator("#panel-wifi")).to_be_hidden()
    await expect(page.get_by_label("What to update")).to_have_id("partition")
    await expect(page.get_by_label("Firmware file (.bin)")).to_have_id("file")
    await page.keyboard.press("Tab")
    await expect(page.locator("#partition")).to_be_focused()
