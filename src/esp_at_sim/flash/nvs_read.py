"""Reading NVS pages as ESP-IDF does, damage included: what it keeps, skips and loses.

The rules are those of ESP-IDF's ``nvs_flash`` (``Page::load`` and its entry-table scan,
``PageManager::load``, ``Storage::init``, ``readItem`` and ``readMultiPageBlob``):

Pages
  - State word 0xFFFFFFFF: a free page when every byte is 0xFF; otherwise CORRUPT.
  - Any other state and a header CRC (bytes 4..28) that does not match: CORRUPT.
  - A good CRC but a state other than ACTIVE, FULL or FREEING: CORRUPT.
  - CORRUPT pages are not read at all (every entry on them is lost) and are erased before
    the page is used again. A page of a newer format (version byte below 0xFE) makes
    ESP-IDF refuse the whole partition; here only that page is left out.
  - ACTIVE, FULL and FREEING pages are read in sequence-number order.

Entries (two state bits each: ``11`` empty, ``10`` written, ``00`` erased, ``01`` illegal)
  - On the ACTIVE page the first empty entry ends the used part. Entries after it whose
    first word is not blank were written without their state bits (an interrupted write)
    and are erased, one after the other up to the first blank one.
  - An illegal entry is erased (ACTIVE page) or skipped (FULL, FREEING).
  - A written entry whose CRC does not match is erased on its own: its span cannot be
    trusted, so the entries after it are checked as entries in their turn (a string's data
    entries then fail their CRC too).
  - A string or blob chunk whose data entries are not all in state written is erased with
    its span; one whose data CRC does not match is erased when read. Either way it is lost.
  - A later entry with the same namespace, key and chunk replaces an earlier one.

Blobs and namespaces
  - Blob chunks that no blob index covers are erased at start-up; a blob whose index names
    a chunk that is missing or damaged is lost (erased when read).
  - Entries whose namespace index has no name entry cannot be reached, except that ESP-IDF
    gives a namespace it creates the lowest free index, which adopts such entries when it
    is theirs (:class:`~esp_at_sim.flash.nvs_store.NvsSettingsStore` does that for its own
    namespace).

ESP-IDF erases what it drops on flash at start-up or when it reads it. Reading here never
writes: what ESP-IDF would drop is left out of :attr:`NvsReadout.items` (so the next save,
which rewrites the settings, drops it), and every loss becomes a :class:`Damage`, which the
module reports in its event log and ``flash info`` prints.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from esp_at_sim.flash.nvs import (
    ENTRIES,
    ENTRY,
    FIRST_ENTRY,
    INT_FORMATS,
    PAGE,
    VERSION2,
    ItemType,
    NvsItem,
    PageState,
    crc32,
)

EMPTY, WRITTEN, ERASED, ILLEGAL = 0b11, 0b10, 0b00, 0b01
READ_STATES = (PageState.ACTIVE, PageState.FULL, PageState.FREEING)
VARIABLE = (ItemType.SZ, ItemType.BLOB, ItemType.BLOB_DATA)
BLANK_WORD = b"\xff" * 4


@dataclass(frozen=True)
class PageInfo:
    """A page header as read back."""

    index: int
    state: int
    seq: int
    version: int
    header_ok: bool  # the CRC matches (and the header is not blank)
    blank: bool = False  # every byte of the page is 0xFF

    @property
    def live(self) -> bool:
        """Holds entries ESP-IDF reads (ACTIVE, FULL or FREEING with a good header)."""
        return self.header_ok and self.state in READ_STATES and self.version in (VERSION2, 0xFF)

    @property
    def corrupt(self) -> bool:
        """Neither free nor readable: ESP-IDF's CORRUPT (or a newer format)."""
        return not self.blank and not self.live


def page_headers(data: bytes | memoryview) -> list[PageInfo]:
    out = []
    for index in range(len(data) // PAGE):
        page = bytes(data[index * PAGE : (index + 1) * PAGE])
        head = page[:32]
        state, seq = struct.unpack_from("<II", head)
        crc_ok = struct.unpack_from("<I", head, 28)[0] == crc32(head[4:28])
        blank = page.count(0xFF) == PAGE
        out.append(PageInfo(index, state, seq, head[8], crc_ok and head != b"\xff" * 32, blank))
    return out


@dataclass(frozen=True)
class Damage:
    """One loss: where, what is wrong there, and the settings it costs."""

    page: int | None  # None: not one page (a namespace without its name entry)
    entry: int | None
    problem: str
    lost: tuple[str, ...] = ()  # "namespace.key" ("#N.key" when the namespace is unknown)

    def __str__(self) -> str:
        where = "NVS" if self.page is None else f"page {self.page}"
        where += f" entry {self.entry}" if self.entry is not None else ""
        cost = f"; lost: {', '.join(self.lost)}" if self.lost else "; nothing lost"
        return f"{where}: {self.problem}{cost}"


@dataclass(frozen=True)
class _Record:
    page: int
    entry: int
    ns: int
    kind: int
    chunk: int
    key: str
    value: int | bytes


@dataclass
class _Loss:
    page: int | None
    entry: int | None
    problem: str
    refs: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class NvsReadout:
    """What a partition holds, as ESP-IDF would read it."""

    items: list[NvsItem]
    damage: list[Damage]
    orphans: dict[int, list[NvsItem]]  # by namespace index without a name entry
    namespaces: dict[int, str]


def _ref(raw: bytes) -> tuple[int, str] | None:
    """The namespace index and key of an entry, if its key bytes look like a key."""
    key = raw[8:24].split(b"\x00", 1)[0]
    if not key or not all(0x20 < b < 0x7F for b in key):
        return None
    return raw[0], key.decode("ascii")


def _crc_ok(raw: bytes) -> bool:
    return bool(struct.unpack_from("<I", raw, 4)[0] == crc32(raw[0:4] + raw[8:32]))


def _states(page: bytes) -> list[int]:
    return [(page[32 + i // 4] >> ((i % 4) * 2)) & 3 for i in range(ENTRIES)]


def _entry(page: bytes, i: int) -> bytes:
    return page[FIRST_ENTRY + i * ENTRY : FIRST_ENTRY + (i + 1) * ENTRY]


def _scan(index: int, page: bytes, active: bool, losses: list[_Loss]) -> list[_Record]:
    """The records ESP-IDF keeps on one readable page; every loss goes to ``losses``."""
    states = _states(page)
    end = ENTRIES
    if active:
        end = next((i for i, s in enumerate(states) if s == EMPTY), ENTRIES)
        while end < ENTRIES and _entry(page, end)[:4] != BLANK_WORD:
            raw = _entry(page, end)
            ref = _ref(raw) if _crc_ok(raw) else None
            problem = "written after the page's first free entry (an interrupted write)"
            losses.append(_Loss(index, end, problem, [ref] if ref else []))
            states[end] = ERASED
            end += 1
    records: list[_Record] = []
    bad_run: _Loss | None = None
    i = 0
    while i < end:
        raw = _entry(page, i)
        if states[i] != WRITTEN:
            if states[i] == ILLEGAL or (states[i] == EMPTY and raw != b"\xff" * ENTRY):
                ref = _ref(raw) if _crc_ok(raw) else None
                bits = f"{states[i]:02b}"
                losses.append(_Loss(index, i, f"entry state bits {bits}", [ref] if ref else []))
            i += 1
            continue
        if not _crc_ok(raw):
            if bad_run is None:  # one report for a run of them (a header and its data)
                ref = _ref(raw)
                bad_run = _Loss(index, i, "entry CRC mismatch", [ref] if ref else [])
                losses.append(bad_run)
            i += 1
            continue
        bad_run = None
        ns, kind, span, chunk = raw[0], raw[1], raw[2], raw[3]
        key = raw[8:24].split(b"\x00", 1)[0].decode("utf-8", errors="replace")
        if kind in VARIABLE:
            broken = _span_problem(page, states, i, span)
            if broken is not None:
                losses.append(_Loss(index, i, broken, [(ns, key)]))
                i += span if span > 0 and i + span <= ENTRIES else 1
                continue
            size = struct.unpack_from("<H", raw, 24)[0]
            start = FIRST_ENTRY + (i + 1) * ENTRY
            records.append(_Record(index, i, ns, kind, chunk, key, page[start : start + size]))
            i += span
            continue
        if kind in INT_FORMATS:
            (value,) = struct.unpack_from(INT_FORMATS[ItemType(kind)], raw, 24)
            records.append(_Record(index, i, ns, kind, chunk, key, value))
        elif kind == ItemType.BLOB_IDX:
            records.append(_Record(index, i, ns, kind, chunk, key, raw[24:30]))
        i += 1
    return records


def _span_problem(page: bytes, states: list[int], i: int, span: int) -> str | None:
    raw = _entry(page, i)
    size, _, data_crc = struct.unpack_from("<HHI", raw, 24)
    if span < 1 or i + span > ENTRIES:
        return f"span {span} does not fit the page"
    if any(states[j] != WRITTEN for j in range(i + 1, i + span)):
        return "its data entries are not all written"
    if size > (span - 1) * ENTRY:
        return f"size {size} exceeds its span of {span} entries"
    start = FIRST_ENTRY + (i + 1) * ENTRY
    if crc32(page[start : start + size]) != data_crc:
        return "data CRC mismatch"
    return None


def _page_problem(info: PageInfo) -> str:
    if info.state == PageState.UNINITIALIZED:
        if info.header_ok:
            return "an unfinished save (written, never committed); ignored"
        return "not erased although unused; ignored"
    if not info.header_ok:
        return "page header CRC mismatch: the page is not read"
    if info.state not in READ_STATES:
        return f"unknown page state {info.state:#010x}: the page is not read"
    return f"newer NVS format (version {info.version:#04x}): the page is not read"


def read_nvs(
    data: bytes | memoryview, pages: Sequence[int] | None = None, *, adopt: str | None = None
) -> NvsReadout:
    """Read ``pages`` (physical indices, in the order given; by default every readable page
    in sequence order) as ESP-IDF would, and report every page of ``data`` it could not
    read and every entry it would drop. ``adopt`` names a namespace the reader opens for
    writing: when its name entry is gone, it takes the lowest free index, as ESP-IDF's
    ``nvs_open`` does, with the entries left there."""
    headers = page_headers(data)
    if pages is None:
        pages = [p.index for p in sorted((p for p in headers if p.live), key=lambda p: p.seq)]
    losses: list[_Loss] = []
    hints: dict[int, str] = {}  # namespace names seen on unreadable pages, to name losses
    for info in headers:
        if info.corrupt:
            raw = bytes(data[info.index * PAGE : (info.index + 1) * PAGE])
            found = (
                _scan(info.index, raw, False, []) if info.state != PageState.UNINITIALIZED else []
            )
            refs = [(r.ns, r.key) for r in found if r.ns not in (0, 0xFF)]
            hints.update((r.value, r.key) for r in found if r.ns == 0 and isinstance(r.value, int))
            losses.append(_Loss(info.index, None, _page_problem(info), refs))
    records: list[_Record] = []
    for index in pages:
        info = headers[index]
        page = bytes(data[index * PAGE : (index + 1) * PAGE])
        records += _scan(index, page, info.state == PageState.ACTIVE, losses)
    return _assemble(records, losses, adopt, hints)


def read_items(data: bytes | memoryview, pages: Sequence[int] | None = None) -> list[NvsItem]:
    """The items of :func:`read_nvs`, without the report."""
    return read_nvs(data, pages).items


def _assemble(
    records: list[_Record], losses: list[_Loss], adopt: str | None, hints: dict[int, str]
) -> NvsReadout:
    names: dict[int, str] = {}
    latest: dict[tuple[int, int, str, int], _Record] = {}
    for r in records:
        if r.ns == 0 and r.kind == ItemType.U8 and isinstance(r.value, int):
            names[r.value] = r.key
        chunk = r.chunk if r.kind == ItemType.BLOB_DATA else 0xFF
        latest[(r.ns, int(r.kind == ItemType.BLOB_DATA), r.key, chunk)] = r
    chunks = {(r.ns, r.key, r.chunk): r for r in latest.values() if r.kind == ItemType.BLOB_DATA}
    used: set[tuple[int, str, int]] = set()
    items: dict[tuple[int, str], NvsItem] = {}
    for r in latest.values():
        if r.ns in (0, 0xFF) or r.kind == ItemType.BLOB_DATA:
            continue
        item = _to_item(r, chunks, used, losses)
        if item is not None:
            items[(r.ns, r.key)] = item
    for (ns, key, chunk), r in chunks.items():
        if (ns, key, chunk) not in used and not _covered(ns, key, chunk, latest):
            losses.append(_Loss(r.page, r.entry, f"blob chunk {chunk} without a blob index"))
    if adopt is not None and adopt not in names.values():
        free = next((n for n in range(1, 255) if n not in names), None)
        if free is not None and any(ns == free for ns, _ in items):
            names[free] = adopt
            problem = (
                f"no name entry for namespace index {free}: taken as {adopt!r}, as ESP-IDF does"
            )
            losses.append(_Loss(None, None, problem + " when it creates the namespace again"))
    found: list[NvsItem] = []
    orphans: dict[int, list[NvsItem]] = {}
    for (ns, _key), item in items.items():
        if ns in names:
            found.append(_named(item, names[ns]))
        else:
            orphans.setdefault(ns, []).append(item)
    for ns, lost in sorted(orphans.items()):
        refs = [(ns, i.key) for i in lost]
        losses.append(_Loss(None, None, f"no name entry for namespace index {ns}", refs))
    damage = [_damage(loss, {**hints, **names}) for loss in losses]
    return NvsReadout(found, damage, orphans, names)


def _covered(
    ns: int, key: str, chunk: int, latest: dict[tuple[int, int, str, int], _Record]
) -> bool:
    index = latest.get((ns, 0, key, 0xFF))
    if index is None or index.kind != ItemType.BLOB_IDX or not isinstance(index.value, bytes):
        return False
    count, start = index.value[4], index.value[5]
    return bool(start <= chunk < start + count)


def _named(item: NvsItem, namespace: str) -> NvsItem:
    return NvsItem(namespace, item.key, item.type, item.value)


def _damage(loss: _Loss, names: dict[int, str]) -> Damage:
    refs = [(ns, key) for ns, key in loss.refs if ns not in (0, 0xFF)]  # not namespace names
    lost = tuple(dict.fromkeys(f"{names.get(ns, f'#{ns}')}.{key}" for ns, key in refs))
    return Damage(loss.page, loss.entry, loss.problem, lost)


def _to_item(
    r: _Record,
    chunks: dict[tuple[int, str, int], _Record],
    used: set[tuple[int, str, int]],
    losses: list[_Loss],
) -> NvsItem | None:
    """The item a record stands for, under the placeholder namespace ``#N``."""
    placeholder = f"#{r.ns}"
    if isinstance(r.value, int):
        return NvsItem(placeholder, r.key, ItemType(r.kind), r.value)
    if r.kind == ItemType.SZ:
        text = r.value.split(b"\x00", 1)[0].decode("utf-8", errors="replace")
        return NvsItem(placeholder, r.key, ItemType.SZ, text)
    if r.kind == ItemType.BLOB:
        return NvsItem(placeholder, r.key, ItemType.BLOB, r.value)
    if r.kind != ItemType.BLOB_IDX:
        return None
    size, count, start = struct.unpack("<IBB", r.value)
    parts = []
    for n in range(count):
        part = chunks.get((r.ns, r.key, start + n))
        used.add((r.ns, r.key, start + n))
        if part is None or not isinstance(part.value, bytes):
            if not any((r.ns, r.key) in loss.refs for loss in losses):  # else reported there
                losses.append(_Loss(r.page, r.entry, f"blob chunk {n} missing", [(r.ns, r.key)]))
            return None
        parts.append(part.value)
    blob = b"".join(parts)
    if len(blob) != size:
        problem = f"blob chunks hold {len(blob)} bytes, its index says {size}"
        losses.append(_Loss(r.page, r.entry, problem, [(r.ns, r.key)]))
        return None
    return NvsItem(placeholder, r.key, ItemType.BLOB, blob)
