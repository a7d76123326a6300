"""AT+CIPSNTPCFG, AT+CIPSNTPTIME and AT+CIPSNTPINTV against an SNTP server on loopback."""

from __future__ import annotations

import pytest

from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

from .conftest import OCT_19_2021, ntp_server, sntp_module

DEFAULTS = '"cn.ntp.org.cn","ntp.sjtu.edu.cn","us.pool.ntp.org"'


async def ok(at: AtHarness, line: str) -> None:
    assert await at.cmd(line) == f"{line}\r\n\r\nOK\r\n".encode()


async def test_defaults_and_the_clock_before_any_sync() -> None:
    module, at = await start_module()
    try:
        assert await at.cmd("AT+CIPSNTPCFG?") == (
            f"AT+CIPSNTPCFG?\r\n+CIPSNTPCFG:0,8,{DEFAULTS}\r\n\r\nOK\r\n".encode()
        )
        assert (
            await at.cmd("AT+CIPSNTPINTV?") == b"AT+CIPSNTPINTV?\r\n+CIPSNTPINTV:3600\r\n\r\nOK\r\n"
        )
        # the system time starts at the epoch at power-on, shown in the time zone (UTC+8)
        assert await at.cmd("AT+CIPSNTPTIME?") == (
            b"AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Thu Jan  1 08:00:00 1970\r\n\r\nOK\r\n"
        )
    finally:
        await module.close()


async def test_sync_then_the_time_in_each_zone_format() -> None:
    async with ntp_server() as server:
        module, at = await sntp_module(server)
        try:
            await ok(at, 'AT+CIPSNTPCFG=1,8,"time.example.com"')
            assert await at.wait_for(b"+TIME_UPDATED\r\n") == b"+TIME_UPDATED\r\n"
            assert await at.cmd("AT+CIPSNTPTIME?") == (
                b"AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Tue Oct 19 17:47:56 2021\r\n\r\nOK\r\n"
            )
            assert await at.cmd("AT+SYSTIMESTAMP?") == (
                b"AT+SYSTIMESTAMP?\r\n+SYSTIMESTAMP:1634636876\r\n\r\nOK\r\n"
            )
            assert await at.cmd("AT+CIPSNTPCFG?") == (
                b'AT+CIPSNTPCFG?\r\n+CIPSNTPCFG:1,8,"time.example.com"\r\n\r\nOK\r\n'
            )
            # the request is lwIP's: version 4, client mode, nothing else
            assert server.requests[0] == b"\x23" + bytes(47)
            for zone, shown, text in (
                ("530", "5", "Tue Oct 19 15:17:56 2021"),  # the manual's second example
                ("800", "8", "Tue Oct 19 17:47:56 2021"),
                ("-5", "-5", "Tue Oct 19 04:47:56 2021"),
                ("-500", "-5", "Tue Oct 19 04:47:56 2021"),
                ("1245", "12", "Tue Oct 19 22:32:56 2021"),
                ("015", "0", "Tue Oct 19 10:02:56 2021"),  # UTC+00:15, shown as 0
                ("14", "14", "Tue Oct 19 23:47:56 2021"),
                ("-12", "-12", "Mon Oct 18 21:47:56 2021"),
            ):
                await ok(at, f'AT+CIPSNTPCFG=1,{zone},"time.example.com"')
                assert await at.wait_for(b"+TIME_UPDATED\r\n") == b"+TIME_UPDATED\r\n"
                assert (
                    await at.cmd("AT+CIPSNTPCFG?")
                    == (
                        f'AT+CIPSNTPCFG?\r\n+CIPSNTPCFG:1,{shown},"time.example.com"\r\n\r\nOK\r\n'
                    ).encode()
                )
                assert await at.cmd("AT+CIPSNTPTIME?") == (
                    f"AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:{text}\r\n\r\nOK\r\n".encode()
                )
        finally:
            await module.close()
    await assert_no_tasks_left()


async def test_servers_are_tried_in_turn() -> None:
    async with ntp_server() as server:
        module, at = await sntp_module(server)
        try:
            # a name that does not resolve is skipped; the next server answers
            await ok(at, 'AT+CIPSNTPCFG=1,0,"nowhere.example.com","time.example.com"')
            await at.wait_for(b"+TIME_UPDATED\r\n")
            assert await at.cmd("AT+CIPSNTPTIME?") == (
                b"AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Tue Oct 19 09:47:56 2021\r\n\r\nOK\r\n"
            )
        finally:
            await module.close()


async def test_a_silent_server_is_waited_out_then_the_next_answers() -> None:
    async with ntp_server() as server:
        module, at = await sntp_module(server, time_scale=0.05)  # 15 s waits take 0.75 s
        try:
            await ok(at, 'AT+CIPSNTPCFG=1,8,"dead.example.com","time.example.com"')
            start = module.clock.now()
            assert await at.wait_for(b"+TIME_UPDATED\r\n", timeout=10) == b"+TIME_UPDATED\r\n"
            assert module.clock.now() - start >= 15
        finally:
            await module.close()


async def test_enabled_before_the_station_has_an_address() -> None:
    async with ntp_server() as server:
        module, at = await sntp_module(server, join=False)
        try:
            await ok(at, 'AT+CIPSNTPCFG=1,8,"time.example.com"')
            assert await at.settle() == b""
            assert server.requests == []
            out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
            assert out.endswith(b"OK\r\n")
            await at.wait_for(b"+TIME_UPDATED\r\n")
            assert len(server.requests) == 1
        finally:
            await module.close()


async def test_config_survives_a_reset_and_the_rtc_keeps_the_time() -> None:
    async with ntp_server() as server:
        module, at = await sntp_module(server)
        try:
            await ok(at, 'AT+CIPSNTPCFG=1,530,"time.example.com"')
            await at.wait_for(b"+TIME_UPDATED\r\n")
            await ok(at, "AT+CIPSNTPINTV=60")
            server.unix_time = OCT_19_2021 + 3600  # the next sync moves the clock on
            await at.cmd("AT+RST")
            await at.wait_for(b"ready\r\n")
            assert await at.cmd("AT+CIPSNTPCFG?") == (
                b'AT+CIPSNTPCFG?\r\n+CIPSNTPCFG:1,5,"time.example.com"\r\n\r\nOK\r\n'
            )
            assert await at.cmd("AT+CIPSNTPINTV?") == (
                b"AT+CIPSNTPINTV?\r\n+CIPSNTPINTV:3600\r\n\r\nOK\r\n"
            )
            # before the station is back, the time the RTC kept
            time_line = await at.cmd("AT+CIPSNTPTIME?")
            assert b"+CIPSNTPTIME:Tue Oct 19 15:17:5" in time_line
            # the station reconnects by itself, and the first sync after boot is announced
            await at.wait_for(b"+TIME_UPDATED\r\n")
            assert await at.cmd("AT+CIPSNTPTIME?") == (
                b"AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Tue Oct 19 16:17:56 2021\r\n\r\nOK\r\n"
            )
            # servers not given: ESP-AT's defaults; the time zone stays
            await ok(at, "AT+CIPSNTPCFG=0")
            assert await at.cmd("AT+CIPSNTPCFG?") == (
                f"AT+CIPSNTPCFG?\r\n+CIPSNTPCFG:0,5,{DEFAULTS}\r\n\r\nOK\r\n".encode()
            )
        finally:
            await module.close()


async def test_a_kiss_of_death_is_not_a_time() -> None:
    async with ntp_server() as server:
        server.stratum = 0
        module, at = await sntp_module(server, time_scale=0.05)
        try:
            await ok(at, 'AT+CIPSNTPCFG=1,0,"time.example.com"')
            for _ in range(400):
                if len(server.requests) >= 2:
                    break
                await module.clock.sleep(1)
            assert len(server.requests) >= 2  # retried after RETRY_INTERVAL
            assert b"+TIME_UPDATED" not in at.take()
            assert b"1970" in await at.cmd("AT+CIPSNTPTIME?")
        finally:
            await module.close()


async def test_the_interval_repeats_syncs_and_only_the_first_is_announced() -> None:
    async with ntp_server() as server:
        module, at = await sntp_module(server, time_scale=0.05)
        try:
            await ok(at, "AT+CIPSNTPINTV=15")
            await ok(at, 'AT+CIPSNTPCFG=1,8,"time.example.com"')
            await at.wait_for(b"+TIME_UPDATED\r\n", timeout=10)
            for _ in range(400):
                if len(server.requests) >= 3:
                    break
                await module.clock.sleep(1)
            assert len(server.requests) >= 3
            assert b"+TIME_UPDATED" not in at.take()
            assert await at.cmd("AT+CIPSNTPINTV?") == (
                b"AT+CIPSNTPINTV?\r\n+CIPSNTPINTV:15\r\n\r\nOK\r\n"
            )
        finally:
            await module.close()


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("AT+CIPSNTPCFG=2", "0x01070000"),
        ("AT+CIPSNTPCFG=1,99", "0x01070001"),  # 00:99
        ("AT+CIPSNTPCFG=1,1500", "0x01070001"),  # 15:00
        ("AT+CIPSNTPCFG=1,-1300", "0x01070001"),
        ("AT+CIPSNTPCFG=1,-1260", "0x01070001"),
        ('AT+CIPSNTPCFG=1,"8"', "0x01050001"),
        ('AT+CIPSNTPCFG=1,8,"a","b","c","d"', "0x01060506"),
        ('AT+CIPSNTPCFG=1,8,"' + "n" * 65 + '"', "0x01040002"),
        ("AT+CIPSNTPINTV=14", "0x01070000"),
        ("AT+CIPSNTPINTV=4294968", "0x01070000"),
        ("AT+CIPSNTPTIME=1", "0x010c0000"),
    ],
)
async def test_bad_input(line: str, code: str) -> None:
    module, at = await start_module()
    try:
        await ok(at, "AT+SYSLOG=1")
        assert await at.cmd(line) == f"{line}\r\nERR CODE:{code}\r\n\r\nERROR\r\n".encode()
        assert await at.cmd("AT+CIPSNTPCFG?") == (
            f"AT+CIPSNTPCFG?\r\n+CIPSNTPCFG:0,8,{DEFAULTS}\r\n\r\nOK\r\n".encode()
        )
        assert b"+CIPSNTPINTV:3600" in await at.cmd("AT+CIPSNTPINTV?")
    finally:
        await module.close()
