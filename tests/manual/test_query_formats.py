"""Every query of the Basic and Wi-Fi chapters prints its fields the way the firmware's
format strings do: a field the manual writes ``<"name">`` in double quotes, a field it
writes ``<name>`` bare (``+CWDHCPS:<lease time>,<start IP>,<end IP>`` has no quotes,
``+CIPAP:ip:<"ip">`` has them). Where the manual and the firmware disagree the template
below follows the firmware (``+SYSFLASH:`` quotes the partition name)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from esp_at_sim.testing import assert_no_tasks_left, start_module
from wifi.harness import At, scenario

# The response template of each query, one line per information line it prints.
TEMPLATES: dict[str, tuple[str, ...]] = {
    # Wi-Fi chapter
    "AT+CWINIT?": ("+CWINIT:<init>",),
    "AT+CWMODE?": ("+CWMODE:<mode>",),
    "AT+CWSTATE?": ('+CWSTATE:<state>,<"ssid">',),
    "AT+CWJAP?": (
        '+CWJAP:<"ssid">,<"bssid">,<channel>,<rssi>,<pci_en>,<reconn_interval>,'
        "<listen_interval>,<scan_mode>,<pmf>",
    ),
    "AT+CWRECONNCFG?": ("+CWRECONNCFG:<interval_second>,<repeat_count>",),
    "AT+CWSAP?": ('+CWSAP:<"ssid">,<"pwd">,<channel>,<ecn>,<max conn>,<ssid hidden>',),
    "AT+CWDHCP?": ("+CWDHCP:<state>",),
    "AT+CWDHCPS?": ("+CWDHCPS:<lease time>,<start IP>,<end IP>",),
    "AT+CWAUTOCONN?": ("+CWAUTOCONN:<enable>",),
    "AT+CIPSTAMAC?": ('+CIPSTAMAC:<"mac">',),
    "AT+CIPAPMAC?": ('+CIPAPMAC:<"mac">',),
    "AT+CIPSTA?": (
        '+CIPSTA:ip:<"ip">',
        '+CIPSTA:gateway:<"gateway">',
        '+CIPSTA:netmask:<"netmask">',
    ),
    "AT+CIPAP?": ('+CIPAP:ip:<"ip">', '+CIPAP:gateway:<"gateway">', '+CIPAP:netmask:<"netmask">'),
    "AT+CWHOSTNAME?": ("+CWHOSTNAME:<hostname>",),
    "AT+CWCOUNTRY?": (
        '+CWCOUNTRY:<country_policy>,<"country_code">,<start_channel>,<total_channel_count>',
    ),
    # Basic chapter
    "AT+UART_CUR?": ("+UART_CUR:<baudrate>,<databits>,<stopbits>,<parity>,<flow control>",),
    "AT+UART_DEF?": ("+UART_DEF:<baudrate>,<databits>,<stopbits>,<parity>,<flow control>",),
    "AT+SLEEP?": ("+SLEEP:<sleep mode>",),
    "AT+SYSRAM?": ("+SYSRAM:<remaining RAM size>,<minimum heap size>",),
    "AT+SYSMSG?": ("+SYSMSG:<state>",),
    "AT+SYSTIMESTAMP?": ("+SYSTIMESTAMP:<Unix_timestamp>",),
    "AT+SYSLOG?": ("+SYSLOG:<status>",),
    "AT+SYSSTORE?": ("+SYSSTORE:<store_mode>",),
    "AT+SYSROLLBACK?": (
        '+SYSROLLBACK:<running_app_addr>,<"running_app_version">,<rollback_app_addr>,'
        '<"rollback_app_version">',
    ),
}
# Queries that print one line per item, each of this form.
REPEATED: dict[str, str] = {
    "AT+CMD?": '+CMD:<index>,<"AT command name">,<test>,<query>,<set>,<execute>',
    "AT+SYSFLASH?": '+SYSFLASH:<"partition">,<type>,<subtype>,<addr>,<size>',
}

_FIELD = re.compile(r'<"[^>]*">|<[^>]*>')


def line_pattern(template: str) -> re.Pattern[bytes]:
    """A template as a pattern: ``<"x">`` a quoted field, ``<x>`` a bare one (no quote,
    no comma), everything else as written."""
    out = []
    pos = 0
    for match in _FIELD.finditer(template):
        out.append(re.escape(template[pos : match.start()]))
        out.append('"[^"\r\n]*"' if match.group().startswith('<"') else '[^",\r\n]+')
        pos = match.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out).encode())


@pytest.fixture
async def busy_module() -> AsyncIterator[At]:
    """A module with a flash, both interfaces up and the station joined, so that every
    query has something to print."""
    module, _ = await start_module(scenario(), with_flash=True)
    at = At(module)
    try:
        await at.ok("AT+CWMODE=3")
        assert b"WIFI GOT IP" in await at.ok('AT+CWJAP="Lab","pass1234"')
        yield at
    finally:
        await module.close()
        await assert_no_tasks_left()


def test_templates_read_as_the_manual_writes_them() -> None:
    pattern = line_pattern('+X:<a>,<"b">')
    assert pattern.fullmatch(b'+X:12,"x,y"')
    assert not pattern.fullmatch(b'+X:"12","x"')
    assert not pattern.fullmatch(b"+X:12,x")


async def test_every_query_quotes_as_the_firmware_does(busy_module: At) -> None:
    at = busy_module
    for query, template in TEMPLATES.items():
        lines = (await at.ok(query)).split(b"\r\n")[:-1]
        assert len(lines) == len(template), (query, lines)
        for line, form in zip(lines, template, strict=True):
            assert line_pattern(form).fullmatch(line), (query, line, form)
    for query, form in REPEATED.items():
        lines = (await at.ok(query)).split(b"\r\n")[:-1]
        assert lines, query
        for line in lines:
            assert line_pattern(form).fullmatch(line), (query, line, form)


async def test_dhcps_range_is_printed_bare(busy_module: At) -> None:
    at = busy_module
    assert await at.ok("AT+CWDHCPS?") == b"+CWDHCPS:120,192.168.4.2,192.168.4.101\r\n"
    await at.ok('AT+CWDHCPS=1,3,"192.168.4.10","192.168.4.15"')
    assert await at.ok("AT+CWDHCPS?") == b"+CWDHCPS:3,192.168.4.10,192.168.4.15\r\n"
