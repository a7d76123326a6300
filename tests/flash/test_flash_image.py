"""App image codec: our builder, our verifier, and esptool's view of both."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from esptool.bin_image import (
    ELFSection,
    ESP32C3FirmwareImage,
    ESP32FirmwareImage,
    LoadFirmwareImage,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.flash.errors import ImageError
from esp_at_sim.flash.image import (
    DESCRIPTOR_OFFSET,
    ESP32,
    AppDescriptor,
    build_app_image,
    encode_descriptor,
    encode_image,
    parse_image,
    verify_image,
    xor_bytes,
)

SMALL = build_app_image("v1.2.3", project_name="proj", idf_ver="v5.1.2", time="12:34:56")


def test_builder_descriptor_and_header() -> None:
    image = verify_image(SMALL, chip="esp32", partition_size=0x180000, for_boot=True)
    desc = image.descriptor
    assert desc is not None
    assert (desc.version, desc.project_name, desc.idf_ver, desc.time, desc.date) == (
        "v1.2.3",
        "proj",
        "v5.1.2",
        "12:34:56",
        "Jan  1 2025",
    )
    assert SMALL[0] == 0xE9 and SMALL[12:14] == b"\x00\x00" and SMALL[23] == 1
    assert SMALL[0x20:0x24] == (0xABCD5432).to_bytes(4, "little")
    assert SMALL[0x30 : 0x30 + 7] == b"v1.2.3\x00"
    assert SMALL[0x50 : 0x50 + 5] == b"proj\x00"
    assert image.length == len(SMALL) and len(SMALL) % 16 == 0
    assert SMALL[-32:] == hashlib.sha256(SMALL[:-32]).digest()


@pytest.mark.parametrize("size", [1024, 4096 + 16, 100_000, 1_500_000])
def test_builder_pads_to_exact_size(size: int) -> None:
    image = build_app_image("v2", chip="esp32c3", size=size)
    assert len(image) == size
    parsed = verify_image(image, chip="esp32c3", partition_size=0x1D0000, for_boot=True)
    assert len(parsed.segments) == 4


def test_builder_makes_every_size_from_the_smallest_up_exactly() -> None:
    smallest = len(build_app_image("v2"))
    for size in range(smallest, smallest + 16 * 40, 16):
        image = build_app_image("v2", size=size)
        assert len(image) == size
        verify_image(image, chip="esp32", partition_size=0x1D0000, for_boot=True)


def test_builder_refuses_sizes_no_image_can_have() -> None:
    # Every app image is a multiple of 16 bytes: 2001 cannot be made exactly.
    with pytest.raises(ValueError, match=r"multiple of 16 bytes long: 2001 is not \(2000 or 2016"):
        build_app_image("v2", size=2001)
    with pytest.raises(ValueError, match="below the smallest image"):
        build_app_image("v2", size=64)


@pytest.mark.parametrize("chip", ["esp32", "esp32c3"])
def test_esptool_image_info_accepts_our_images(tmp_path: Path, chip: str) -> None:
    path = tmp_path / "app.bin"
    path.write_bytes(build_app_image("v9.8.7", chip=chip, size=70_000))
    result = subprocess.run(
        [sys.executable, "-m", "esptool", "--chip", chip, "image-info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Checksum: 0x" in result.stdout and "(valid)" in result.stdout.split("Checksum:")[1]
    assert "Validation hash:" in result.stdout
    assert result.stdout.split("Validation hash:")[1].split("\n")[0].endswith("(valid)")
    assert "App version: v9.8.7" in result.stdout
    assert "Project name: esp-at" in result.stdout


@pytest.mark.parametrize("chip", ["esp32", "esp32c3"])
def test_esptool_parser_agrees_with_ours(chip: str) -> None:
    data = build_app_image("v3", chip=chip, size=50_000)
    theirs = LoadFirmwareImage(chip, data)
    ours = parse_image(data)
    assert theirs.checksum == theirs.calculate_checksum() == ours.checksum
    assert theirs.stored_digest == theirs.calc_digest == ours.sha256
    assert [(s.addr, len(s.data)) for s in theirs.segments] == [
        (s.load_addr, s.length) for s in ours.segments
    ]
    assert theirs.chip_id == ours.header.chip_id
    assert theirs.max_rev_full == ours.header.max_rev_full


def _esptool_image(cls: type[ESP32FirmwareImage], drom: int, irom: int, ram: int) -> bytes:
    """An image built by esptool's own writer, including its alignment padding."""
    desc = encode_descriptor(
        AppDescriptor(
            0, "v7.0-esptool", "esptool-made", "01:02:03", "Feb  2 2024", "v5.2", b"\x11" * 32
        )
    )
    image = cls()
    image.flash_mode = 2
    image.flash_size_freq = 0x20
    image.entrypoint = ram + 0x10
    image.segments = [
        ELFSection(b".flash.appdesc", drom + DESCRIPTOR_OFFSET, desc + bytes(range(256)) * 4, 0),
        ELFSection(b".flash.text", irom + 0x20, bytes(reversed(range(256))) * 16, 0),
        ELFSection(b".iram0.text", ram, b"\x13\x00\x00\x00" * 64, 0),
    ]
    saved = image.save(None)
    assert isinstance(saved, bytes)
    return saved


@pytest.mark.parametrize(
    ("cls", "chip", "drom", "irom", "ram"),
    [
        (ESP32FirmwareImage, "esp32", 0x3F400000, 0x400D0000, 0x40080000),
        (ESP32C3FirmwareImage, "esp32c3", 0x3C000000, 0x42000000, 0x40380000),
    ],
)
def test_images_built_by_esptool_verify(
    cls: type[ESP32FirmwareImage], chip: str, drom: int, irom: int, ram: int
) -> None:
    data = _esptool_image(cls, drom, irom, ram)
    image = verify_image(data, chip=chip, partition_size=0x180000, for_boot=True)
    assert image.descriptor is not None
    assert image.descriptor.version == "v7.0-esptool"
    assert image.descriptor.project_name == "esptool-made"
    # esptool inserted padding so the IROM segment lands on its 64 KiB mapping.
    assert any(seg.load_addr == irom + 0x20 for seg in image.segments)
    assert len(image.segments) > 3


def test_wrong_chip_is_named() -> None:
    c3 = build_app_image("v1", chip="esp32c3")
    with pytest.raises(ImageError, match=r"image is for ESP32-C3 \(chip id 5\), module is ESP32$"):
        verify_image(c3, chip="esp32")
    with pytest.raises(ImageError, match=r"image is for ESP32 \(chip id 0\), module is ESP32-C3"):
        verify_image(SMALL, chip="esp32c3")


def test_rejections_have_clear_reasons() -> None:
    cases: list[tuple[bytes, str]] = [
        (b"\x00" * 64, "bad magic 0x00"),
        (b"\xff" * 64, "bad magic 0xff"),
        (b"", "bad magic nothing"),
        (SMALL[:10], "truncated at byte 10"),
        (SMALL[:100], "truncated at byte 100"),
        (SMALL[:-1], "truncated at byte"),
        (SMALL[:1] + b"\x11" + SMALL[2:], "segment count 17 exceeds 16"),
    ]
    flipped = bytearray(SMALL)
    flipped[0x100] ^= 0x04  # segment data
    cases.append((bytes(flipped), "checksum mismatch"))
    rehashed = bytearray(SMALL)
    rehashed[-1] ^= 0xFF
    cases.append((bytes(rehashed), "SHA-256 mismatch"))
    for data, reason in cases:
        with pytest.raises(ImageError, match=reason):
            verify_image(data, chip="esp32")


def test_segment_past_partition_and_length_checks() -> None:
    big = build_app_image("v1", size=100_000)
    with pytest.raises(ImageError, match="segment 3 extends past the partition"):
        verify_image(big + b"\xff" * 1000, chip=ESP32, partition_size=0x10000)
    odd = encode_image([(0x3F400020, b"\x00" * 256)])
    patched = bytearray(odd)
    patched[28:32] = (257).to_bytes(4, "little")
    with pytest.raises(ImageError, match="segment 0 has invalid length 0x101"):
        verify_image(bytes(patched), chip="esp32")


def test_descriptor_magic_missing() -> None:
    data = encode_image([(0x3F400020, b"\x00" * 256), (0x40080000, b"\x00" * 16)])
    assert parse_image(data).descriptor is None
    with pytest.raises(ImageError, match="app descriptor magic missing"):
        verify_image(data, chip="esp32")


def test_mapping_alignment_and_load_address() -> None:
    desc = SMALL[DESCRIPTOR_OFFSET : DESCRIPTOR_OFFSET + 256]
    misaligned = encode_image([(0x3F400040, desc)])
    with pytest.raises(ImageError, match="does not match its flash offset"):
        verify_image(misaligned, chip="esp32")
    nowhere = encode_image([(0x3F400020, desc), (0x60000000, b"\x00" * 16)])
    verify_image(nowhere, chip="esp32")  # esp_ota_end does not check load addresses...
    with pytest.raises(ImageError, match="segment 1 0x60000000-0x60000010 has a bad load"):
        verify_image(nowhere, chip="esp32", for_boot=True)  # ...the bootloader does


def test_chip_revision_limits() -> None:
    desc = SMALL[DESCRIPTOR_OFFSET : DESCRIPTOR_OFFSET + 256]
    future = encode_image([(0x3F400020, desc)], min_rev_full=301)
    with pytest.raises(ImageError, match=r"requires chip revision >= v3.1, chip is v3.0"):
        verify_image(future, chip="esp32")
    old = encode_image([(0x3F400020, desc)], max_rev_full=199)
    with pytest.raises(ImageError, match=r"requires chip revision <= v1.99"):
        verify_image(old, chip="esp32")
    verify_image(encode_image([(0x3F400020, desc)], max_rev_full=0xFFFF), chip="esp32")


def test_image_without_hash_is_accepted_like_esp_idf() -> None:
    desc = SMALL[DESCRIPTOR_OFFSET : DESCRIPTOR_OFFSET + 256]
    plain = encode_image([(0x3F400020, desc)], hash_appended=False)
    image = verify_image(plain, chip="esp32")
    assert image.sha256 is None and image.sha256_ok is None and image.length == len(plain)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SMALL) * 8 - 1))
def test_every_bit_flip_is_rejected(bit: int) -> None:
    data = bytearray(SMALL)
    data[bit // 8] ^= 1 << (bit % 8)
    if bit == 23 * 8:
        # Clearing hash_appended turns the hash off: ESP-IDF then accepts the image too.
        verify_image(bytes(data), chip="esp32")
        return
    with pytest.raises(ImageError):
        verify_image(bytes(data), chip="esp32")


segment_data = st.binary(min_size=0, max_size=300).map(lambda b: b + bytes(-len(b) % 4))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0x3FFB0000, 0x3FFBFF00).map(lambda a: a & ~3), segment_data),
        max_size=6,
    ),
    st.booleans(),
    st.sampled_from(["esp32", "esp32c3"]),
)
def test_image_codec_round_trip(
    ram_segments: list[tuple[int, bytes]], hashed: bool, chip: str
) -> None:
    desc = SMALL[DESCRIPTOR_OFFSET : DESCRIPTOR_OFFSET + 256]
    drom = 0x3F400020 if chip == "esp32" else 0x3C000020
    segments = [(drom, desc), *ram_segments]
    data = encode_image(segments, chip=chip, hash_appended=hashed)
    image = verify_image(data, chip=chip)
    assert [
        (s.load_addr, bytes(data[s.data_offset : s.data_offset + s.length])) for s in image.segments
    ] == segments
    assert image.length == len(data) and image.checksum_ok
    theirs = LoadFirmwareImage(chip, io.BytesIO(data).getvalue())
    assert theirs.checksum == theirs.calculate_checksum()


@given(st.binary(max_size=2000))
@settings(max_examples=100, deadline=None)
def test_xor_fold_matches_naive(data: bytes) -> None:
    naive = 0
    for byte in data:
        naive ^= byte
    assert xor_bytes(data) == naive


@given(st.binary(max_size=600))
@settings(max_examples=200, deadline=None)
def test_garbage_only_raises_image_error(data: bytes) -> None:
    for blob in (data, b"\xe9" + data):
        try:
            parse_image(blob)
            verify_image(blob, chip="esp32")
        except ImageError:
            pass
