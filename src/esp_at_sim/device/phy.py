"""The Wi-Fi driver's radio settings: bandwidth (AT+CWBANDWIDTH), 802.11 protocols
(AT+CWSTAPROTO, AT+CWAPPROTO), inactivity times (AT+CWCONFIG) and the transmit power
(AT+RFPOWER), with ESP-IDF's rules for them.

ESP-IDF's rules: an interface's protocol set is 802.11b, b/g or b/g/n, each optionally
with Espressif's long-range mode (LR), or LR alone; 40 MHz needs 802.11n, so setting a
protocol set without it brings a 40 MHz interface down to 20 MHz; the transmit power is
kept in the steps of the chip's table (:func:`tx_power_step`). An LR-only station hears
no ordinary access point. Bandwidth, protocols and inactivity times are stored as
AT+SYSSTORE says; the transmit power is not stored (ESP-AT keeps it in ``mfg_nvs``).
"""

from __future__ import annotations

from dataclasses import dataclass

PROTO_B, PROTO_G, PROTO_N, PROTO_LR = 1, 2, 4, 8
PROTO_BGN = PROTO_B | PROTO_G | PROTO_N
# The protocol sets esp_wifi_set_protocol() takes on a 2.4 GHz chip.
VALID_PROTOCOLS = frozenset(
    base | lr
    for base in (PROTO_B, PROTO_B | PROTO_G, PROTO_BGN, 0)
    for lr in (0, PROTO_LR)
    if base | lr
)
BW_20, BW_40 = 1, 2
STA, AP = 0, 1  # AT+CWBANDWIDTH's <netif>

AP_INACTIVE_DEFAULT = 300
STA_INACTIVE_DEFAULT = 6

# ESP32: the power steps of the PHY (units of 0.25 dBm): a set value counts as the
# highest step at or below it (40..43 -> 34).
_ESP32_STEPS = (34, 44, 52, 56, 60, 66, 72, 78)


def tx_power_step(chip: str, wanted: int) -> int:
    """The transmit power AT+RFPOWER? reports after ``AT+RFPOWER=<wanted>`` (40..84)."""
    if chip == "esp32":
        return max([_ESP32_STEPS[0]] + [s for s in _ESP32_STEPS if s <= wanted])
    return wanted  # ESP32-C3 reports the set value (it transmits at most 80)


def default_tx_power(chip: str) -> int:
    """20 dBm (80), ESP-IDF's default maximum, as the chip reports it."""
    return tx_power_step(chip, 80)


@dataclass(slots=True)
class PhyState:
    """Per-interface bandwidth and protocols, inactivity times, transmit power."""

    bandwidth: tuple[int, int] = (BW_40, BW_40)  # station, SoftAP
    protocol: tuple[int, int] = (PROTO_BGN, PROTO_BGN)
    ap_inactive: int = AP_INACTIVE_DEFAULT
    sta_inactive: int = STA_INACTIVE_DEFAULT
    tx_power: int = 78

    def load(
        self,
        bandwidth: tuple[int, ...],
        protocol: tuple[int, ...],
        config: tuple[int, ...],
        chip: str,
    ) -> None:
        """Boot: the stored settings (as their codecs read them), the power at its default."""
        self.tx_power = default_tx_power(chip)
        self.bandwidth = (bandwidth[0], bandwidth[1])
        self.protocol = (protocol[0], protocol[1])
        self.ap_inactive, self.sta_inactive = config
        self._fit()

    def set_bandwidth(self, netif: int, bandwidth: int) -> None:
        """``ValueError`` for 40 MHz on an interface without 802.11n."""
        if bandwidth == BW_40 and not self.protocol[netif] & PROTO_N:
            raise ValueError("40 MHz needs 802.11n in the interface's protocols")
        both = list(self.bandwidth)
        both[netif] = bandwidth
        self.bandwidth = (both[0], both[1])

    def set_protocol(self, netif: int, protocol: int) -> None:
        """``ValueError`` for a set ESP-IDF refuses."""
        if protocol not in VALID_PROTOCOLS:
            raise ValueError(f"protocol set {protocol} is not one ESP-IDF takes")
        both = list(self.protocol)
        both[netif] = protocol
        self.protocol = (both[0], both[1])
        self._fit()

    def _fit(self) -> None:
        sta, ap = (
            bw if self.protocol[i] & PROTO_N else BW_20 for i, bw in enumerate(self.bandwidth)
        )
        self.bandwidth = (sta, ap)

    @property
    def sta_hears_aps(self) -> bool:
        """Whether the station hears ordinary (non-LR) access points."""
        return bool(self.protocol[STA] & PROTO_BGN)
