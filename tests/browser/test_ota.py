"""The firmware tab: versions, partitions, the checks before sending, the upload and its
result, and what runs after AT+RST."""

from __future__ import annotations

import pytest

from esp_at_sim.flash.image import build_app_image

from .browser_env import BROWSER_TESTS
from .pages import (
    app_image,
    choose_file,
    corrupt,
    eventually,
    expect,
    open_ota,
    record_requests,
    screenshot,
    throttle_uploads,
)

pytestmark = BROWSER_TESTS

OLD, NEW = "v4.1.1.0", "v4.2.0.0"
SLOT = 0x180000  # an ESP32 app slot: the limit the page shows without ota_size


async def test_versions_and_partitions(target, open_page):
    page = await open_page(target.base)
    await open_ota(page)
    await expect(page.locator("#fw-version")).to_have_text(OLD)
    await expect(page.locator("#core-version")).to_have_text("4.1.1.0")
    options = await page.eval_on_selector_all(
        "#partition option", "os => os.map(o => [o.value, o.textContent])"
    )
    assert options == [
        ["ota", "Application firmware (ota)"],
        ["mfg_nvs", "Data partition: mfg_nvs"],
        ["fs_storage", "Data partition: fs_storage"],
    ]
    await expect(page.locator("#limit-hint")).to_contain_text("at most 1.5 MB")
    assert page.url.endswith("#ota")
    await screenshot(page, "ota")


@pytest.mark.parametrize(
    ("partition", "name", "data", "message"),
    [
        ("ota", "esp-at.txt", b"\xe9" * 64, "must end in .bin"),
        ("ota", "esp-at.bin", b"", "The file is empty."),
        ("ota", "esp-at.bin", b"\x00" * 64, "starts with 0x00"),
        ("ota", "esp-at.bin", b"\xe9" + bytes(SLOT), "at most 1.5 MB"),
        ("mfg_nvs", "nvs.img", b"\x00" * 64, "must end in .bin"),
        ("mfg_nvs", "nvs.bin", b"", "The file is empty."),
    ],
)
async def test_checks_before_sending(target, open_page, partition, name, data, message):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    sent = record_requests(page)
    await choose_file(page, partition, name, data)
    await expect(page.locator("#file-error")).to_contain_text(message)
    await page.click("#upload")
    await expect(page.locator("#file-error")).to_contain_text(message)
    await expect(page.locator("#file")).to_be_focused()
    assert not [p for _, p, _ in sent if p == "/setotadata"]
    assert target.urcs() == []


async def test_data_partition_takes_any_content(target, open_page):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    await choose_file(page, "mfg_nvs", "mfg_nvs.bin", b"\x00\x01" * 2048)
    await expect(page.locator("#file-error")).to_be_hidden()
    await page.click("#upload")
    await expect(page.locator("#ota-status")).to_have_attribute("data-tone", "ok")
    await expect(page.locator("#ota-status")).to_contain_text("The partition mfg_nvs was written.")
    assert target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:4"]


async def test_update_runs_after_restart(target, open_page):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    await expect(page.locator("#fw-version")).to_have_text(OLD)
    sent = record_requests(page)
    await throttle_uploads(page, 600_000)  # about 1.5 s for the image below
    await choose_file(page, "ota", "esp-at.bin", app_image(NEW, size=900_000))
    await expect(page.locator("#file-error")).to_be_hidden()
    await page.click("#upload")
    # The bar moves with the bytes sent.
    await page.wait_for_function(
        "() => { const v = document.getElementById('ota-bar').value; return v >= 30 && v <= 70; }"
    )
    await expect(page.locator("#ota-bytes")).to_contain_text("of 878.9 KB")
    await expect(page.locator("#upload")).to_be_disabled()
    await screenshot(page, "ota-progress")
    status = page.locator("#ota-status")
    await expect(status).to_have_attribute("data-tone", "ok")
    await expect(status).to_contain_text("Restart the module with AT+RST")
    # After the reset the web server is off until the host starts it again.
    await expect(status).to_contain_text(
        "After the restart the web server is off, as on any module, until the host sends "
        "AT+WEBSERVER again"
    )
    await expect(page.locator("#ota-progress")).to_be_hidden()
    await screenshot(page, "ota-done")
    request = next(r for r in sent if r[1] == "/setotadata")
    assert request[0] == "POST"
    assert target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:4"]
    assert target.running_version() == OLD  # until the module restarts
    await target.restart()
    await page.reload()
    await open_ota(page)
    await expect(page.locator("#fw-version")).to_have_text(NEW)
    assert target.running_version() == NEW


async def test_corrupt_image_fails_and_the_old_firmware_runs(target, open_page):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    await choose_file(page, "ota", "esp-at.bin", corrupt(app_image(NEW, size=200_000)))
    await expect(page.locator("#file-error")).to_be_hidden()  # it looks like an image
    await page.click("#upload")
    status = page.locator("#ota-status")
    await expect(status).to_have_attribute("data-tone", "fail")
    await expect(status).to_contain_text(
        "The module rejected the image: it is damaged (its checksum or SHA-256 does not match)."
    )
    await expect(status).to_contain_text("The current firmware keeps running.")
    await expect(page.locator("#upload")).to_be_enabled()
    assert target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:5"]
    await target.restart()
    await page.reload()
    await open_ota(page)
    await expect(page.locator("#fw-version")).to_have_text(OLD)
    assert target.running_version() == OLD


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (app_image(NEW, size=100_000)[:50_000], "it is cut short"),
        (build_app_image(NEW, chip="esp32c3", size=100_000), "it is built for another chip"),
    ],
)
async def test_the_module_says_why_it_refused_the_image(target, open_page, data, why):
    page = await open_ota_page(target, open_page)
    await choose_file(page, "ota", "esp-at.bin", data)
    await page.click("#upload")
    status = page.locator("#ota-status")
    await expect(status).to_have_attribute("data-tone", "fail")
    await expect(status).to_contain_text(f"The module rejected the image: {why}")
    await expect(status).to_contain_text("The current firmware keeps running.")
    assert target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:5"]


async def open_ota_page(target, open_page):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    return page


async def test_a_data_partition_is_checked_against_its_size(target, open_page):
    page = await open_ota_page(target, open_page)
    await choose_file(page, "mfg_nvs", "mfg_nvs.bin", b"\x00" * (0x1C000 + 1))
    await expect(page.locator("#limit-hint")).to_contain_text("holds at most 112 KB")
    await expect(page.locator("#file-error")).to_contain_text(
        "the mfg_nvs partition holds at most 112 KB"
    )
    await page.click("#upload")
    assert target.urcs() == []


async def test_a_cancelled_data_upload_speaks_of_the_data(target, open_page):
    page = await open_ota_page(target, open_page)
    await throttle_uploads(page, 20_000)
    await choose_file(page, "fs_storage", "files.bin", b"\x00" * 400_000)
    await page.click("#upload")
    await page.wait_for_function("() => document.getElementById('ota-bar').value >= 2")
    await page.click("#ota-cancel")
    status = page.locator("#ota-status")
    await expect(status).to_contain_text("The upload was cancelled.")
    await expect(status).to_contain_text(
        "The fs_storage partition may be left erased or partly written"
    )
    await expect(status).not_to_contain_text("firmware")
    await eventually(lambda: target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:5"])


async def test_cancel_while_the_image_is_checked_tells_the_truth(target, open_page):
    page = await open_ota_page(target, open_page)
    # The module holds the body unread: the browser has sent it all (the socket buffers
    # take it) and says "Checking the image..." while the module has not decided yet.
    target.module.faults.stall_upload()
    await choose_file(page, "ota", "esp-at.bin", app_image(NEW, size=40_000))
    await page.click("#upload")
    label = page.locator("#ota-bar-label")
    await expect(label).to_have_text("Checking the image…")
    await page.click("#ota-cancel")
    await expect(label).to_contain_text("Too late to cancel")
    target.module.faults.stall_upload(on=False)
    status = page.locator("#ota-status")
    await expect(status).to_have_attribute("data-tone", "ok")
    await expect(status).to_contain_text("It was too late to cancel")
    await expect(status).to_contain_text("kept it")
    await expect(page.locator("#ota-pending")).to_contain_text(f"Version {NEW} is installed")
    assert target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:4"]
    await target.restart()
    assert target.running_version() == NEW


async def test_cancelled_upload_changes_nothing(target, open_page):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    await throttle_uploads(page, 200_000)
    await choose_file(page, "ota", "esp-at.bin", app_image(NEW, size=900_000))
    await page.click("#upload")
    await page.wait_for_function("() => document.getElementById('ota-bar').value >= 5")
    await page.click("#ota-cancel")
    status = page.locator("#ota-status")
    await expect(status).to_have_attribute("data-tone", "fail")
    await expect(status).to_contain_text("The upload was cancelled.")
    await expect(page.locator("#upload")).to_be_enabled()
    await eventually(lambda: target.urcs() == ["+WEBSERVERRSP:3", "+WEBSERVERRSP:5"])
    await target.restart()
    assert target.running_version() == OLD


async def test_replacing_an_update_that_waits_for_a_restart_asks_first(target, open_page):
    page = await open_page(target.base + "#ota")
    await open_ota(page)
    pending = page.locator("#ota-pending")
    await expect(pending).to_be_hidden()
    await choose_file(page, "ota", "esp-at.bin", app_image(NEW, size=100_000))
    await page.click("#upload")
    await expect(page.locator("#ota-status")).to_have_attribute("data-tone", "ok")
    await expect(pending).to_contain_text(f"Version {NEW} is installed and waits for a restart")
    asked: list[str] = []

    async def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    sent = record_requests(page)
    await choose_file(page, "ota", "esp-at.bin", app_image("v4.3.0.0", size=100_000))
    page.once("dialog", lambda d: answer(d, False))
    await page.click("#upload")
    await eventually(lambda: len(asked) == 1)
    assert f"Version {NEW} is waiting for a restart" in asked[0]
    assert f"if this upload fails, the module runs its current firmware ({OLD})" in asked[0]
    assert not [p for _, p, _ in sent if p == "/setotadata"]  # declined: nothing sent
    await expect(pending).to_contain_text(NEW)
    page.once("dialog", lambda d: answer(d, True))
    await page.click("#upload")
    await expect(pending).to_contain_text("Version v4.3.0.0 is installed")
    assert len(asked) == 2 and [p for _, p, _ in sent if p == "/setotadata"]
