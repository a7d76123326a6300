"""System message filters: AT+SYSMSGFILTER (on or off) and AT+SYSMSGFILTERCFG (clear,
add or delete a filter). The filters themselves are :mod:`esp_at_sim.device.msgfilter`.

Adding or deleting a filter takes its two expressions as raw bytes after a prompt:
``OK``, then ``>``, then the head and tail expressions, ``<head_regexp_len>`` +
``<tail_regexp_len>`` bytes together, then ``OK`` (or ``ERROR`` for an expression that
does not compile, or a filter to delete that was never added). Filters are not stored;
they are gone at the next boot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num
from ..at.table import Args, Command, IntParam, Result
from ..device.msgfilter import MAX_REGEXP, MessageFilter
from .wifi_common import ensure

if TYPE_CHECKING:
    from ..device.module import Module

CLEAR, DELETE = 0, 2


def _filter_query(m: Module, a: Args) -> list[str]:
    return [f"+SYSMSGFILTER:{int(m.system.msg_filters.enabled)}"]


def _filter_set(m: Module, a: Args) -> None:
    filters = m.system.msg_filters
    filters.enabled = a.integer(0) == 1
    m.engine.message_filter = filters.apply if filters.enabled else None


def _cfg_query(m: Module, a: Args) -> list[bytes]:
    return [
        f"+SYSMSGFILTERCFG:{index},".encode() + b'"' + f.head + b'","' + f.tail + b'"'
        for index, f in enumerate(m.system.msg_filters.filters)
    ]


def _cfg_set(m: Module, a: Args) -> Result | None:
    operation = a.integer(0)
    filters = m.system.msg_filters
    if operation == CLEAR:
        ensure(len(a) == 1, para_num(1, len(a)))
        filters.filters = []
        return None
    if not (a.given(1) and a.given(2)):
        raise para_num(3, len(a))
    head_len, tail_len, cflags = a.integer(1), a.integer(2), a.integer(3)
    ensure(head_len + tail_len > 0, para_invalid(2, "a head or a tail expression is needed"))
    m.engine.write(b"\r\nOK\r\n")
    m.engine.write(b"\r\n>")

    def take(data: bytes) -> None:
        try:
            item = MessageFilter.create(data[:head_len], data[head_len:], cflags)
        except ValueError as exc:
            raise exec_fail(reason=str(exc)) from exc
        if operation == DELETE:
            try:
                filters.delete(item)
            except KeyError as exc:
                raise exec_fail(reason="no such filter") from exc
            return
        filters.add(item)

    m.expect_data(head_len + tail_len, take)
    return Result(final="")


COMMANDS: list[Command[Module]] = [
    Command(
        "AT+SYSMSGFILTER",
        query=_filter_query,
        set=_filter_set,
        params=(IntParam("enable", 0, 1),),
    ),
    Command(
        "AT+SYSMSGFILTERCFG",
        query=_cfg_query,
        set=_cfg_set,
        params=(
            IntParam("operator", 0, 2),
            IntParam("head_regexp_len", 0, MAX_REGEXP, optional=True),
            IntParam("tail_regexp_len", 0, MAX_REGEXP, optional=True),
            IntParam("cflags", 0, 7, optional=True, default=0),
        ),
        min_params=1,
    ),
]
