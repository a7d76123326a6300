"""OTA uploads verified as they arrive: the same verdict as verifying the stored slot
afterwards (the same image accepted, the same error for every bad one), without
reading the slot back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.flash import FlashImage, FlashLayout, begin_update, boot, load_layout, mark_valid
from esp_at_sim.flash.boot import verify_partition
from esp_at_sim.flash.errors import ImageError
from esp_at_sim.flash.image import (
    HEADER,
    ImageStream,
    build_app_image,
    encode_image,
    parse_image,
)

LAYOUT: FlashLayout = load_layout("esp32")
GOOD = build_app_image("v2.0.0", size=20_000)
UNHASHED = encode_image([(0x3F400020, GOOD[32:2080])], hash_appended=False)


def verdict(flash: FlashImage, data: bytes, step: int) -> tuple[str, object]:
    """Upload ``data`` in ``step``-byte chunks: what end() says, and what verifying the
    stored slot (the check made before uploads were verified on the way) says."""
    running = boot(flash)
    mark_valid(flash, running)
    update = begin_update(flash, running)
    try:
        for at in range(0, len(data), step):
            update.write(data[at : at + step])
    except ImageError as exc:
        return ("refused", str(exc)), ("refused", str(exc))
    try:
        now: tuple[str, object] = ("ok", update.end())
    except ImageError as exc:
        now = ("error", str(exc))
    try:
        before: tuple[str, object] = ("ok", verify_partition(flash, update.partition))
    except ImageError as exc:
        before = ("error", str(update._explain(exc)))  # worded as end() words it
    return now, before


@pytest.fixture
def flash() -> Iterator[FlashImage]:
    image = FlashImage.in_memory(LAYOUT)
    yield image
    image.close()


@pytest.mark.parametrize("step", [1, 7, 320, 4096, 1 << 20])
def test_stream_parses_as_parse_image_does(step: int) -> None:
    for data in (GOOD, UNHASHED, GOOD + b"\x00" * 999):
        stream = ImageStream(partition_size=0x100000)
        for at in range(0, len(data), step):
            stream.feed(data[at : at + step])
        assert stream.image() == parse_image(data)


def test_stream_has_no_image_before_the_end_or_when_broken() -> None:
    stream = ImageStream()
    stream.feed(GOOD[:-1])
    assert stream.image() is None  # the last hash byte is missing
    stream.feed(GOOD[-1:])
    assert stream.image() == parse_image(GOOD)
    cut = ImageStream(partition_size=len(GOOD) - 1)  # the hash would pass the partition
    cut.feed(GOOD)
    assert cut.image() is None
    bad = ImageStream()
    bad.feed(GOOD[: HEADER.size + 4] + b"\x03\x00\x00\x00" + GOOD[HEADER.size + 8 :])
    assert bad.image() is None  # a segment length that is not a multiple of 4


def test_a_good_upload_is_not_read_back(flash: FlashImage, monkeypatch: pytest.MonkeyPatch) -> None:
    running = boot(flash)
    mark_valid(flash, running)
    update = begin_update(flash, running)
    reads: list[int] = []
    real_read = flash.device.read
    monkeypatch.setattr(flash.device, "read", lambda at, n: reads.append(at) or real_read(at, n))
    for at in range(0, len(GOOD), 4096):
        update.write(GOOD[at : at + 4096])
    image = update.end()
    assert image is not None and image.descriptor is not None
    assert image.descriptor.version == "v2.0.0"
    slot = update.partition
    assert reads and not [at for at in reads if slot.offset <= at < slot.offset + slot.size]
    assert flash.read_partition(update.partition, 0, len(GOOD)) == GOOD


MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(GOOD) - 1), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(1, len(GOOD) - 1), st.just(0)),
    st.tuples(st.just("grow"), st.integers(1, 64), st.integers(0, 255)),
)


@settings(max_examples=60, deadline=None)
@given(MUTATIONS, st.sampled_from([61, 320, 4096, 65536]))  # byte by byte: see above
def test_verdicts_match_verifying_the_stored_slot(
    mutation: tuple[str, int, int], step: int
) -> None:
    kind, at, value = mutation
    data = bytearray(GOOD)
    if kind == "flip":
        data[at] ^= value
    elif kind == "cut":
        del data[at:]
    else:
        data += bytes([value]) * at
    with FlashImage.in_memory(LAYOUT) as flash:
        now, before = verdict(flash, bytes(data), step)
    assert now == before


@pytest.mark.parametrize(
    "data",
    [
        build_app_image("v9", chip="esp32c3", size=20_000),  # another chip
        encode_image([(0x3F400020, b"\x00" * 256)]),  # no descriptor
        UNHASHED,
        GOOD[: HEADER.size] + b"\x00" * 100,  # cut inside the first segment
        GOOD[:1] + b"\x11" + GOOD[2:],  # 17 segments
    ],
)
def test_bad_and_odd_images_get_the_same_verdict(flash: FlashImage, data: bytes) -> None:
    now, before = verdict(flash, data, 320)
    assert now == before
