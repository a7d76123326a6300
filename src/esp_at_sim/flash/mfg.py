"""The ``mfg_nvs`` partition: the module's PKI and factory data as NVS namespaces.

ESP-AT keeps its certificates and keys in the ``mfg_nvs`` user partition (inside
``at_customize``), one NVS namespace per kind (``client_cert``, ``client_key``, ``client_ca``,
``server_cert``, ... ``wss_ca``) and one blob key
per file: the namespace's own name when it holds one file, ``<namespace>.<n>`` (0, 1,
...) when it holds several. ``AT+SYSMFG`` reads and writes any namespace there, and
``esp-at-sim flash pki`` writes the PKI without AT.

:class:`MfgNvs` reads the partition with ESP-IDF's rules and writes it with the same
atomic page generations as the stored settings
(:class:`~esp_at_sim.flash.nvs_store.NvsSettingsStore`), keeping every item's NVS type.
"""

from __future__ import annotations

from esp_at_sim.flash import nvs
from esp_at_sim.flash.flashio import FlashDevice
from esp_at_sim.flash.nvs import ItemType, NvsItem
from esp_at_sim.flash.nvs_store import NvsSettingsStore, current_readout

MFG_PARTITION = "mfg_nvs"


def pki_keys(namespace: str, count: int) -> list[str]:
    """The keys ``count`` files get in ``namespace``: its own name for one file,
    ``<namespace>.<n>`` for several."""
    if count == 1:
        return [namespace]
    return [f"{namespace}.{n}" for n in range(count)]


class MfgNvs(NvsSettingsStore):
    """Typed items of every namespace in the ``mfg_nvs`` partition."""

    def __init__(self, device: FlashDevice, offset: int, size: int) -> None:
        super().__init__(device, offset, size, namespace=MFG_PARTITION)

    def _current(self, data: bytes) -> list[NvsItem]:
        readout = current_readout(data)
        self.damage = readout.damage
        return readout.items

    def capacity(self) -> int:
        """The most data bytes one value can take (every page but NVS's spare one)."""
        return (self._pages - 1) * (nvs.ENTRIES - 1) * nvs.ENTRY

    def namespaces(self) -> list[str]:
        """The namespaces that hold at least one item, in the order they were created."""
        seen: dict[str, None] = {}
        for item in self.items():
            seen.setdefault(item.namespace, None)
        return list(seen)

    def namespace_items(self, namespace: str) -> list[NvsItem]:
        return [item for item in self.items() if item.namespace == namespace]

    def get(self, namespace: str, key: str) -> NvsItem | None:
        return next((i for i in self.items() if i.namespace == namespace and i.key == key), None)

    def pki_file(self, namespace: str, index: int) -> bytes | None:
        """File ``index`` of a PKI namespace (``<ns>.<index>``, or ``<ns>`` for index 0
        of a namespace that holds one file), ``None`` when there is none."""
        items = {i.key: i for i in self.namespace_items(namespace)}
        found = items.get(f"{namespace}.{index}")
        if found is None and index == 0:
            found = items.get(namespace)
        if found is None:
            return None
        value = found.value
        if isinstance(value, str):
            return value.encode()
        return value if isinstance(value, bytes) else None

    def put(self, item: NvsItem) -> None:
        """Write one item (replacing the key's old value, whatever its type)."""
        self.replace([item], erase=())

    def remove(self, namespace: str, key: str | None = None) -> bool:
        """Erase one key, or every key of ``namespace``; ``False`` when nothing matched."""
        data = self._read()
        old = self._current(data)
        new = [i for i in old if not (i.namespace == namespace and (key is None or i.key == key))]
        if new == old:
            return False
        self._commit(data, new)
        return True

    def replace(self, items: list[NvsItem], *, erase: tuple[str, ...]) -> None:
        """Erase the namespaces ``erase``, then write ``items``, in one commit."""
        data = self._read()
        old = self._current(data)
        written = {(i.namespace, i.key) for i in items}
        kept = [i for i in old if i.namespace not in erase and (i.namespace, i.key) not in written]
        new = kept + items
        if new != old:
            self._commit(data, new)


def blob(namespace: str, key: str, data: bytes) -> NvsItem:
    return NvsItem(namespace, key, ItemType.BLOB, data)
