"""Persistent settings: what ESP-AT keeps in NVS, behind a small interface.

Settings are a flat mapping from a key to an ``int`` (stored as I32, or as U8, U16 or I8
when it is a :class:`U8`, :class:`U16` or :class:`I8`), a ``str`` (UTF-8 text) or
``bytes`` (a blob). A key is an NVS key (at most 15 ASCII bytes) in the store's own namespace, or
``namespace:key`` in another one (``nvs.net80211:opmode``, where ESP-IDF's Wi-Fi driver
keeps its configuration). The module reads
them once at boot and writes them when a command stores a setting (``AT+SYSSTORE=1``).
A store writes a whole batch atomically: after a crash at any point the store holds
either the batch before or the batch after a :meth:`SettingsStore.save`, never a mix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

SettingValue = int | str | bytes
Settings = dict[str, SettingValue]

MAX_KEY_LEN = 15
NAMESPACE_SEP = ":"


class U8(int):
    """An integer stored as NVS type U8 (as ESP-IDF's Wi-Fi driver stores its own)."""


class U16(int):
    """An integer stored as NVS type U16."""


class I8(int):
    """An integer stored as NVS type I8 (as ESP-AT stores its UART configuration)."""


class SettingsStore(ABC):
    """Where stored settings live: the NVS partition of the module's flash
    (:class:`~esp_at_sim.flash.nvs_store.NvsSettingsStore`), or memory."""

    @abstractmethod
    def load(self) -> Settings:
        """Every stored setting (empty after an erase or on a new store)."""

    @abstractmethod
    def save(self, updates: Mapping[str, SettingValue | None]) -> None:
        """Apply ``updates`` atomically; a value of ``None`` deletes the key."""

    @abstractmethod
    def erase(self) -> None:
        """Forget every stored setting, every namespace (``AT+RESTORE``)."""


def split_key(key: str) -> tuple[str | None, str]:
    """``"nvs.net80211:opmode"`` → ``("nvs.net80211", "opmode")``; ``"cwmode"`` →
    ``(None, "cwmode")`` (the store's own namespace)."""
    namespace, sep, name = key.rpartition(NAMESPACE_SEP)
    return (namespace, name) if sep else (None, key)


def check_key(key: str) -> None:
    namespace, name = split_key(key)
    for part in (name,) if namespace is None else (namespace, name):
        if not part or len(part.encode()) > MAX_KEY_LEN or not part.isascii():
            raise ValueError(
                f"setting key {key!r}: namespace and key must be 1 to {MAX_KEY_LEN} ASCII bytes"
            )


class MemorySettingsStore(SettingsStore):
    """Settings that live as long as the process (tests, modules without a flash file)."""

    def __init__(self, initial: Mapping[str, SettingValue] | None = None) -> None:
        self._data: Settings = dict(initial or {})

    def load(self) -> Settings:
        return dict(self._data)

    def save(self, updates: Mapping[str, SettingValue | None]) -> None:
        for key in updates:
            check_key(key)
        for key, value in updates.items():
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = value

    def erase(self) -> None:
        self._data.clear()
