"""The inspector's flash map, read from a module's flash: partitions to scale, the
sectors written since the inspector started, otadata, app slots and NVS with its
passwords masked unless asked."""

from __future__ import annotations

from pathlib import Path

from esp_at_sim.testing import start_module
from esp_at_sim.web.inspector_flash import SECRET_SHOWN, SECTOR, FlashWatch


async def test_the_map_follows_the_flash(tmp_path: Path) -> None:
    module, at = await start_module(flash=tmp_path / "flash.bin")
    try:
        watch = FlashWatch(module.firmware)
        before = watch.map()
        assert before is not None and before["written"] == []
        names = [p["name"] for p in before["partitions"]]
        assert {"nvs", "otadata", "ota_0", "ota_1"} <= set(names)
        for p in before["partitions"]:
            assert p["offset"] + p["size"] <= before["size"]
        assert [s["name"] for s in before["slots"]] == ["ota_0", "ota_1"]
        assert before["slots"][0]["valid"] is True and before["slots"][0]["version"]
        assert len(before["otadata"]) == 2
        assert await at.cmd("AT+SYSSTORE=1") == b"AT+SYSSTORE=1\r\n\r\nOK\r\n"
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        after = watch.map()
        assert after is not None
        nvs = next(p for p in after["partitions"] if p["name"] == "nvs")
        written = [n * SECTOR for n in after["written"]]
        assert written and all(nvs["offset"] <= o < nvs["offset"] + nvs["size"] for o in written)
        values = {item["key"]: item["value"] for item in after["nvs"]}
        assert SECRET_SHOWN in values.values()
        assert "sunflower42" not in str(after["nvs"])
        shown = watch.map(show_secrets=True)
        assert shown is not None and "sunflower42" in str(shown["nvs"])
    finally:
        await module.close()


def test_a_module_without_flash_has_no_map() -> None:
    assert FlashWatch(None).map() is None
