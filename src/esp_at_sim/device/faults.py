"""Faults injected at run time: what a test does to the world around a running module.

Everything a scenario file can schedule can also be done on demand: make an access point
vanish or come back, change its password (so the module's stored one is refused), make it
refuse the next joins, drop the station's link, silence its DHCP server, stall a firmware
upload in the middle, make a phone join or leave the SoftAP. Each fault is recorded on the
module's event bus as a ``fault`` event. A phone can send SSID and password by
SmartConfig (``smartconfig``) and an access point's WPS button can be pressed
(``wps_button``), on a radio backend that has SmartConfig and WPS.

The faults of the air (:data:`RADIO_FAULTS`) need a radio backend with the
:class:`~esp_at_sim.radio.base.FaultControl` capability (the simulated one has it); on
another backend they raise :class:`FaultUnsupported`, and :attr:`Faults.available` leaves
them out. Uploads and phones work on every backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import LazyEvent
from ..radio.base import FaultControl, SmartConfigAir, SmartConfigPacket, SoftApStation, WpsAir
from ..radio.fields import FieldError
from ..radio.network import NetFaultControl, network_of
from ..radio.world import PhoneConfig

if TYPE_CHECKING:
    from .module import Module


class FaultError(RuntimeError):
    """The fault cannot be injected (unknown fault or access point, bad arguments)."""


class FaultUnsupported(FaultError):
    """The module's radio backend does not take this fault."""


class Faults:
    """Fault injection for one module (``module.faults``)."""

    __slots__ = ("_module", "_upload_open")

    def __init__(self, module: Module) -> None:
        self._module = module
        self._upload_open = LazyEvent()
        self._upload_open.set()

    @property
    def available(self) -> tuple[str, ...]:
        """The faults this module takes: all of :data:`FAULT_NAMES` on a radio backend
        with fault control, the others without :data:`RADIO_FAULTS`."""
        missing: set[str] = set()
        if not isinstance(self._module.radio, FaultControl):
            missing |= RADIO_FAULTS
        if not isinstance(network_of(self._module.radio), NetFaultControl):
            missing |= NET_FAULTS
        if not isinstance(self._module.radio, SmartConfigAir):
            missing.add("smartconfig")
        if not isinstance(self._module.radio, WpsAir):
            missing.add("wps_button")
        return tuple(name for name in FAULT_NAMES if name not in missing)

    def _air(self, fault: str) -> FaultControl:
        radio = self._module.radio
        if not isinstance(radio, FaultControl):
            raise FaultUnsupported(
                f"{fault}: the radio backend {self._module.radio_name!r} takes no injected "
                f"faults of the air; available here: {', '.join(self.available)}"
            )
        return radio

    def _record(self, name: str, **data: object) -> None:
        self._module.emit("fault", name=name, **data)

    def _on_ap(self, name: str, ap: str, action: str) -> None:
        radio = self._air(name)
        try:
            getattr(radio, action)(ap)
        except KeyError as exc:
            raise FaultError(f"no access point {ap!r} on the air") from exc
        self._record(name, ap=ap)

    def vanish(self, ap: str) -> None:
        """Switch an access point (SSID or BSSID) off; a station joined to it loses its link."""
        self._on_ap("vanish", ap, "vanish")

    def appear(self, ap: str) -> None:
        """Switch an access point back on."""
        self._on_ap("appear", ap, "appear")

    def change_password(self, ap: str, password: str | None) -> None:
        """Give the access point another password: joins with the old one are refused as a
        wrong password (``+CWJAP:2``); a station already joined stays."""
        try:
            self._air("change_password").set_password(ap, password)
        except KeyError as exc:
            raise FaultError(f"no access point {ap!r} on the air") from exc
        except ValueError as exc:
            raise FaultError(str(exc)) from exc
        self._record("change_password", ap=ap)  # the new password stays out of the log

    def refuse_joins(self, ap: str, count: int = 1) -> None:
        """The access point refuses the next ``count`` association attempts (``+CWJAP:4``)."""
        if count < 0:
            raise FaultError("count must be 0 or more")
        try:
            self._air("refuse_joins").refuse_next(ap, count)
        except KeyError as exc:
            raise FaultError(f"no access point {ap!r} on the air") from exc
        self._record("refuse_joins", ap=ap, count=count)

    def drop_link(self, reason: int = 8) -> bool:
        """The access point drops the station now (ESP-IDF reason code); ``False`` when
        the station was not joined."""
        dropped = self._air("drop_link").drop_link(reason)
        self._record("drop_link", reason=reason, dropped=dropped)
        return dropped

    def stall_dhcp(self, ap: str, on: bool = True) -> None:
        """Silence (or revive) the access point's DHCP server."""
        try:
            self._air("stall_dhcp").stall_dhcp(ap, on)
        except KeyError as exc:
            raise FaultError(f"no access point {ap!r} on the air") from exc
        self._record("stall_dhcp", ap=ap, on=on)

    def stall_upload(self, on: bool = True) -> None:
        """Stop (or resume) reading firmware uploads: the web server holds the body where
        it is, as a module whose flash erase or radio stalls would."""
        if on:
            self._upload_open.clear()
        else:
            self._upload_open.set()
        self._record("stall_upload", on=on)

    async def upload_gate(self) -> None:
        """Wait while uploads are stalled (the web server calls this between chunks)."""
        await self._upload_open.wait()

    def phone_join(self, mac: str | None = None) -> SoftApStation | None:
        """A phone joins the SoftAP (the next scenario phone, or ``mac``)."""
        station = self._module.radio.join_phone(mac)
        self._record("phone_join", mac=station.mac if station else mac, joined=bool(station))
        return station

    def phone_leave(self, mac: str) -> bool:
        """A phone leaves the SoftAP."""
        left = self._module.radio.leave_phone(mac)
        self._record("phone_leave", mac=mac, left=left)
        return left

    # -- provisioning by the air ---------------------------------------------------------
    def smartconfig(
        self,
        ssid: str,
        password: str = "",
        protocol: str = "esptouch",
        key: str | None = None,
        data: str = "",
    ) -> bool:
        """A phone sends SSID and password by SmartConfig now (``protocol``: ``esptouch``,
        ``airkiss`` or ``esptouch_v2``, the last with its AES ``key`` and reserved
        ``data``); ``True`` when the module was listening (AT+CWSTARTSMART)."""
        radio = self._module.radio
        if not isinstance(radio, SmartConfigAir):
            raise FaultUnsupported(
                f"smartconfig: the radio backend {self._module.radio_name!r} has no SmartConfig"
            )
        try:  # the rules of a scenario phone's packet
            PhoneConfig(
                "f2:00:00:00:00:01",
                smartconfig=protocol,
                smartconfig_ssid=ssid,
                smartconfig_password=password,
                smartconfig_key=key,
                smartconfig_data=data,
            )
        except FieldError as exc:
            raise FaultError(f"smartconfig: {exc}") from exc
        packet = SmartConfigPacket(
            protocol,
            ssid.encode(),
            password.encode(),
            None,
            key.encode() if key else None,
            data.encode(),
        )
        heard = radio.send_smartconfig(packet)
        self._record("smartconfig", protocol=protocol, ssid=ssid, heard=heard)  # no password logged
        return heard

    def wps_button(self, ap: str) -> None:
        """Press the access point's WPS button (it takes enrollees for 120 s)."""
        radio = self._module.radio
        if not isinstance(radio, WpsAir):
            raise FaultUnsupported(
                f"wps_button: the radio backend {self._module.radio_name!r} has no WPS"
            )
        try:
            radio.press_wps_button(ap)
        except KeyError as exc:
            raise FaultError(f"no access point {ap!r} on the air") from exc
        except ValueError as exc:
            raise FaultError(str(exc)) from exc
        self._record("wps_button", ap=ap)

    # -- the data path -------------------------------------------------------------------
    def _net(self, fault: str) -> NetFaultControl:
        network = network_of(self._module.radio)
        if not isinstance(network, NetFaultControl):
            raise FaultUnsupported(
                f"{fault}: the radio backend {self._module.radio_name!r} takes no injected "
                f"faults of the data path; available here: {', '.join(self.available)}"
            )
        return network

    def _on_destination(self, name: str, dest: str, on: bool) -> None:
        try:
            getattr(self._net(name), name)(dest, on)
        except ValueError as exc:
            raise FaultError(f"bad destination {dest!r}: {exc}") from exc
        self._record(name, dest=dest, on=on)

    def close_connections(self) -> int:
        """End every open connection as a remote reset would (``CLOSED`` lines follow)."""
        count = self._net("close_connections").close_all()
        self._record("close_connections", count=count)
        return count

    def refuse(self, dest: str, on: bool = True) -> None:
        """Connections to ``ADDR[:PORT]`` (as the module sees it) are refused."""
        self._on_destination("refuse", dest, on)

    def blackhole(self, dest: str, on: bool = True) -> None:
        """``ADDR[:PORT]`` stops answering: connects time out, data vanishes."""
        self._on_destination("blackhole", dest, on)

    def stall(self, dest: str, on: bool = True) -> None:
        """Sends to ``ADDR[:PORT]`` hang until the connection ends."""
        self._on_destination("stall", dest, on)

    def apply(self, name: str, **args: object) -> object:
        """Inject a fault by name with keyword arguments (the control API's entry point)."""
        method = getattr(self, name, None) if name in FAULT_NAMES else None
        if method is None:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        try:
            return method(**args)
        except TypeError as exc:
            raise FaultError(f"bad arguments for {name}: {exc}") from exc


# The faults of the air, which need a radio backend with FaultControl.
RADIO_FAULTS = frozenset(
    {"vanish", "appear", "change_password", "refuse_joins", "drop_link", "stall_dhcp"}
)
FAULT_NAMES = (
    "vanish",
    "appear",
    "change_password",
    "refuse_joins",
    "drop_link",
    "stall_dhcp",
    "stall_upload",
    "phone_join",
    "phone_leave",
    "smartconfig",
    "wps_button",
    "close_connections",
    "refuse",
    "blackhole",
    "stall",
)
# The faults of the data path, which need a network with NetFaultControl.
NET_FAULTS = frozenset({"close_connections", "refuse", "blackhole", "stall"})
