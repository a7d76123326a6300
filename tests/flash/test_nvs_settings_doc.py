"""docs/nvs-settings.md names every stored setting with the namespace, key and NVS type
its codec writes (and nothing else), so the notes stay true as settings move."""

from __future__ import annotations

import re
from pathlib import Path

from esp_at_sim.core.settings import I8, U8, U16, split_key
from esp_at_sim.device import settings_schema as S
from esp_at_sim.flash.nvs_store import DEFAULT_NAMESPACE

DOC = Path(__file__).resolve().parents[2] / "docs" / "nvs-settings.md"
_TYPE_NAMES = {U8: "u8", U16: "u16", I8: "i8", int: "i32", str: "string", bytes: "blob"}


def _codec_type(setting: S.Setting[object]) -> str:
    if setting.default is None:  # only blobs and text have no default of their own
        return "blob" if "blob" in setting.form else "string"
    return _TYPE_NAMES[type(setting.encode(setting.default))]


def documented() -> set[tuple[str, str, str]]:
    """(namespace, key, type) of every row of the document's tables."""
    rows: set[tuple[str, str, str]] = set()
    namespace = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            found = re.search(r"namespace `([^`]+)`", line)
            namespace = found[1] if found else None
        elif namespace and re.match(r"\| [^-]", line):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] == "setting":
                continue
            rows |= {(namespace, key, cells[2]) for key in re.findall(r"`([^`]+)`", cells[1])}
    return rows


def test_the_notes_name_every_setting_where_its_codec_stores_it() -> None:
    expected = set()
    for key, setting in S.SCHEMA.items():
        namespace, name = split_key(key)
        expected.add((namespace or DEFAULT_NAMESPACE, name, _codec_type(setting)))
    assert documented() == expected
