"""The virtual module: the AT engine, the command table and the simulated hardware.

Bytes from a transport go into :meth:`Module.feed`; whatever the module transmits goes to
the sink set with :meth:`Module.set_output` (and is lost while none is set, as on a
UART nobody listens to). Commands that wait on the simulated world run as tasks; while
one runs, the engine answers further lines ``busy p...``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from ..at.engine import (
    AtEngine,
    BadLine,
    CommandLine,
    DataReceived,
    ForceRestart,
    Mode,
    StreamData,
)
from ..at.errors import AtError, exec_fail
from ..at.table import CommandTable, Reply, Result
from ..core.clock import Clock
from ..core.events import Event, EventBus
from ..core.lazy import LazyEvent
from ..core.settings import MemorySettingsStore, Settings, SettingsStore, SettingValue
from ..radio.base import Radio
from ..radio.world import ModuleConfig
from .faults import Faults
from .links import Links
from .net import NetState
from .passthrough import Passthrough
from .redact import MASK, mask_answer, mask_output
from .servers import Servers
from .settings_schema import Entry, check, migration
from .sntp import Sntp
from .system import SystemState
from .tls import TlsClients, server_context
from .wifi import Wifi

if TYPE_CHECKING:
    from .firmware import Firmware
    from .services import WebService

log = logging.getLogger(__name__)

# Simulated seconds from reset to "ready" (a real ESP32 with ESP-AT takes about this).
BOOT_TIME = 0.8
# What a handler that finished at once returns (anything else may be awaitable).
_PLAIN = (Result, list, tuple)
OutputSink = Callable[[bytes], None]
DataHandler = Callable[[bytes], "Reply | Awaitable[Reply]"]
# Called with each chunk in stream mode; a result other than None ends the command.
StreamHandler = Callable[[bytes], "Reply | Awaitable[Reply] | None"]


class Module:
    """One simulated ESP32 running ESP-AT."""

    # A fleet holds a thousand of these: no per-instance dictionary.
    __slots__ = (
        "__weakref__",  # services may keep a weak mapping keyed by the module
        "_boot_count",
        "_boot_hooks",
        "_booting",
        "_data_handler",
        "_echoes",
        "_migration",
        "_reset_hooks",
        "_sink",
        "_stream_handler",
        "_tasks",
        "booted",
        "bus",
        "clock",
        "engine",
        "faults",
        "firmware",
        "identity",
        "links",
        "net",
        "passthrough",
        "radio",
        "radio_name",
        "saved",
        "servers",
        "sntp",
        "store",
        "system",
        "table",
        "tls",
        "web",
        "wifi",
    )  # fmt: skip

    def __init__(
        self,
        *,
        radio: Radio,
        clock: Clock,
        table: CommandTable[Module],
        radio_name: str | None = None,
        identity: ModuleConfig | None = None,
        store: SettingsStore | None = None,
        bus: EventBus | None = None,
        firmware: Firmware | None = None,
    ) -> None:
        self.identity = identity or ModuleConfig()
        self.radio = radio
        # The backend's registered name (esp_at_sim.radio.registry), for messages.
        self.radio_name = radio_name or type(radio).__name__
        self.clock = clock
        self.firmware = firmware
        if store is None:
            store = firmware.settings_store() if firmware else MemorySettingsStore()
        self.store = store
        self.bus = bus or EventBus()
        self.engine = AtEngine()
        self.table = table
        self.saved: Settings = {}
        self._migration: dict[str, SettingValue | None] = {}
        self.system = SystemState()
        self.net = NetState()
        self.tls = TlsClients()  # SSL client settings of each link, reset at boot
        self.wifi = Wifi(self)
        self.faults = Faults(self)
        self._sink: OutputSink | None = None
        self._echoes: list[bytes] = []  # command lines echoed, not yet logged
        self._tasks: dict[asyncio.Task[Any], None] = {}  # an ordered set
        self._booting = True
        self._boot_count = 0
        self._data_handler: DataHandler | None = None
        self._stream_handler: StreamHandler | None = None
        self._boot_hooks: list[Callable[[], None]] = []
        self._reset_hooks: list[Callable[[], Awaitable[None]]] = []
        self.on_boot(self.tls.reset)
        # The web server, attached by esp_at_sim.web.install_web; None on a module
        # without one (AT+WEBSERVER then answers ERROR).
        self.web: WebService | None = None
        self.booted = LazyEvent()
        self.links = Links(self)
        self.servers = Servers(self)
        self.servers.tls_factory = self._server_tls
        self.sntp = Sntp(self)
        self.passthrough = Passthrough(self)

    # ------------------------------------------------------------- wiring
    def _server_tls(self, verify_client: bool) -> ssl.SSLContext | None:
        """The TLS context of an ``"SSL"`` server of this module."""
        return server_context(self, verify_client)

    def set_output(self, sink: OutputSink | None) -> None:
        """Where transmitted bytes go; ``None`` drops them."""
        self._sink = sink

    def emit(self, kind: str, **data: Any) -> None:
        """An event on the bus (not even built when nobody listens for ``kind``)."""
        if self.bus.listening(kind):
            self.bus.emit(Event(kind, self.clock.now(), data))

    def on_boot(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` at every boot, after settings are loaded and before ``ready``."""
        self._boot_hooks.append(hook)

    def on_reset(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Await ``hook`` at every reset and at close, before the module goes down (a
        service that does not survive a reset, like the web server, stops here)."""
        self._reset_hooks.append(hook)

    async def _run_reset_hooks(self) -> None:
        for hook in self._reset_hooks:
            try:
                await hook()
            except Exception:
                log.exception("reset hook failed")

    @property
    def boot_count(self) -> int:
        return self._boot_count

    # --------------------------------------------------------------- input
    def feed(self, data: bytes) -> None:
        """Bytes received on the AT port."""
        if not data:
            return
        if self._booting:
            self.emit("at.lost", size=len(data))
            return  # the UART is not up yet: input is lost
        self.engine.receive_data(data)
        self._pump()

    def _pump(self) -> None:
        while not self._booting:
            event = self.engine.next_event()
            if event is None:
                break
            self._dispatch(event)
        self.flush()

    def _dispatch(
        self, event: CommandLine | BadLine | DataReceived | ForceRestart | StreamData
    ) -> None:
        if isinstance(event, ForceRestart):  # AT+RST while a command was busy
            self.emit("boot.forced_restart")
            self.schedule_restart()
            return
        if isinstance(event, StreamData):
            self._dispatch_stream(event.data)
            return
        # Masking and the at.cmd event are work for listeners only; the line is kept
        # so that flush() can mask its echo if at.out has one.
        if isinstance(event, DataReceived):
            self.emit("at.data", size=len(event.data))
        else:
            self._echoes.append(event.line)
            if self.bus.listening("at.cmd"):
                shown = self.table.mask(event.line, MASK)
                valid = isinstance(event, CommandLine)
                self.emit("at.cmd", line=shown.decode("latin-1"), valid=valid)
            if isinstance(event, BadLine):
                self.engine.fail(event.error)
                return
        try:
            if isinstance(event, DataReceived):
                handler = self._data_handler
                self._data_handler = None
                if handler is None:
                    raise exec_fail(reason="no data expected")
                result: Reply | Awaitable[Reply] = handler(event.data)
            else:
                command, op, args = self.table.resolve(event.line)
                handler_fn = command.handler(op)
                assert handler_fn is not None
                result = handler_fn(self, args)
        except AtError as exc:
            self.engine.fail(exc)
            return
        except Exception:
            log.exception("command handler crashed")
            self.engine.fail(exec_fail(reason="internal error"))
            return
        self._conclude(result)

    def _conclude(self, result: Reply | Awaitable[Reply]) -> None:
        """End the command with ``result``, once it is there."""
        if result is not None and type(result) not in _PLAIN and inspect.isawaitable(result):
            self.engine.background()
            self.flush()
            self.spawn(self._finish_later(result), name="at-command")
        else:
            self._complete(cast(Reply, result))

    def _dispatch_stream(self, data: bytes) -> None:
        self.emit("at.data", size=len(data))
        handler = self._stream_handler
        if handler is None:
            return
        try:
            result = handler(data)
        except AtError as exc:
            self._stream_handler = None
            self.engine.end_stream()
            self.engine.fail(exc)
            return
        if result is None:
            return
        self._stream_handler = None
        self.engine.end_stream()
        self._conclude(result)

    async def _finish_later(self, awaitable: Awaitable[Reply]) -> None:
        try:
            result = await awaitable
        except AtError as exc:
            self.engine.fail(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("command handler crashed")
            self.engine.fail(exec_fail(reason="internal error"))
        else:
            self._complete(result)
        self._pump()

    def _complete(self, result: Reply) -> None:
        if self.engine.mode in (Mode.DATA, Mode.STREAM):
            return  # the command waits for raw data; its data handler finishes it
        if result is None:
            self.engine.finish()
        elif isinstance(result, Result):
            self.engine.reply(*result.lines)
            if result.final:
                self.engine.finish(result.final)
            else:
                self.engine.finish_silently()
        else:
            self.engine.reply(*result)
            self.engine.finish()

    def expect_data(self, length: int, handler: DataHandler, *, escapes: bool = False) -> None:
        """From a command handler: collect ``length`` raw bytes, then call ``handler``
        (``escapes``: AT+CIPSENDEX's backslash escapes and ``\\0`` end)."""
        self._data_handler = handler
        self.engine.expect_data(length, escapes=escapes)

    def expect_stream(
        self, handler: StreamHandler, limit: int | None = None, *, quiet: bool = False
    ) -> None:
        """Stream mode: ``handler`` gets each chunk of raw bytes as it comes, until it
        returns a result (which ends the command as a handler's would), ``limit`` bytes
        have come, or :meth:`end_stream`; ``quiet``: URCs meanwhile are dropped."""
        self._stream_handler = handler
        self.engine.stream(limit, quiet=quiet)

    def end_stream(self, result: Reply | None = None) -> None:
        """Leave stream mode from outside the handler (``+++``) and end the command with
        ``result`` (``None``: nothing more is printed)."""
        if self._stream_handler is None and self.engine.mode is not Mode.STREAM:
            return
        self._stream_handler = None
        self.engine.end_stream()
        self._complete(result if result is not None else Result(final=""))
        self._pump()

    # -------------------------------------------------------------- output
    def flush(self) -> None:
        data = self.engine.data_to_send()
        if not data:
            return
        if self.bus.listening("at.out"):
            echoes = [(line, self.table.mask(line, MASK)) for line in self._echoes]
            self.emit("at.out", data=mask_output(data, echoes).decode("latin-1"))
        self._echoes.clear()
        if self._sink is not None:
            self._sink(data)

    def urc(self, line: str | bytes) -> None:
        """An unsolicited message on the AT port (ordered around responses)."""
        raw = line.encode() if isinstance(line, str) else line
        shown = mask_answer(raw)
        text = line if isinstance(line, str) and shown == raw else shown.decode("latin-1")
        self.emit("urc", line=text)
        if self._booting:
            return
        self.engine.urc(line)
        self.flush()

    def notify(self, data: bytes, *, size: int | None = None) -> None:
        """Unsolicited bytes as they are (``+IPD`` and its payload), ordered around
        responses; the event log records only the first line (and the payload size)."""
        head = data.split(b":", 1)[0] if size is not None else data
        self.emit("urc", line=head.strip().decode("latin-1"), size=size)
        if self._booting:
            return
        self.engine.notify(data)
        self.flush()

    # ------------------------------------------------------------- settings
    def persist(self, *entries: Entry, always: bool = False) -> None:
        """Store settings when ``AT+SYSSTORE=1`` (or ``always``, for commands that always
        save, like AT+UART_DEF and AT+CWAUTOCONN). Each entry comes from its setting's
        codec (:mod:`.settings_schema`): ``module.persist(OPMODE.entry(3))``."""
        if not (always or self.system.store_mode):
            return
        # settings read in our earlier form are rewritten in today's at the first save
        updates = {**self._migration, **dict(entries)}
        self.store.save(updates)
        self._migration = {}
        for key, value in updates.items():
            if value is None:
                self.saved.pop(key, None)
            else:
                self.saved[key] = value
        self.emit("flash.settings", keys=sorted(updates))

    # ---------------------------------------------------------------- tasks
    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str = "") -> asyncio.Task[Any]:
        """Run ``coro`` as part of this boot of the module (cancelled by a reset)."""
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self._tasks[task] = None
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("module task %s failed", task.get_name(), exc_info=task.exception())

    # ----------------------------------------------------------------- boot
    async def start(self) -> None:
        """Power on: boot and print ``ready``."""
        await self._boot()

    def schedule_restart(self, *, erase_settings: bool = False, sleep: float = 0.0) -> None:
        """From a command handler: reboot once the current answer has gone out. From now
        on input is lost, as on a chip that is resetting."""
        self._booting = True
        self.spawn(self.restart(erase_settings=erase_settings, sleep=sleep), name="restart")

    async def restart(self, *, erase_settings: bool = False, sleep: float = 0.0) -> None:
        """Reset the chip (after ``sleep`` simulated seconds powered down, for deep sleep)."""
        self._booting = True
        await asyncio.sleep(0)  # let the command's OK leave first
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self.wifi.shutdown()
        await self._run_reset_hooks()
        if erase_settings:
            self.store.erase()
        self.emit("boot.reset", erase=erase_settings)
        self.engine.reset()
        if sleep > 0:
            await self.clock.sleep(sleep)
        await self._boot()

    async def _boot(self) -> None:
        self._booting = True
        self.booted.clear()
        self.engine.reset()
        self._data_handler = None
        self._stream_handler = None
        await self.clock.sleep(BOOT_TIME)
        if self.firmware is not None and not self._boot_firmware(self.firmware):
            return  # nothing bootable: the bootloader never hands over, no "ready"
        stored = self.store.load()
        self._report_settings_damage()
        self._report_bad_settings(stored)
        self._migration = migration(stored)
        self.saved = {k: v for k, v in {**stored, **self._migration}.items() if v is not None}
        self.system.load(self.saved)
        self.net.load(self.saved)
        self.wifi.load(self.saved)
        for hook in self._boot_hooks:
            hook()
        # AT is up: confirm the image before saying so, so that a host which has seen
        # "ready" never finds the module rolled back at the next reset.
        if self.firmware is not None and self.firmware.confirm():
            running = self.firmware.running
            self.emit("flash.confirm", slot=running.slot if running else None)
        self._boot_count += 1
        self._booting = False
        self.engine.ready()
        self.emit("boot.ready", count=self._boot_count)
        self.flush()
        self.booted.set()
        self.wifi.after_boot()

    def _report_settings_damage(self) -> None:
        """Never lose a stored setting silently: one event (and warning) per damage."""
        if self.firmware is None:
            return
        for damage in self.firmware.settings_damage():
            self.emit(
                "flash.nvs_damage",
                page=damage.page,
                entry=damage.entry,
                problem=damage.problem,
                lost=list(damage.lost),
            )
            log.warning("stored settings damaged: %s", damage)

    def _report_bad_settings(self, stored: Settings) -> None:
        """A corrupt stored value never stops a boot: its setting takes its default, and
        the module says so (one event and warning each)."""
        for bad in check(stored):
            self.emit("flash.bad_setting", key=bad.key, stored=bad.stored, problem=bad.problem)
            log.warning("stored setting ignored, default used: %s", bad)

    def _boot_firmware(self, firmware: Firmware) -> bool:
        """Boot the slot otadata selects; take the identity from its app descriptor."""
        running = firmware.boot()
        if running is None:
            self.emit("boot.failed", reason=firmware.last_error)
            log.error("no bootable firmware: %s", firmware.last_error)
            return False
        app = running.app
        self.identity = self.identity.running(
            bin_version=app.version,
            sdk_version=app.idf_ver,
            compile_time=f"{app.date} {app.time}",
        )
        self.emit(
            "boot.image",
            slot=running.slot,
            version=app.version,
            rolled_back=running.rolled_back,
            aborted=list(running.aborted),
            failures=[f"{f.slot}: {f.reason}" for f in running.failures],
        )
        return True

    async def close(self) -> None:
        """Stop every task of the module (the process is shutting down)."""
        self._booting = True
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.wifi.shutdown()
        await self._run_reset_hooks()
        await self.radio.close()
        if self.firmware is not None:
            self.firmware.close()
