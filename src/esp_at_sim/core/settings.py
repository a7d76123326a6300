"""Persistent settings: what ESP-AT keeps in NVS, behind a small interface.

Settings are a flat mapping from a key (at most 15 ASCII bytes, the NVS key limit) to an
``int`` (stored as i32), a ``str`` (UTF-8 text) or ``bytes`` (a blob). The module reads
them once at boot and writes them when a command stores a setting (``AT+SYSSTORE=1``).
A store writes a whole batch atomically: after a crash at any point the store holds
either the batch before or the batch after a :meth:`SettingsStore.save`, never a mix.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path

SettingValue = int | str | bytes
Settings = dict[str, SettingValue]

MAX_KEY_LEN = 15


class SettingsStore(ABC):
    """Where stored settings live: a file now, the NVS partition of the flash image later."""

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


class FileSettingsStore(SettingsStore):
    """Settings in a JSON file, replaced atomically (write a temporary file, fsync, rename,
    fsync the directory), so a crash leaves the old file or the new one."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)

    def load(self) -> Settings:
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        out: Settings = {}
        for key, item in raw.items():
            kind, value = item
            if kind == "i":
                out[key] = int(value)
            elif kind == "s":
                out[key] = str(value)
            else:
                out[key] = bytes.fromhex(value)
        return out

    def save(self, updates: Mapping[str, SettingValue | None]) -> None:
        data = self.load()
        for key, value in updates.items():
            check_key(key)
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        self._write(data)

    def erase(self) -> None:
        self._write({})

    def _write(self, data: Settings) -> None:
        encoded: dict[str, tuple[str, int | str]] = {}
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int | str | bytes):
                raise TypeError(f"setting {key!r} has unsupported type {type(value).__name__}")
            if isinstance(value, int):
                encoded[key] = ("i", value)
            elif isinstance(value, str):
                encoded[key] = ("s", value)
            else:
                encoded[key] = ("b", value.hex())
        tmp = self._path.with_name(self._path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(encoded, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path)
        dir_fd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
