"""Persistent settings: what ESP-AT keeps in NVS, behind a small interface.

Settings are a flat mapping from a key (at most 15 ASCII bytes, the NVS key limit) to an
``int`` (stored as i32), a ``str`` (UTF-8 text) or ``bytes`` (a blob). The module reads
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
        """Forget every stored setting (``AT+RESTORE``)."""


def check_key(key: str) -> None:
    if not key or len(key.encode()) > MAX_KEY_LEN or not key.isascii():
        raise ValueError(f"setting key {key!r} must be 1 to {MAX_KEY_LEN} ASCII bytes")


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
