"""The otadata partition: which OTA slot boots, and the rollback state of that choice.

otadata is two 4 KiB sectors; each starts with one 32-byte ``esp_ota_select_entry_t``:
``ota_seq`` u32, ``seq_label[20]``, ``ota_state`` u32 and ``crc`` u32, where the CRC is
the CRC-32 of the four ``ota_seq`` bytes with initial value 0xFFFFFFFF (what ESP-IDF's
``esp_rom_crc32_le(UINT32_MAX, ...)`` returns, and ``zlib.crc32(data, 0xFFFFFFFF)``
too): sequence 1 has CRC 0x4743989A.

An entry is *selectable* when its sequence is not 0xFFFFFFFF, its state is neither
INVALID nor ABORTED, and its CRC matches. The selectable entry with the highest sequence
wins (sector 0 on a tie) and names slot ``(seq - 1) mod number_of_ota_slots``; when no
entry is selectable the bootloader falls back to ``factory`` or ``ota_0``. This module
is pure: it encodes, decodes and decides; :mod:`esp_at_sim.flash.boot` does the I/O.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from enum import IntEnum

from esp_at_sim.flash.errors import OtaError

SECTOR = 0x1000
ENTRY = struct.Struct("<I20sII")
BLANK_SEQ = 0xFFFFFFFF


class OtaState(IntEnum):
    """``esp_ota_img_states_t``."""

    NEW = 0
    PENDING_VERIFY = 1
    VALID = 2
    INVALID = 3
    ABORTED = 4
    UNDEFINED = 0xFFFFFFFF


def seq_crc(seq: int) -> int:
    """CRC of a sequence number as ESP-IDF stores it (seq 1 gives 0x4743989A)."""
    return zlib.crc32(struct.pack("<I", seq), 0xFFFFFFFF)


def state_name(state: int) -> str:
    try:
        return OtaState(state).name
    except ValueError:
        return f"0x{state:08x}"


@dataclass(frozen=True)
class OtaEntry:
    """One otadata sector's entry; ``state`` keeps unknown values as plain ints."""

    seq: int = BLANK_SEQ
    label: bytes = b"\xff" * 20
    state: int = OtaState.UNDEFINED
    crc: int = BLANK_SEQ

    @classmethod
    def make(cls, seq: int, state: int, label: bytes = b"\xff" * 20) -> OtaEntry:
        """An entry with a correct CRC."""
        return cls(seq, label, state, seq_crc(seq))

    @property
    def is_blank(self) -> bool:
        return self.seq == BLANK_SEQ

    @property
    def crc_ok(self) -> bool:
        return self.crc == seq_crc(self.seq)

    @property
    def invalid(self) -> bool:
        """``bootloader_common_ota_select_invalid``: blank, INVALID or ABORTED."""
        return self.is_blank or self.state in (OtaState.INVALID, OtaState.ABORTED)

    @property
    def selectable(self) -> bool:
        """``bootloader_common_ota_select_valid``: not invalid and the CRC matches."""
        return not self.invalid and self.crc_ok

    def with_state(self, state: int) -> OtaEntry:
        return replace(self, state=state)

    def with_seq(self, seq: int) -> OtaEntry:
        """Same entry under a new sequence number, CRC recomputed."""
        return replace(self, seq=seq, crc=seq_crc(seq))

    def encode(self) -> bytes:
        return ENTRY.pack(self.seq, self.label, self.state, self.crc)

    @classmethod
    def decode(cls, raw: bytes) -> OtaEntry:
        seq, label, state, crc = ENTRY.unpack(bytes(raw[: ENTRY.size]))
        return cls(seq, label, state, crc)

    def slot(self, slot_count: int) -> int:
        """The OTA slot this entry names."""
        return (self.seq - 1) % slot_count


Otadata = tuple[OtaEntry, OtaEntry]


def decode_otadata(data: bytes) -> Otadata:
    """Both entries of an otadata partition (at least 0x1000 + 32 bytes)."""
    return OtaEntry.decode(data[:SECTOR]), OtaEntry.decode(data[SECTOR : SECTOR + ENTRY.size])


def encode_sector(entry: OtaEntry) -> bytes:
    """A whole sector as ESP-IDF leaves it: the entry, then erased bytes."""
    return entry.encode() + b"\xff" * (SECTOR - ENTRY.size)


def active_index(entries: Otadata) -> int | None:
    """The sector whose entry wins (highest sequence, sector 0 on a tie), or ``None``."""
    usable = [i for i in (0, 1) if entries[i].selectable]
    if not usable:
        return None
    return max(usable, key=lambda i: (entries[i].seq, -i))


def all_unusable(entries: Otadata) -> bool:
    """Both entries blank, INVALID or ABORTED (CRC not consulted, as in the bootloader)."""
    return entries[0].invalid and entries[1].invalid


def initial_contents(entries: Otadata) -> bool:
    """Both sectors blank or with a bad CRC: the bootloader will write sector 0 itself."""
    return all(e.is_blank or not e.crc_ok for e in entries)


def next_seq(current: int, slot: int, slot_count: int) -> int:
    """The smallest sequence >= ``current`` that names ``slot`` (``esp_rewrite_ota_data``).

    ESP-IDF counts up from ``(slot + 1) % slot_count`` in steps of ``slot_count`` until it
    reaches ``current``; the same number comes from one division, so a crafted entry with a
    huge sequence costs nothing. A result that does not fit below the blank value
    0xFFFFFFFF (ESP-IDF would store the blank value or wrap around, and the switch would
    silently not happen) raises :class:`~esp_at_sim.flash.errors.OtaError`.
    """
    base = (slot + 1) % slot_count
    steps = max(0, -(-(current - base) // slot_count))
    seq = base + steps * slot_count
    if seq >= BLANK_SEQ:
        raise OtaError(
            f"otadata sequence numbers are used up (the active entry has {current:#010x}); "
            "erase otadata to start counting again"
        )
    return seq


def switch_to(entries: Otadata, slot: int, slot_count: int, state: int) -> tuple[int, OtaEntry]:
    """Where and what to write so that ``slot`` boots next, as ``esp_ota_set_boot_partition``.

    Returns the sector index to rewrite and its new entry; the other sector is untouched,
    which is what makes the switch atomic.
    """
    if not 0 <= slot < slot_count:
        raise ValueError(f"slot {slot} out of range for {slot_count} OTA slots")
    active = active_index(entries)
    if active is None:
        return 0, entries[0].with_state(state).with_seq(slot + 1)
    other = 1 - active
    seq = next_seq(entries[active].seq, slot, slot_count)
    return other, entries[other].with_state(state).with_seq(seq)
