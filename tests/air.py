"""The access points and phones that the scenarios of several test packages share, one
definition each (TOML blocks, joined into a scenario in the order a test needs)."""

from __future__ import annotations

UTF8_SSID = "Café☕"
SSID_32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

# An AP that associates but never hands out an address.
NO_DHCP = """
[[ap]]
ssid = "NoDhcp"
password = "nodhcp123"
channel = 3
rssi = -65
bssid = "aa:bb:cc:00:00:04"
no_ip = true
"""

# An AP that takes 30 simulated seconds to associate (longer than a join may wait).
SLOW = """
[[ap]]
ssid = "Slow"
password = "slowpass1"
channel = 11
rssi = -60
bssid = "aa:bb:cc:00:00:03"
assoc_delay = 30
"""

UTF8 = f"""
[[ap]]
ssid = "{UTF8_SSID}"
auth = "OPEN"
channel = 5
rssi = -75
bssid = "aa:bb:cc:00:00:08"
"""

LONGEST_SSID = f"""
[[ap]]
ssid = "{SSID_32}"
password = "long1234"
channel = 7
rssi = -85
bssid = "aa:bb:cc:00:00:09"
"""

WPA3 = """
[[ap]]
ssid = "Modern"
password = "modern123"
auth = "WPA3_PSK"
channel = 12
rssi = -66
bssid = "aa:bb:cc:00:00:0a"
"""

# Two phones that may join the module's SoftAP.
PHONES = """
[[phone]]
mac = "f2:11:22:33:44:55"

[[phone]]
mac = "f2:11:22:33:44:66"
"""
