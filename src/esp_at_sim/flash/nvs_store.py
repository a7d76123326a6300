"""Stored settings in the NVS partition, saved atomically: :class:`NvsSettingsStore`.

Settings live in the store's own NVS namespace (default ``esp_at_sim``) and in the
namespaces of the firmware (:data:`MODULE_NAMESPACES`: ``nvs.net80211``, where the Wi-Fi
driver keeps its configuration, and ``UART``, ESP-AT's), named ``namespace:key``: ``int``
as ``I32`` (``U8``/``U16``/``I8`` for :class:`~esp_at_sim.core.settings.U8`/...), ``str`` as
``SZ`` and ``bytes`` as a blob. Other namespaces in the partition (PHY calibration, ...)
are kept as they are, even by :meth:`NvsSettingsStore.erase`.

How a save stays atomic
-----------------------
The partition holds one *generation* of pages: the newest ACTIVE page (highest
sequence number with a good header) together with the FULL and FREEING pages whose
sequence numbers lie between the previous ACTIVE page (if any) and it. Everything else
is ignored when reading. A save writes a complete new generation beside the current
one, and a single 4-byte write makes it the current one:

1. Erase every page outside the current generation that is not already blank (leftovers
   of an interrupted save), then ``fsync``.
2. Write the new pages into blank pages, numbered after every sequence seen so far:
   FULL pages in full, and the last page complete except its state word, which stays
   ``FF FF FF FF`` (UNINITIALIZED, so readers skip it). ``fsync``.
3. Commit: program the last page's state word to ACTIVE (``FE FF FF FF``; only one byte
   changes, so the write cannot tear into a third value). ``fsync``.
4. Erase the old generation: its FULL/FREEING pages first, ``fsync``, then its ACTIVE
   page, ``fsync``. While any old FULL page survives, the old ACTIVE page still separates
   the two generations, so a crash here never merges them.

A crash before step 3 leaves the old generation current (new pages are either
UNINITIALIZED or above the newest ACTIVE page); a crash after it leaves the new one. When
a save needs more than one page, its last page is written and synced first, so that a
first save cut short always leaves that uncommitted page behind as a marker.

Damage
------
Reading follows ESP-IDF's recovery rules (:mod:`esp_at_sim.flash.nvs_read`): a damaged
entry or page costs what ESP-IDF would lose and no more, and every loss is reported
(:attr:`NvsSettingsStore.damage`, shown by ``flash info`` and in the module's event log).
When the committed generation has no intact ACTIVE page (its header was damaged), its
FULL pages are still read, as ESP-IDF reads them, unless a marker shows that the only
generation there is one whose first save never finished.
At rest the partition is ordinary NVS that ESP-IDF and ``esp-idf-nvs-partition-gen``
agree on: FULL pages, one ACTIVE page, the rest erased.
"""

from __future__ import annotations

from collections.abc import Mapping

from esp_at_sim.core.settings import (
    I8,
    NAMESPACE_SEP,
    U8,
    U16,
    Settings,
    SettingsStore,
    SettingValue,
    check_key,
    split_key,
)
from esp_at_sim.flash import nvs
from esp_at_sim.flash.errors import NvsError
from esp_at_sim.flash.flashio import FlashDevice
from esp_at_sim.flash.nvs import ItemType, NvsItem, PageState
from esp_at_sim.flash.nvs_read import Damage, NvsReadout, PageInfo, page_headers, read_nvs

DEFAULT_NAMESPACE = "esp_at_sim"
# ESP-IDF's Wi-Fi driver keeps its configuration here (read at esp_wifi_init()).
WIFI_NAMESPACE = "nvs.net80211"
# ESP-AT keeps its UART configuration (AT+UART_DEF) here.
UART_NAMESPACE = "UART"
MODULE_NAMESPACES = (WIFI_NAMESPACE, UART_NAMESPACE)
# Who keeps what in each namespace (for ``flash info``).
NAMESPACE_NOTES = {
    WIFI_NAMESPACE: "ESP-IDF's Wi-Fi driver, with its keys and types, as on a module",
    UART_NAMESPACE: "ESP-AT's UART configuration (AT+UART_DEF), as on a module",
    DEFAULT_NAMESPACE: "esp-at-sim's own, for what ESP-AT keeps under keys not established",
}
OTHER_NAMESPACE = "not a setting of the module's; kept as it is"
_SIZED = {U8: ItemType.U8, U16: ItemType.U16, I8: ItemType.I8}
_TYPED = {ItemType.U8: U8, ItemType.U16: U16, ItemType.I8: I8}


def current_generation(headers: list[PageInfo]) -> list[PageInfo]:
    """The pages of the committed generation, in sequence order (empty when none)."""
    live = [p for p in headers if p.live]
    actives = sorted((p for p in live if p.state == PageState.ACTIVE), key=lambda p: p.seq)
    if not actives:
        # The ACTIVE page is damaged (ESP-IDF still reads the FULL pages), or nothing was
        # ever committed: an unfinished first save leaves its marker (see _commit).
        if any(p.state == PageState.UNINITIALIZED and p.header_ok for p in headers):
            return []
        return sorted(live, key=lambda p: p.seq)
    top = actives[-1]
    floor = actives[-2].seq if len(actives) > 1 else -1
    members = [p for p in live if p is top or (p.state != PageState.ACTIVE and floor < p.seq)]
    return sorted((p for p in members if p.seq <= top.seq), key=lambda p: p.seq)


def current_readout(data: bytes, namespace: str | None = None) -> NvsReadout:
    """The committed generation of an NVS partition image as ESP-IDF reads it, with its
    damage; ``namespace`` is opened for writing (see :func:`~.nvs_read.read_nvs`)."""
    pages = current_generation(page_headers(data))
    return read_nvs(data, [p.index for p in pages], adopt=namespace)


def _to_item(namespace: str, key: str, value: SettingValue) -> NvsItem:
    check_key(key)
    if isinstance(value, bool) or not isinstance(value, int | str | bytes):
        raise TypeError(f"setting {key!r} has unsupported type {type(value).__name__}")
    if isinstance(value, int):
        kind = _SIZED.get(type(value), ItemType.I32)
        try:
            return NvsItem(namespace, key, kind, int(value))
        except NvsError as exc:
            raise ValueError(f"setting {key!r} = {value} does not fit {kind.name}") from exc
    if isinstance(value, str):
        if "\x00" in value or len(value.encode()) >= nvs.MAX_STRING:
            raise ValueError(f"setting {key!r}: text with NUL or over {nvs.MAX_STRING - 1} bytes")
        return NvsItem(namespace, key, ItemType.SZ, value)
    return NvsItem(namespace, key, ItemType.BLOB, value)


class NvsSettingsStore(SettingsStore):
    """A :class:`SettingsStore` in the NVS partition at ``offset`` (``size`` bytes)."""

    def __init__(
        self,
        device: FlashDevice,
        offset: int,
        size: int,
        *,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        if offset % nvs.PAGE or size % nvs.PAGE or size < 2 * nvs.PAGE:
            raise NvsError(f"NVS region {offset:#x}+{size:#x} must be whole pages, at least two")
        check_key(namespace)
        self._device = device
        self._offset = offset
        self._pages = size // nvs.PAGE
        self.namespace = namespace
        self.damage: list[Damage] = []  # what the last read found damaged and lost

    def _read(self) -> bytes:
        return self._device.read(self._offset, self._pages * nvs.PAGE)

    def _current(self, data: bytes) -> list[NvsItem]:
        readout = current_readout(data, self.namespace)
        self.damage = readout.damage
        return readout.items

    def items(self) -> list[NvsItem]:
        """All items of the committed generation, every namespace."""
        return self._current(self._read())

    def _where(self, key: str) -> tuple[str, str]:
        namespace, name = split_key(key)
        return namespace or self.namespace, name

    def _name(self, item: NvsItem) -> str | None:
        """The setting's key for an item of the module's namespaces, else ``None``."""
        if item.namespace == self.namespace:
            return item.key
        if item.namespace in MODULE_NAMESPACES:
            return f"{item.namespace}{NAMESPACE_SEP}{item.key}"
        return None

    def load(self) -> Settings:
        out: Settings = {}
        for item in self.items():
            name = self._name(item)
            if name is not None:
                value = item.value
                sized = _TYPED.get(item.type)
                out[name] = sized(value) if sized is not None and isinstance(value, int) else value
        return out

    def save(self, updates: Mapping[str, SettingValue | None]) -> None:
        staged: dict[tuple[str, str], NvsItem | None] = {}
        for key, value in updates.items():
            check_key(key)
            namespace, name = self._where(key)
            staged[namespace, name] = None if value is None else _to_item(namespace, name, value)
        data = self._read()
        old = self._current(data)
        new: list[NvsItem] = []
        for item in old:
            if (item.namespace, item.key) in staged:
                replacement = staged.pop((item.namespace, item.key))
                if replacement is not None:
                    new.append(replacement)
            else:
                new.append(item)
        new.extend(item for item in staged.values() if item is not None)
        if new != old:
            self._commit(data, new)

    def erase(self) -> None:
        data = self._read()
        old = self._current(data)
        new = [item for item in old if self._name(item) is None]
        if new != old:
            self._commit(data, new)

    def _commit(self, data: bytes, items: list[NvsItem]) -> None:
        headers = page_headers(data)
        generation = current_generation(headers)
        keep = {p.index for p in generation}
        seen = [p.seq for p in headers if p.header_ok]
        pages = nvs.encode_pages(items, first_seq=max(seen, default=-1) + 1)
        free = [i for i in range(self._pages) if i not in keep]
        if len(pages) > len(free):
            raise NvsError(
                f"settings need {len(pages)} NVS pages but only {len(free)} are free "
                f"({self._pages} in the partition)"
            )
        blank = b"\xff" * nvs.PAGE
        dirty = [i for i in free if data[i * nvs.PAGE : (i + 1) * nvs.PAGE] != blank]
        for index in dirty:
            self._device.erase(self._at(index), nvs.PAGE)
        if dirty:
            self._device.sync()
        targets = free[: len(pages)]
        # the last page first, uncommitted (state word left erased): the marker
        self._device.program(self._at(targets[-1]), b"\xff" * 4 + pages[-1][4:])
        if len(pages) > 1:
            self._device.sync()
            for index, page in zip(targets[:-1], pages[:-1], strict=True):
                self._device.program(self._at(index), page)
        self._device.sync()
        self._device.program(self._at(targets[-1]), nvs.ACTIVE_WORD)
        self._device.sync()
        old_full = [p.index for p in generation if p.state != PageState.ACTIVE]
        for index in old_full:
            self._device.erase(self._at(index), nvs.PAGE)
        if old_full:
            self._device.sync()
        if generation:
            self._device.erase(self._at(generation[-1].index), nvs.PAGE)
            self._device.sync()

    def _at(self, index: int) -> int:
        return self._offset + index * nvs.PAGE
