"""Web server AT command: ``AT+WEBSERVER=<enable>,<server_port>,<connection_timeout>``.

- ``AT+WEBSERVER=0`` (that one parameter only) stops the server and frees everything.
- ``AT+WEBSERVER=1,<port>,<timeout>`` starts it on ``<port>`` (0..65535, served on the
  host through the port map) with ``<timeout>`` in 21..60 seconds; on a running server
  it only takes the new timeout. A port that cannot be opened gives ``ERROR`` and a
  log line.
- Anything else is ``ERROR``, including ``AT+WEBSERVER=0,80,25``, which the firmware
  takes as a start (web-server.md, deviation). There is no query or test form.

The server itself is ``module.web`` (:func:`esp_at_sim.web.install_web`); a module
without it answers ``ERROR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num, para_type
from ..at.table import Args, Command

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ..device.module import Module
    from ..device.services import WebService

TIMEOUT_MIN, TIMEOUT_MAX = 21, 60
PORT_MAX = 65535


def _int(args: Args, index: int) -> int:
    value = args.values[index]
    if not isinstance(value, int) or args.params[index].kind != "int":
        raise para_type(index)
    return value


def _service(module: Module) -> WebService:
    service = module.web
    if service is None:
        raise exec_fail(reason="this module has no web server")
    return service


async def _stop(service: WebService) -> None:
    await service.stop()


async def _start(service: WebService, port: int, timeout: int) -> None:
    try:
        await service.start(port, timeout)
    except OSError as exc:
        raise exec_fail(reason=str(exc)) from exc


def _webserver(module: Module, args: Args) -> Awaitable[None]:
    count = len(args)
    enable = _int(args, 0)
    if enable not in (0, 1):
        raise para_invalid(0, "enable must be 0 or 1")
    if count == 1 and enable == 0:
        return _stop(_service(module))
    if count != 3:
        raise para_num(3, count)
    if enable == 0:
        raise para_invalid(0, "AT+WEBSERVER=0 takes no other parameter")
    port = _int(args, 1)
    if not 0 <= port <= PORT_MAX:
        raise para_invalid(1, f"server_port must be 0..{PORT_MAX}")
    timeout = _int(args, 2)
    if not TIMEOUT_MIN <= timeout <= TIMEOUT_MAX:
        raise para_invalid(2, f"connection_timeout must be {TIMEOUT_MIN}..{TIMEOUT_MAX}")
    return _start(_service(module), port, timeout)


COMMANDS: list[Command[Module]] = [Command("AT+WEBSERVER", set=_webserver)]
