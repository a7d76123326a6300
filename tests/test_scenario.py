"""Scenario files: every key, every error (with file, line and key), the built-in home."""

from __future__ import annotations

import ipaddress
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esp_at_sim.radio.base import AuthMode
from esp_at_sim.scenario import (
    ApConfig,
    FieldError,
    ModuleConfig,
    PhoneConfig,
    Scenario,
    ScenarioError,
    default_scenario,
    generated_bssid,
    load_scenario,
    parse_scenario,
    softap_mac_for,
)


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "t.toml")
    return str(info.value)


# -- the built-in scenario -----------------------------------------------------------------


def test_default_scenario_is_a_home() -> None:
    home = default_scenario()
    assert home.name == "home"
    assert home.module == ModuleConfig()
    auths = {ap.auth for ap in home.aps}
    assert {AuthMode.OPEN, AuthMode.WPA3_PSK, AuthMode.WPA2_PSK} <= auths
    assert sum(ap.hidden for ap in home.aps) == 1
    homenet = home.aps[0]
    assert (homenet.ssid, homenet.auth, homenet.password) == (
        "HomeNet",
        AuthMode.WPA2_PSK,
        "sunflower42",
    )
    assert len({ap.channel for ap in home.aps}) >= 3
    assert len(home.phones) == 1 and home.phones[0].join_at is None


def test_default_phone_hotspot_matches_the_phone_in_five_bytes() -> None:
    home = default_scenario()
    (hotspot,) = [ap for ap in home.aps if ap.phone_hotspot]
    phone = home.phones[0].mac.split(":")
    same = sum(a == b for a, b in zip(hotspot.bssid.split(":"), phone, strict=True))
    assert same == 5 and hotspot.rssi >= -50


# -- every key -------------------------------------------------------------------------------

FULL = """
name = "lab bench"

[module]
sta_mac = "24:0A:C4:12:34:56"
ap_mac = "26:0a:c4:12:34:56"
name = "WROVER-32"
at_version = "3.4.0.0"
sdk_version = "v5.0.6"
bin_version = "v3.4.0.0-custom"
hostname = "bench-1"
country = "JP"
chip = "esp32c3"
compile_time = "Feb  3 2025 17:05:09"

[[ap]]
ssid = "Lab"
password = "pass1234"
auth = "wpa_wpa2_psk"
channel = 13
rssi = -100
bssid = "AA:BB:CC:00:00:01"
hidden = true
ip = "10.1.2.3"
gateway = "10.1.0.1"
netmask = "255.255.0.0"
assoc_delay = 2
dhcp_delay = 0.25
refuse_first = 3
no_ip = true
appear_at = 1.5
vanish_at = 100
drop_after = 7
drop_reason = 15
phone_hotspot = true

[[phone]]
mac = "F2:11:22:33:44:55"
join_at = 2
leave_at = 9.5
hostname = "Pixel-7"
"""


def test_every_key_is_read() -> None:
    scenario = parse_scenario(FULL, "t.toml")
    assert scenario == Scenario(
        name="lab bench",
        module=ModuleConfig(
            sta_mac="24:0a:c4:12:34:56",
            ap_mac="26:0a:c4:12:34:56",
            name="WROVER-32",
            at_version="3.4.0.0",
            sdk_version="v5.0.6",
            bin_version="v3.4.0.0-custom",
            hostname="bench-1",
            country="JP",
            chip="esp32c3",
            compile_time="Feb  3 2025 17:05:09",
        ),
        aps=(
            ApConfig(
                ssid="Lab",
                password="pass1234",
                auth=AuthMode.WPA_WPA2_PSK,
                channel=13,
                rssi=-100,
                bssid="aa:bb:cc:00:00:01",
                hidden=True,
                ip="10.1.2.3",
                gateway="10.1.0.1",
                netmask="255.255.0.0",
                assoc_delay=2.0,
                dhcp_delay=0.25,
                refuse_first=3,
                no_ip=True,
                appear_at=1.5,
                vanish_at=100.0,
                drop_after=7.0,
                drop_reason=15,
                phone_hotspot=True,
            ),
        ),
        phones=(PhoneConfig("f2:11:22:33:44:55", 2.0, 9.5, "Pixel-7"),),
    )
    assert isinstance(scenario.aps[0].assoc_delay, float)


def test_module_defaults() -> None:
    module = parse_scenario("", "t.toml").module
    assert module == ModuleConfig(
        sta_mac="24:0a:c4:00:00:01",
        ap_mac="24:0a:c4:00:00:02",
        name="WROOM-32",
        at_version="4.1.1.0",
        sdk_version="v5.4.1",
        bin_version="v4.1.1.0",
        hostname="espressif",
        country="CN",
        chip="esp32",
    )


def test_module_derived_values() -> None:
    module = parse_scenario('[module]\nsta_mac = "24:0a:c4:00:00:ff"\nchip = "esp32c3"\n').module
    assert module.ap_mac == "24:0a:c4:00:00:00"  # last byte + 1, no carry, as ESP-IDF does
    assert module.name == "MINI-1"
    assert parse_scenario('[module]\nat_version = "9.9"\n').module.bin_version == "v9.9"
    assert softap_mac_for("24:0a:c4:00:00:41") == "24:0a:c4:00:00:42"


def test_scenario_name_defaults_to_the_file_name() -> None:
    assert parse_scenario("", "dir/office.toml").name == "office"
    assert parse_scenario("").name == "scenario"


def test_ap_defaults() -> None:
    text = (
        '[[ap]]\nssid = "Open"\n'
        '[[ap]]\nssid = "Secure"\npassword = "pass1234"\n'
        '[[ap]]\nssid = "Secure"\npassword = "pass1234"\nip = "10.0.0.1"\n'
        '[[ap]]\nssid = "GwOnly"\ngateway = "172.16.5.100"\n'
    )
    open_ap, secure, twin, gw_only = parse_scenario(text).aps
    assert open_ap == ApConfig(
        ssid="Open",
        auth=AuthMode.OPEN,
        channel=1,
        rssi=-50,
        bssid=generated_bssid("Open"),
        ip="192.168.50.100",
        gateway="192.168.50.1",
        netmask="255.255.255.0",
    )
    assert (open_ap.assoc_delay, open_ap.dhcp_delay, open_ap.drop_reason) == (1.0, 0.5, 200)
    assert (open_ap.refuse_first, open_ap.no_ip, open_ap.hidden, open_ap.phone_hotspot) == (
        0,
        False,
        False,
        False,
    )
    assert (open_ap.appear_at, open_ap.vanish_at, open_ap.drop_after) == (None, None, None)
    assert secure.auth is AuthMode.WPA2_PSK
    assert (secure.ip, secure.gateway) == ("192.168.51.100", "192.168.51.1")
    assert twin.bssid != secure.bssid  # same SSID, distinct generated BSSIDs
    assert (twin.ip, twin.gateway) == ("10.0.0.1", "10.0.0.254")
    assert (gw_only.ip, gw_only.gateway) == ("172.16.5.254", "172.16.5.100")
    for ap in (open_ap, secure, twin):
        assert not int(ap.bssid[:2], 16) & 1  # unicast
    assert generated_bssid("Open") == generated_bssid("Open")


def test_ap_config_create_uses_file_defaults() -> None:
    ap = ApConfig.create("Lab", "pass1234", index=2, channel=6)
    assert (ap.auth, ap.ip, ap.channel) == (AuthMode.WPA2_PSK, "192.168.52.100", 6)
    with pytest.raises(FieldError) as info:
        ApConfig.create("Lab", "pass1234", rssi=7)
    assert info.value.key == "rssi"


def test_phone_defaults() -> None:
    (phone,) = parse_scenario('[[phone]]\nmac = "f2:00:00:00:00:01"\n').phones
    assert phone == PhoneConfig("f2:00:00:00:00:01", None, None, None)


# -- errors name the file, the line and the key ------------------------------------------

ERRORS = [
    # top level and structure
    ('colour = "red"\n', "t.toml:1: colour: unknown key (known: name, module, ap, phone, net)"),
    ("name = 1\n", "t.toml:1: name: must be a string, got 1"),
    ("module = 3\n", "t.toml:1: module: must be a table, got 3"),
    ('[ap]\nssid = "x"\n', "t.toml:1: ap: must be an array of tables ([[ap]]), got a table"),
    ("ap = [1]\n", "t.toml:1: ap[0]: must be a table, got 1"),
    (
        '[[ap]]\nssid = "A"\n[ap.extra]\nx = 1\n',
        "t.toml:3: ap[0].extra: unknown key (known: ssid, password, auth, channel, rssi, bssid,"
        " hidden, ip, gateway, netmask, assoc_delay, dhcp_delay, refuse_first, no_ip,"
        " appear_at, vanish_at, drop_after, drop_reason, phone_hotspot, internet, latency,"
        " bandwidth, loss, wps, wps_press_at)",
    ),
    # module
    (
        '[module]\nsta_mac = "24:0a:c4:00:00:01"\nchp = "esp32"\n',
        "t.toml:3: module.chp: unknown key (did you mean chip?)",
    ),
    (
        '[module]\n\nsta_mac = "01:0a:c4:00:00:01"\n',
        "t.toml:3: module.sta_mac: must be a unicast MAC (bit 0 of the first byte clear),"
        " got 01:0a:c4:00:00:01",
    ),
    (
        '[module]\nap_mac = "24:0a:c4:00:00:01"\n',
        "t.toml:2: module.ap_mac: must differ from sta_mac",
    ),
    (
        '[module]\nap_mac = "24-0a-c4-00-00-09"\n',
        't.toml:2: module.ap_mac: must be a MAC address like "aa:bb:cc:dd:ee:ff",'
        ' got "24-0a-c4-00-00-09"',
    ),
    (
        '[module]\nchip = "esp8266"\n',
        't.toml:2: module.chip: must be esp32 or esp32c3, got "esp8266"',
    ),
    (
        '[module]\ncountry = "China"\n',
        't.toml:2: module.country: must be a two-letter code like "CN", got "China"',
    ),
    (
        '[module]\nhostname = "my host"\n',
        "t.toml:2: module.hostname: must be 1..32 letters, digits or '-', got \"my host\"",
    ),
    ("[module]\nat_version = 4\n", "t.toml:2: module.at_version: must be a string, got 4"),
    (
        '[module]\ncompile_time = "2025-02-03 17:05"\n',
        't.toml:2: module.compile_time: must be a date and time like "Nov 24 2026 08:00:00",'
        ' got "2025-02-03 17:05"',
    ),
    (
        '[module]\nname = ""\nsdk_version = ""\n',
        't.toml:3: module.sdk_version: must be non-empty printable text, got ""',
    ),
    # access points
    (
        '[[ap]]\nssid = "A"\n[[ap]]\nssid = "B"\nchanel = 3\n',
        "t.toml:5: ap[1].chanel: unknown key (did you mean channel?)",
    ),
    ("[[ap]]\nchannel = 3\n", "t.toml:1: ap[0].ssid: is required"),
    ('[[ap]]\nssid = "A"\nchannel = 14\n', "t.toml:3: ap[0].channel: must be 1..13, got 14"),
    ('[[ap]]\nssid = "A"\nchannel = 0\n', "t.toml:3: ap[0].channel: must be 1..13, got 0"),
    (
        '[[ap]]\nssid = "A"\nchannel = "6"\n',
        't.toml:3: ap[0].channel: must be an integer, got "6"',
    ),
    ('[[ap]]\nssid = "A"\nrssi = 3\n', "t.toml:3: ap[0].rssi: must be -100..0, got 3"),
    ('[[ap]]\nssid = "A"\nrssi = true\n', "t.toml:3: ap[0].rssi: must be an integer, got true"),
    ("[[ap]]\nssid = 5\n", "t.toml:2: ap[0].ssid: must be a string, got 5"),
    ('[[ap]]\nssid = ""\n', "t.toml:2: ap[0].ssid: must be 1..32 UTF-8 bytes, got 0"),
    (f'[[ap]]\nssid = "{"é" * 17}"\n', "t.toml:2: ap[0].ssid: must be 1..32 UTF-8 bytes, got 34"),
    (
        '[[ap]]\nssid = "A"\npassword = "short"\n',
        "t.toml:3: ap[0].password: must be 8..63 printable ASCII characters or 64 hex digits",
    ),
    (
        f'[[ap]]\nssid = "A"\npassword = "{"x" * 64}"\n',
        "t.toml:3: ap[0].password: must be 8..63 printable ASCII characters or 64 hex digits",
    ),
    (
        '[[ap]]\nssid = "A"\nauth = "OPEN"\npassword = "pass1234"\n',
        "t.toml:4: ap[0].password: an OPEN access point takes no password (set auth)",
    ),
    (
        '[[ap]]\nssid = "A"\nauth = "WEP"\npassword = "abcdef"\n',
        "t.toml:4: ap[0].password: WEP keys are 5 or 13 characters or 10/26 hex, got 6",
    ),
    (
        '[[ap]]\nssid = "A"\nauth = "WPA2_ENTERPRISE"\npassword = "pass1234"\n',
        "t.toml:4: ap[0].password: WPA2_ENTERPRISE takes no password (EAP is not simulated)",
    ),
    (
        '[[ap]]\nssid = "A"\nauth = "WPA3_PSK"\n',
        "t.toml:1: ap[0].password: is required for WPA3_PSK",
    ),
    (
        '[[ap]]\nssid = "A"\nauth = "WPA4"\n',
        "t.toml:3: ap[0].auth: must be one of OPEN WEP WPA_PSK WPA2_PSK WPA_WPA2_PSK"
        ' WPA2_ENTERPRISE WPA3_PSK WPA2_WPA3_PSK WAPI_PSK, got "WPA4"',
    ),
    (
        '[[ap]]\nssid = "A"\nbssid = "aa:bb:cc:dd:ee"\n',
        't.toml:3: ap[0].bssid: must be a MAC address like "aa:bb:cc:dd:ee:ff",'
        ' got "aa:bb:cc:dd:ee"',
    ),
    (
        '[[ap]]\nssid = "A"\nbssid = "ff:ff:ff:ff:ff:ff"\n',
        "t.toml:3: ap[0].bssid: must be a unicast MAC (bit 0 of the first byte clear),"
        " got ff:ff:ff:ff:ff:ff",
    ),
    (
        '[[ap]]\nssid = "A"\nip = "192.168.1"\n',
        't.toml:3: ap[0].ip: must be an IPv4 address, got "192.168.1"',
    ),
    (
        '[[ap]]\nssid = "A"\nip = "192.168.1.0"\n',
        "t.toml:3: ap[0].ip: 192.168.1.0 is not a host address in 192.168.1.0/24",
    ),
    (
        '[[ap]]\nssid = "A"\nip = "192.168.1.5"\ngateway = "192.168.2.1"\n',
        "t.toml:4: ap[0].gateway: 192.168.2.1 is not a host in 192.168.1.0/24 (ip and netmask)",
    ),
    (
        '[[ap]]\nssid = "A"\nip = "192.168.1.5"\ngateway = "192.168.1.5"\n',
        "t.toml:4: ap[0].gateway: must differ from ip, got 192.168.1.5",
    ),
    (
        '[[ap]]\nssid = "A"\nnetmask = "255.0.255.0"\n',
        "t.toml:3: ap[0].netmask: must be a contiguous netmask, got 255.0.255.0",
    ),
    (
        '[[ap]]\nssid = "A"\nnetmask = "255.255.255.254"\n',
        "t.toml:3: ap[0].netmask: must be /8../30, got 255.255.255.254",
    ),
    (
        '[[ap]]\nssid = "A"\nassoc_delay = -1\n',
        "t.toml:3: ap[0].assoc_delay: must be >= 0 seconds, got -1",
    ),
    (
        '[[ap]]\nssid = "A"\ndhcp_delay = "fast"\n',
        't.toml:3: ap[0].dhcp_delay: must be a number of seconds, got "fast"',
    ),
    (
        '[[ap]]\nssid = "A"\ndhcp_delay = nan\n',
        "t.toml:3: ap[0].dhcp_delay: must be >= 0 seconds, got nan",
    ),
    (
        '[[ap]]\nssid = "A"\ndrop_after = 0\n',
        "t.toml:3: ap[0].drop_after: must be > 0 seconds, got 0",
    ),
    (
        '[[ap]]\nssid = "A"\ndrop_reason = 0\n',
        "t.toml:3: ap[0].drop_reason: must be 1..255, got 0",
    ),
    (
        '[[ap]]\nssid = "A"\nrefuse_first = 1.5\n',
        "t.toml:3: ap[0].refuse_first: must be an integer, got 1.5",
    ),
    (
        '[[ap]]\nssid = "A"\nrefuse_first = -1\n',
        "t.toml:3: ap[0].refuse_first: must be 0..1000000, got -1",
    ),
    (
        '[[ap]]\nssid = "A"\nno_ip = "yes"\n',
        't.toml:3: ap[0].no_ip: must be true or false, got "yes"',
    ),
    ('[[ap]]\nssid = "A"\nhidden = 1\n', "t.toml:3: ap[0].hidden: must be true or false, got 1"),
    (
        '[[ap]]\nssid = "A"\nphone_hotspot = []\n',
        "t.toml:3: ap[0].phone_hotspot: must be true or false, got an array",
    ),
    (
        '[[ap]]\nssid = "A"\nappear_at = 10\nvanish_at = 5\n',
        "t.toml:4: ap[0].vanish_at: must be after appear_at (10.0)",
    ),
    (
        '[[ap]]\nssid = "A"\nappear_at = -2\n',
        "t.toml:3: ap[0].appear_at: must be >= 0 seconds, got -2",
    ),
    (
        '[[ap]]\nssid = "A"\nbssid = "aa:bb:cc:dd:ee:f0"\n'
        '[[ap]]\nssid = "B"\nbssid = "AA:BB:CC:DD:EE:F0"\n',
        "t.toml:6: ap[1].bssid: duplicate bssid aa:bb:cc:dd:ee:f0, also ap[0]",
    ),
    (
        f'[[ap]]\nssid = "A"\nbssid = "{generated_bssid("B")}"\n[[ap]]\nssid = "B"\n',
        f"t.toml:4: ap[1].bssid: duplicate bssid {generated_bssid('B')}, also ap[0]",
    ),
    # phones
    ("[[phone]]\njoin_at = 1\n", "t.toml:1: phone[0].mac: is required"),
    (
        '[[phone]]\nmac = "f2:00:00:00:00:01"\njoin = 3\n',
        "t.toml:3: phone[0].join: unknown key (did you mean join_at?)",
    ),
    (
        '[[phone]]\nmac = "f2:00:00:00:00:01"\njoin_at = 5\nleave_at = 5\n',
        "t.toml:4: phone[0].leave_at: must be after join_at (5.0)",
    ),
    (
        '[[phone]]\nmac = "f2:00:00:00:00:01"\njoin_at = -1\n',
        "t.toml:3: phone[0].join_at: must be >= 0 seconds, got -1",
    ),
    (
        '[[phone]]\nmac = "f2:00:00:00:00:01"\nhostname = "a b"\n',
        "t.toml:3: phone[0].hostname: must be 1..32 letters, digits or '-', got \"a b\"",
    ),
    (
        '[[phone]]\nmac = "f2:00:00:00:00:01"\n[[phone]]\nmac = "F2:00:00:00:00:01"\n',
        "t.toml:4: phone[1].mac: duplicate mac f2:00:00:00:00:01, also phone[0]",
    ),
    # where lines are found
    ('ap = [{ssid = "x", rssi = 5}]\n', "t.toml:1: ap[0].rssi: must be -100..0, got 5"),
    (
        '[[ap]]\n"ssid" = "A"\n\n# a comment\n  "channel"   =   99  # far too high\n',
        "t.toml:5: ap[0].channel: must be 1..13, got 99",
    ),
    (
        '[[ap]]\nssid = """\\\n[[ap]]\\\nx = 1"""\nchannel = 99\n',  # no LF kept
        "t.toml:5: ap[0].channel: must be 1..13, got 99",
    ),
    (
        'ports = [\n  [1, 2],\n]\n[[ap]]\nssid = "A"\nchannel = 99\n',
        "t.toml:1: ports: unknown key (known: name, module, ap, phone, net)",
    ),
    (
        '[[ap]]\nssid = "A"\n\n[[ap]] # second\nssid = "B"\nrssi = 1\n',
        "t.toml:6: ap[1].rssi: must be -100..0, got 1",
    ),
    # TOML syntax
    ('[[ap]]\nssid = "A"\nchannel = = 3\n', "t.toml:3: invalid TOML: Invalid value (column 11)"),
    ("name = ", "t.toml:1: invalid TOML: Invalid value (at end of document)"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_file_line_and_key(text: str, message: str) -> None:
    assert error_of(text) == message


def test_error_attributes() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario('\n[[ap]]\nssid = "A"\nchannel = 14\n', "lab.toml")
    err = info.value
    assert (err.filename, err.line, err.key) == ("lab.toml", 4, "ap[0].channel")
    assert isinstance(err, ValueError)


def test_load_scenario_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "office.toml"
    path.write_text('[[ap]]\nssid = "Office"\nrssi = -20\n', encoding="utf-8")
    assert load_scenario(path).aps[0].rssi == -20
    assert load_scenario(str(path)).name == "office"
    path.write_text('[[ap]]\nssid = "Office"\nrssi = 20\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"^{path}:3: ap\[0\]\.rssi: "):
        load_scenario(path)
    path.write_bytes(b'name = "ok"\n# caf\xe9\n')
    with pytest.raises(ScenarioError, match=r"office\.toml:2: not UTF-8 text"):
        load_scenario(path)
    with pytest.raises(FileNotFoundError):
        load_scenario(tmp_path / "missing.toml")


def test_dataclasses_check_themselves() -> None:
    with pytest.raises(FieldError, match=r"^channel: must be 1\.\.13, got 20$"):
        ApConfig("A", channel=20)
    with pytest.raises(FieldError, match=r"^mac: "):
        PhoneConfig("not a mac")
    with pytest.raises(FieldError, match=r"^ap\[1\]\.bssid: duplicate"):
        Scenario(
            aps=(ApConfig("A", bssid="02:00:00:00:00:01"), ApConfig("B", bssid="02:00:00:00:00:01"))
        )


# -- property: any valid scenario survives a trip through TOML ------------------------------


def toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, AuthMode):
        return toml_string(value.name)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, float):
        assert math.isfinite(value)
        return repr(value)
    return str(value)


def toml_table(obj: object) -> list[str]:
    lines = []
    for key, value in vars(obj).items():
        if value is not None:
            lines.append(f"{key} = {toml_value(value)}")
    return lines


def to_toml(scenario: Scenario) -> str:
    lines = [f"name = {toml_string(scenario.name)}", "", "[module]", *toml_table(scenario.module)]
    for ap in scenario.aps:
        lines += ["", "[[ap]]", *toml_table(ap)]
    for phone in scenario.phones:
        lines += ["", "[[phone]]", *toml_table(phone)]
    return "\n".join(lines) + "\n"


unicast_macs = st.binary(min_size=6, max_size=6).map(
    lambda raw: ":".join(f"{b:02x}" for b in bytes([raw[0] & 0xFE]) + raw[1:])
)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
printable = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1
).filter(str.isprintable)
ssids = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1).filter(
    lambda s: len(s.encode()) <= 32
)
hostnames = st.from_regex(r"[A-Za-z0-9-]{1,32}", fullmatch=True)
ascii_passwords = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=63
)


@st.composite
def passwords(draw: st.DrawFn, auth: AuthMode) -> str | None:
    if auth in (AuthMode.OPEN, AuthMode.WPA2_ENTERPRISE):
        return None
    if auth is AuthMode.WEP:
        return draw(
            st.one_of(
                st.text(
                    st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=5, max_size=5
                ),
                st.from_regex(r"[0-9a-f]{26}", fullmatch=True),
            )
        )
    return draw(st.one_of(ascii_passwords, st.from_regex(r"[0-9A-F]{64}", fullmatch=True)))


@st.composite
def optional_window(draw: st.DrawFn) -> tuple[float | None, float | None]:
    start = draw(st.none() | seconds)
    end = draw(st.none() | seconds)
    if start is not None and end is not None and end <= start:
        end = start + 1.0
    return start, end


@st.composite
def access_points(draw: st.DrawFn) -> ApConfig:
    auth = draw(st.sampled_from(AuthMode))
    prefix = draw(st.integers(min_value=8, max_value=30))
    net = ipaddress.IPv4Network((draw(st.integers(0, 2**32 - 1)), prefix), strict=False)
    hosts = draw(
        st.lists(st.integers(1, net.num_addresses - 2), min_size=2, max_size=2, unique=True)
    )
    appear_at, vanish_at = draw(optional_window())
    return ApConfig(
        ssid=draw(ssids),
        password=draw(passwords(auth)),
        auth=auth,
        channel=draw(st.integers(1, 13)),
        rssi=draw(st.integers(-100, 0)),
        bssid=draw(unicast_macs),
        hidden=draw(st.booleans()),
        ip=str(net.network_address + hosts[0]),
        gateway=str(net.network_address + hosts[1]),
        netmask=str(net.netmask),
        assoc_delay=draw(seconds),
        dhcp_delay=draw(seconds),
        refuse_first=draw(st.integers(0, 1_000_000)),
        no_ip=draw(st.booleans()),
        appear_at=appear_at,
        vanish_at=vanish_at,
        drop_after=draw(st.none() | seconds.filter(lambda s: s > 0)),
        drop_reason=draw(st.integers(1, 255)),
        phone_hotspot=draw(st.booleans()),
    )


@st.composite
def phones(draw: st.DrawFn) -> PhoneConfig:
    join_at, leave_at = draw(optional_window())
    return PhoneConfig(draw(unicast_macs), join_at, leave_at, draw(st.none() | hostnames))


@st.composite
def modules(draw: st.DrawFn) -> ModuleConfig:
    sta = draw(unicast_macs)
    return ModuleConfig(
        sta_mac=sta,
        ap_mac=draw(st.sampled_from(["", "02:00:00:00:00:00"]).filter(lambda m: m != sta)),
        name=draw(st.just("") | printable),
        at_version=draw(printable),
        sdk_version=draw(printable),
        bin_version=draw(st.just("") | printable),
        hostname=draw(hostnames),
        country=draw(st.from_regex(r"[A-Z0-9]{2}", fullmatch=True)),
        chip=draw(st.sampled_from(["esp32", "esp32c3"])),
    )


scenarios = st.builds(
    Scenario,
    name=printable,
    module=modules(),
    aps=st.lists(access_points(), max_size=4, unique_by=lambda ap: ap.bssid).map(tuple),
    phones=st.lists(phones(), max_size=3, unique_by=lambda p: p.mac).map(tuple),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_any_valid_scenario_round_trips_through_toml(scenario: Scenario) -> None:
    assert parse_scenario(to_toml(scenario), "gen.toml") == scenario


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[ap]]\nssid = "A"\nwps_press_at = 3\n',
            "t.toml:3: ap[0].wps_press_at: needs wps = true",
        ),
        ('[[ap]]\nssid = "A"\nwps = 1\n', "t.toml:3: ap[0].wps: must be true or false, got 1"),
        (
            '[[phone]]\nmac = "f2:00:00:00:00:01"\nsmartconfig_at = 2\n',
            "t.toml:1: phone[0].smartconfig_ssid: is required with smartconfig_at",
        ),
        (
            '[[phone]]\nmac = "f2:00:00:00:00:01"\nsmartconfig = "wechat"\n',
            "t.toml:3: phone[0].smartconfig: must be one of esptouch, airkiss, esptouch_v2,"
            " got 'wechat'",
        ),
    ],
)
def test_provisioning_keys_are_checked(text: str, message: str) -> None:
    assert error_of(text) == message


def test_provisioning_keys_read() -> None:
    scenario = parse_scenario(
        '[[ap]]\nssid = "A"\nwps = true\nwps_press_at = 4.5\n'
        '[[phone]]\nmac = "f2:00:00:00:00:01"\nsmartconfig = "esptouch_v2"\nsmartconfig_at = 2\n'
        'smartconfig_ssid = "A"\nsmartconfig_key = "0123456789abcdef"\nsmartconfig_data = "hi"\n',
        "t.toml",
    )
    ap, phone = scenario.aps[0], scenario.phones[0]
    assert (ap.wps, ap.wps_press_at) == (True, 4.5)
    assert (phone.smartconfig, phone.smartconfig_at, phone.smartconfig_key) == (
        "esptouch_v2",
        2.0,
        "0123456789abcdef",
    )


def test_the_readme_scenario_example_parses() -> None:
    """Every key the README's scenario section shows, with the values it shows."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Scenario file") :]
    text = section[section.index("```toml\n") + 8 : section.index("```\n", 10)]
    scenario = parse_scenario(text, "README.md")
    assert scenario.aps[0].wps and scenario.phones[0].smartconfig == "esptouch_v2"


def test_the_readme_quotes_the_error_its_example_gives_with_a_bad_channel() -> None:
    """The README quotes the error for channel 14 in its example file (``lab.toml``):
    that file with its channel set to 14 gives that error, line number included."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Scenario file") :]
    text = section[section.index("```toml\n") + 8 : section.index("```\n", 10)]
    quoted = re.search(r"`(lab\.toml:\d+: ap\[0\]\.channel: [^`]*)`", section)
    assert quoted, "the scenario section quotes no channel error"
    bad = re.sub(r"(?m)^channel = 6\b", "channel = 14", text, count=1)
    assert bad != text
    with pytest.raises(ScenarioError) as info:
        parse_scenario(bad, "lab.toml")
    assert str(info.value) == quoted.group(1)


def test_every_scenario_file_the_readme_writes_parses_and_has_its_world() -> None:
    """The walkthroughs write scenario files with ``cat > X.toml <<'TOML'``: each parses,
    and each that a walkthrough joins through names an access point (without one, the
    "Moving data" walkthrough's join failed with ``+CWJAP:3``)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    files = re.findall(r"cat > (\S+\.toml) <<'TOML'\n(.*?)\nTOML\n", readme, re.S)
    assert files, "the README writes no scenario file any more"
    for name, text in files:
        scenario = parse_scenario(text, f"README.md ({name})")
        if scenario.net.routes:
            assert [ap.ssid for ap in scenario.aps] == ["HomeNet"], name
