"""Each module of a fleet has its own MAC addresses, derived from the scenario's."""

from __future__ import annotations

import pytest

from esp_at_sim.factory import MACS_PER_CHIP, fleet_member
from esp_at_sim.radio.addresses import offset_mac
from esp_at_sim.radio.world import ModuleConfig
from esp_at_sim.scenario import default_scenario


def test_a_thousand_modules_share_no_mac() -> None:
    base = default_scenario()
    members = [fleet_member(base, i) for i in range(1000)]
    macs = [m.module.sta_mac for m in members] + [m.module.ap_mac for m in members]
    assert len(set(macs)) == 2000
    assert members[0] is base
    assert members[1].module.sta_mac == "24:0a:c4:00:00:05"
    assert members[999].module.sta_mac == offset_mac("24:0a:c4:00:00:01", 999 * MACS_PER_CHIP)
    assert members[999].module.sta_mac == "24:0a:c4:00:0f:9d"
    assert members[999].module.ap_mac == "24:0a:c4:00:0f:9e"
    assert members[3].aps == base.aps and members[3].module.hostname == base.module.hostname


def test_a_given_softap_mac_moves_with_the_station() -> None:
    base = default_scenario()
    identity = ModuleConfig(sta_mac="24:0a:c4:00:00:fc", ap_mac="24:0a:c4:00:00:fe")
    scenario = type(base)(**{**base.__dict__, "module": identity})
    member = fleet_member(scenario, 2)
    assert (member.module.sta_mac, member.module.ap_mac) == (
        "24:0a:c4:00:01:04",
        "24:0a:c4:00:01:06",
    )


def test_addresses_stay_in_the_vendors_block() -> None:
    assert offset_mac("24:0a:c4:ff:ff:fe", 1) == "24:0a:c4:ff:ff:ff"
    with pytest.raises(ValueError, match="leaves the vendor's block 24:0a:c4"):
        offset_mac("24:0a:c4:ff:ff:fe", 2)
