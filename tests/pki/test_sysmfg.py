"""AT+SYSMFG on the mfg_nvs partition, byte for byte, and what it leaves in flash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from esp_at_sim.device.module import Module
from esp_at_sim.flash.mfg import MfgNvs
from esp_at_sim.flash.nvs import ItemType, NvsItem
from esp_at_sim.testing import AtHarness, start_module


@pytest.fixture
async def flashed(tmp_path: Path) -> AsyncIterator[tuple[Module, AtHarness]]:
    module, at = await start_module(flash=tmp_path / "m.flash")
    yield module, at
    await module.close()


def mfg_of(module: Module) -> MfgNvs:
    assert module.firmware is not None
    mfg = module.firmware.mfg()
    assert mfg is not None
    return mfg


async def write(at: AtHarness, command: str, data: bytes) -> bytes:
    at.port.feed(command.encode() + b"\r\n")
    prompt = await at.wait_for(b">", b"ERROR\r\n")
    if not prompt.endswith(b">"):
        return prompt
    at.port.feed(data)
    return prompt + await at.wait_for(b"OK\r\n", b"ERROR\r\n")


async def test_write_read_list_and_erase_a_certificate(
    flashed: tuple[Module, AtHarness],
) -> None:
    module, at = flashed
    cert = trustme.CA().cert_pem.bytes()
    assert await at.cmd("AT+SYSMFG?") == b"AT+SYSMFG?\r\n\r\nOK\r\n"  # a fresh mfg_nvs
    command = f'AT+SYSMFG=2,"client_cert","client_cert.0",8,{len(cert)}'
    assert await write(at, command, cert) == command.encode() + b"\r\n\r\n>\r\nOK\r\n"
    assert await at.cmd("AT+SYSMFG?") == b'AT+SYSMFG?\r\n+SYSMFG:"client_cert"\r\n\r\nOK\r\n'
    assert await at.cmd("AT+SYSMFG=1") == b'AT+SYSMFG=1\r\n+SYSMFG:"client_cert"\r\n\r\nOK\r\n'
    assert await at.cmd('AT+SYSMFG=1,"client_cert"') == (
        b'AT+SYSMFG=1,"client_cert"\r\n+SYSMFG:"client_cert","client_cert.0",8\r\n\r\nOK\r\n'
    )
    read = 'AT+SYSMFG=1,"client_cert","client_cert.0"'
    assert await at.cmd(read) == (
        read.encode()
        + f'\r\n+SYSMFG:"client_cert","client_cert.0",8,{len(cert)},'.encode()
        + cert
        + b"\r\n\r\nOK\r\n"
    )
    sliced = 'AT+SYSMFG=1,"client_cert","client_cert.0",5,10'
    assert await at.cmd(sliced) == (
        sliced.encode()
        + b'\r\n+SYSMFG:"client_cert","client_cert.0",8,10,'
        + cert[5:15]
        + b"\r\n\r\nOK\r\n"
    )
    assert mfg_of(module).pki_file("client_cert", 0) == cert
    assert await at.cmd('AT+SYSMFG=0,"client_cert","client_cert.0"') == (
        b'AT+SYSMFG=0,"client_cert","client_cert.0"\r\n\r\nOK\r\n'
    )
    assert mfg_of(module).namespaces() == []
    assert (
        await at.cmd('AT+SYSMFG=1,"client_cert"') == b'AT+SYSMFG=1,"client_cert"\r\n\r\nERROR\r\n'
    )


async def test_integers_and_strings_keep_their_types(flashed: tuple[Module, AtHarness]) -> None:
    module, at = flashed
    for number, value in ((1, 255), (2, -128), (3, 65535), (4, -2), (5, 4294967295), (6, -7)):
        line = f'AT+SYSMFG=2,"factory_param","k{number}",{number},{value}'
        assert await at.cmd(line) == line.encode() + b"\r\n\r\nOK\r\n"
    out = await write(at, 'AT+SYSMFG=2,"factory_param","name",7,6', b"MINI-1")
    assert out.endswith(b"\r\n>\r\nOK\r\n")
    listing = await at.cmd('AT+SYSMFG=1,"factory_param"')
    assert listing == (
        b'AT+SYSMFG=1,"factory_param"\r\n'
        + b"".join(f'+SYSMFG:"factory_param","k{n}",{n}\r\n'.encode() for n in range(1, 7))
        + b'+SYSMFG:"factory_param","name",7\r\n\r\nOK\r\n'
    )
    # a number's <length> is the length of its text
    assert await at.cmd('AT+SYSMFG=1,"factory_param","k5"') == (
        b'AT+SYSMFG=1,"factory_param","k5"\r\n'
        b'+SYSMFG:"factory_param","k5",5,10,4294967295\r\n\r\nOK\r\n'
    )
    assert await at.cmd('AT+SYSMFG=1,"factory_param","k2"') == (
        b'AT+SYSMFG=1,"factory_param","k2"\r\n+SYSMFG:"factory_param","k2",2,4,-128\r\n\r\nOK\r\n'
    )
    assert await at.cmd('AT+SYSMFG=1,"factory_param","name"') == (
        b'AT+SYSMFG=1,"factory_param","name"\r\n'
        b'+SYSMFG:"factory_param","name",7,6,MINI-1\r\n\r\nOK\r\n'
    )
    kinds = {i.key: i.type for i in mfg_of(module).namespace_items("factory_param")}
    assert kinds == {
        "k1": ItemType.U8,
        "k2": ItemType.I8,
        "k3": ItemType.U16,
        "k4": ItemType.I16,
        "k5": ItemType.U32,
        "k6": ItemType.I32,
        "name": ItemType.SZ,
    }
    # a write replaces the key whatever its old type
    assert (await at.cmd('AT+SYSMFG=2,"factory_param","k1",6,70000')).endswith(b"\r\nOK\r\n")
    assert mfg_of(module).get("factory_param", "k1") == NvsItem(
        "factory_param", "k1", ItemType.I32, 70000
    )
    # erasing a namespace takes every key
    assert (await at.cmd('AT+SYSMFG=0,"factory_param"')).endswith(b"\r\nOK\r\n")
    assert mfg_of(module).namespaces() == []


async def test_what_is_written_survives_a_reset(flashed: tuple[Module, AtHarness]) -> None:
    _, at = flashed
    out = await write(at, 'AT+SYSMFG=2,"server_key","server_key",8,3', b"\x00\xff\r")
    assert out.endswith(b"OK\r\n")
    await at.cmd("AT+RST")
    await at.wait_for(b"ready\r\n")
    assert await at.cmd('AT+SYSMFG=1,"server_key","server_key"') == (
        b'AT+SYSMFG=1,"server_key","server_key"\r\n'
        b'+SYSMFG:"server_key","server_key",8,3,\x00\xff\r\r\n\r\nOK\r\n'
    )


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("AT+SYSMFG=3", "0x01070000"),  # no such operation
        ('AT+SYSMFG="1"', "0x01050000"),  # operation is a number
        ("AT+SYSMFG=0", "0x01060301"),  # erase needs a namespace
        ('AT+SYSMFG=1,"client_cert","client_cert.0",1', "0x01060504"),  # offset without length
        ('AT+SYSMFG=1,"nothing_here"', "0x010a0000"),  # no such namespace
        ('AT+SYSMFG=1,"factory_param","absent"', "0x010a0000"),  # no such key
        ('AT+SYSMFG=0,"factory_param","absent"', "0x010a0000"),  # erase a missing key
        ('AT+SYSMFG=2,"factory_param","k",1,256', "0x01070004"),  # u8 out of range
        ('AT+SYSMFG=2,"factory_param","k",2,-129', "0x01070004"),  # i8 out of range
        ('AT+SYSMFG=2,"factory_param","k",9,1', "0x01070003"),  # no such type
        ('AT+SYSMFG=2,"factory_param","k",7,0', "0x01070004"),  # empty string
        ('AT+SYSMFG=2,"factory_param","k",7,4000', "0x01070004"),  # longer than NVS takes
        ('AT+SYSMFG=2,"factory_param","k",1', "0x01060504"),  # no value
        ('AT+SYSMFG=2,"a_namespace_too_long","k",1,1', "0x01040001"),  # 16 bytes
        ('AT+SYSMFG=2,"factory_param",1,1,1', "0x01050002"),  # key is a string
    ],
)
async def test_bad_input_is_error_and_changes_nothing(
    flashed: tuple[Module, AtHarness], line: str, code: str
) -> None:
    module, at = flashed
    assert (await at.cmd('AT+SYSMFG=2,"factory_param","keep",1,7')).endswith(b"OK\r\n")
    await at.cmd("AT+SYSLOG=1")
    assert await at.cmd(line) == f"{line}\r\nERR CODE:{code}\r\n\r\nERROR\r\n".encode()
    assert [(i.key, i.value) for i in mfg_of(module).items()] == [("keep", 7)]


async def test_a_string_with_nul_is_refused_after_the_data(
    flashed: tuple[Module, AtHarness],
) -> None:
    module, at = flashed
    out = await write(at, 'AT+SYSMFG=2,"factory_param","name",7,3', b"a\x00b")
    assert out.endswith(b"\r\n>\r\nERROR\r\n")
    assert mfg_of(module).namespaces() == []
    assert (await at.cmd("AT")).endswith(b"\r\nOK\r\n")


async def test_a_module_without_flash_has_no_mfg_nvs() -> None:
    module, at = await start_module()
    try:
        assert await at.cmd("AT+SYSMFG?") == b"AT+SYSMFG?\r\n\r\nERROR\r\n"
        assert await at.cmd("AT+SYSMFG=1") == b"AT+SYSMFG=1\r\n\r\nERROR\r\n"
    finally:
        await module.close()
