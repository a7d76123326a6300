"""The endpoints of the web API and the state they share.

Each handler takes the server's :class:`WebContext` and the request and returns the
answer; refusals follow web-server.md (``{"state": 1}`` with 400, 409 or 500). The page
is served by :mod:`.page`, routing and the checks every request goes through are in
:mod:`.server`.

``POST /setotadata`` streams uploads: the ``Object`` header names the target (``ota…``:
the next OTA slot; otherwise a partition of the ``at_customize`` table) and the body goes
into the flash chunk by chunk as the network delivers it, so memory use does not grow
with the image. A declared length larger than the target fails before anything is
erased; a chunked body fails as soon as it passes the end. On the AT port:
``+WEBSERVERRSP:3`` once the upload is accepted, then ``+WEBSERVERRSP:4`` (verified and
committed) or ``+WEBSERVERRSP:5`` (anything else, including a client that goes away
mid-way or sends nothing for ``UPLOAD_IDLE_TIMEOUT`` seconds: the running firmware and
the boot selection stay as they were). Our differences
from the firmware: a missing ``Object`` header is a 400 instead of a dropped connection,
and a second upload while one runs is refused with 409 instead of waiting behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from ..device.wifi import WifiUnavailable
from .config import WebConfig
from .ota_backend import FirmwareError, OtaBackend, UploadSink
from .provisioning import Provisioning, ProvState, parse_credentials
from .wire import (
    BadRequest,
    BodyTooLarge,
    fail,
    form_arg,
    json_response,
    ok,
    quoted,
    read_limited,
)

if TYPE_CHECKING:
    from ..device.module import Module

WEB_VERSION = "1.0"
MAX_FORM_BODY = 320  # bodies must be shorter than this (the firmware's scratch buffer)
MAX_AP_RECORDS = 10
OBJECT_HEADER = "Object"
URC_OTA_START = "+WEBSERVERRSP:3"
URC_OTA_DONE = "+WEBSERVERRSP:4"
URC_OTA_FAILED = "+WEBSERVERRSP:5"
# Real seconds an upload may go without a byte before it fails (ESP-IDF's HTTP server
# gives up on a silent socket too); without it a stalled client would hold the one
# upload slot, and every later upload would get 409, for as long as its link stays up.
UPLOAD_IDLE_TIMEOUT = 10.0


@dataclass
class WebContext:
    """The state one running web server shares between its requests."""

    module: Module
    config: WebConfig
    provisioning: Provisioning
    firmware_source: Callable[[], OtaBackend]
    upload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def firmware(self) -> OtaBackend:
        """The module's firmware store as it is now (it may change at a reset)."""
        return self.firmware_source()

    def urc(self, line: str) -> None:
        self.module.urc(line)


async def get_version(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    return json_response(f'{{"version":"{WEB_VERSION}"}}')


async def get_sta_info(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    body = ctx.provisioning.status_bytes(echo_password=ctx.config.compat_echo_password)
    return json_response(body)


async def set_sta_info(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    """New credentials: checked in the firmware's order (mode, state, size, content),
    answered, then the connection starts after the grace period."""
    wifi = ctx.module.wifi
    prov = ctx.provisioning
    if not (wifi.has_sta and wifi.has_ap):
        return fail(400)
    if not prov.accepting:
        return fail(400)
    try:
        creds = parse_credentials(await read_limited(request, MAX_FORM_BODY))
    except BodyTooLarge:
        return fail(500)
    except BadRequest as exc:
        ctx.module.emit("web.refused", path="/setstainfo", reason=str(exc))
        return fail(400)
    if not prov.accepting:  # another client got in while this body arrived
        return fail(400)
    prov.accept(creds)
    response = ok()
    await response.prepare(request)
    await response.write_eof()
    return response


async def get_result(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    """The client has the result (or left the page while connecting)."""
    prov = ctx.provisioning
    if prov.state is ProvState.NOT_START:
        return ok()
    if prov.state in (ProvState.CONFIG_DONE, ProvState.CONNECTING):
        prov.page_closed()
        return ok()
    try:
        body = await read_limited(request, MAX_FORM_BODY)
    except BodyTooLarge:
        return fail(500)
    except BadRequest:
        return fail(400)
    if form_arg(body, "received") is None:
        return fail(400)
    if prov.state in (ProvState.CONNECT_OK, ProvState.CONNECT_FAIL):
        prov.acknowledge()
    return ok()


async def get_ap_record(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    """A fresh scan: the ten strongest APs, those without an SSID (hidden) left out."""
    try:
        found = await ctx.module.wifi.scan()
    except WifiUnavailable:
        return fail(500)
    if not found:
        return fail(500)
    strongest = sorted(found, key=lambda ap: -ap.rssi)[:MAX_AP_RECORDS]
    items = ",".join(
        f'{{"ssid":{quoted(ap.ssid)},"auth_mode":{int(ap.auth)}}}' for ap in strongest if ap.ssid
    )
    return json_response(f'{{"state":0,"message":"scan done","aplist":[{items}]}}')


async def get_ota_info(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    info = ctx.firmware.info()
    partitions = ",".join(quoted(name) for name in info.partitions)
    slot = "null" if info.pending_slot is None else quoted(info.pending_slot)
    version = "null" if info.pending_version is None else quoted(info.pending_version)
    sizes = ",".join(
        f"{quoted(name)}:{size}" for name, size in zip(info.partitions, info.sizes, strict=False)
    )
    return json_response(
        f'{{"state":0,"fw_version":{quoted(info.fw_version)},'
        f'"at_core_version":{quoted(info.at_core_version)},"partitions":[{partitions}],'
        f'"pending_slot":{slot},"pending_version":{version},"sizes":{{{sizes}}}}}'
    )


# ------------------------------------------------------------------ uploads
class UploadInterrupted(FirmwareError):
    """The client stopped sending before the body was complete."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "interrupted")


def upload_failed(exc: FirmwareError, *, erased: bool) -> web.Response:
    """500 ``{"state": 1}`` plus why (ours; the firmware says nothing): ``reason`` (a
    word for programs), ``error`` (a sentence for people) and ``erased`` (whether the
    target was erased before the failure: a data partition is then left erased or
    partly written)."""
    return json_response(
        f'{{"state": 1, "reason": "{exc.kind}", "error": {quoted(str(exc))}, '
        f'"erased": {"true" if erased else "false"}}}',
        500,
    )


async def set_ota_data(ctx: WebContext, request: web.BaseRequest) -> web.StreamResponse:
    target = request.headers.get(OBJECT_HEADER)
    if target is None:
        return fail(400)
    if ctx.upload_lock.locked():
        ctx.module.emit("web.ota", target=target, result="refused: another upload runs")
        return fail(409)
    async with ctx.upload_lock:
        ctx.urc(URC_OTA_START)
        size = request.content_length
        ctx.module.emit("web.ota", target=target, result="started", size=size)
        erased: list[bool] = []
        try:
            received = await _upload(ctx, request, target, size, erased)
        except FirmwareError as exc:
            ctx.module.emit("web.ota", target=target, result="failed", reason=str(exc))
            ctx.urc(URC_OTA_FAILED)
            return upload_failed(exc, erased=bool(erased))
        ctx.module.emit("web.ota", target=target, result="done", size=received)
        ctx.urc(URC_OTA_DONE)
        return ok()


async def _upload(
    ctx: WebContext, request: web.BaseRequest, target: str, size: int | None, erased: list[bool]
) -> int:
    """Stream the body into the target; returns the number of bytes written. Once the
    target is erased (the upload has begun), ``erased`` holds ``True``."""
    firmware = ctx.firmware
    sink: UploadSink = firmware.begin(target, size)  # erasing never waits for the disk
    erased.append(True)
    received = 0
    try:
        while True:
            await ctx.module.faults.upload_gate()  # a test may hold the upload here
            try:
                async with asyncio.timeout(UPLOAD_IDLE_TIMEOUT):
                    chunk = await request.content.readany()
            except TimeoutError as exc:
                raise UploadInterrupted(
                    f"nothing arrived for {UPLOAD_IDLE_TIMEOUT:g} s after {received} bytes"
                ) from exc
            except (ConnectionError, asyncio.IncompleteReadError, web.HTTPException) as exc:
                raise UploadInterrupted(f"the client went away after {received} bytes") from exc
            except Exception as exc:  # aiohttp's payload errors (bad chunking, lost link)
                raise UploadInterrupted(f"the body broke off after {received} bytes") from exc
            if not chunk:
                break
            sink.write(chunk)
            received += len(chunk)
        if size is not None and received != size:
            raise UploadInterrupted(f"{received} of {size} bytes arrived")
        if sink.waits_for_disk:  # fsync of a flash file: off the event loop, once
            await asyncio.to_thread(sink.finish)
        else:
            sink.finish()
    except BaseException:
        sink.abort()
        raise
    return received
