"""System commands that work on the flash: AT+SYSFLASH and AT+SYSROLLBACK."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num, para_type
from ..at.table import Args, Command, Result
from ..flash.errors import FlashError

if TYPE_CHECKING:
    from ..device.firmware import Firmware
    from ..device.module import Module

ERASE, WRITE, READ = 0, 1, 2


def _firmware(module: Module) -> Firmware:
    if module.firmware is None:
        raise exec_fail(reason="this module has no flash")
    return module.firmware


def _sysflash_query(module: Module, args: Args) -> list[str]:
    return [
        f'+SYSFLASH:"{p.name}",{p.type},{p.subtype},0x{p.offset:x},0x{p.size:x}'
        for p in _firmware(module).user_partitions()
    ]


def _int_at(args: Args, index: int) -> int | None:
    if not args.given(index):
        return None
    param = args.params[index]
    if param.kind != "int" or not isinstance(param.value, int):
        raise para_type(index)
    return param.value


def _sysflash_set(module: Module, args: Args) -> Result | None:
    firmware = _firmware(module)
    if not 2 <= len(args) <= 4:
        raise para_num(4, len(args))
    operation = _int_at(args, 0)
    if operation is None or operation not in (ERASE, WRITE, READ):
        raise para_invalid(0)
    name_param = args.params[1]
    if name_param.kind != "str" or not isinstance(name_param.value, bytes):
        raise para_type(1)
    name = name_param.value.decode("utf-8", "replace")
    if name not in {p.name for p in firmware.user_partitions()}:
        raise para_invalid(1, f"no user partition named {name!r}")
    offset = _int_at(args, 2)
    length = _int_at(args, 3)
    if (offset is not None and offset < 0) or (length is not None and length < 0):
        raise para_invalid(2 if offset is not None and offset < 0 else 3)
    try:
        if operation == ERASE:
            if (offset is None) != (length is None):
                raise para_num(4, len(args))
            firmware.sysflash_erase(name, offset, length)
            module.emit("flash.erase", partition=name, offset=offset, length=length)
            return None
        if offset is None or length is None or length == 0:
            raise para_num(4, len(args))
        if operation == READ:
            data = firmware.sysflash_read(name, offset, length)
            return Result((f"+SYSFLASH:{length},".encode() + data,))
        firmware.sysflash_read(name, offset, length)  # bounds check before the prompt
    except FlashError as exc:
        raise exec_fail(reason=exc.reason) from exc
    except ValueError as exc:
        raise exec_fail(reason=str(exc)) from exc
    module.engine.write(b"\r\n>")

    def store(data: bytes) -> None:
        try:
            firmware.sysflash_write(name, offset, data)
        except FlashError as exc:
            raise exec_fail(reason=exc.reason) from exc
        module.emit("flash.write", partition=name, offset=offset, length=len(data))

    module.expect_data(length, store)
    return Result(final="")


def _rollback_query(module: Module, args: Args) -> list[str]:
    try:
        info = _firmware(module).rollback_info()
    except FlashError as exc:
        raise exec_fail(reason=exc.reason) from exc
    target_version = info.target_version or ""
    return [
        f'+SYSROLLBACK:0x{info.running.offset:x},"{info.running_version}",'
        f'0x{info.target.offset:x},"{target_version}"'
    ]


def _rollback(module: Module, args: Args) -> None:
    try:
        target = _firmware(module).rollback()
    except FlashError as exc:
        raise exec_fail(reason=exc.reason) from exc
    module.emit("flash.rollback", slot=target.name)


COMMANDS: list[Command[Module]] = [
    Command("AT+SYSFLASH", query=_sysflash_query, set=_sysflash_set),
    Command("AT+SYSROLLBACK", query=_rollback_query, execute=_rollback),
]
