"""AT+SYSMFG: the namespaces and key-value pairs of the ``mfg_nvs`` partition.

``AT+SYSMFG?`` (or ``AT+SYSMFG=1``) lists the namespaces; operation 0 erases a namespace
or one key, 1 reads (a namespace's keys with their types, or one value, optionally a
slice ``<offset>,<length>`` of a string or blob), 2 writes a value: integers given in the
command, strings and blobs after a ``>`` prompt. Values keep their NVS type; the AT
types are 1 u8, 2 i8, 3 u16, 4 i16, 5 u32, 6 i32, 7 string, 8 binary.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..at.errors import AtError, exec_fail, para_invalid, para_length, para_num, para_type
from ..at.table import Args, Command, Result
from ..flash.errors import FlashError, NvsError
from ..flash.mfg import MfgNvs
from ..flash.nvs import INT_FORMATS, MAX_KEY, MAX_STRING, ItemType, NvsItem

if TYPE_CHECKING:
    from ..device.module import Module

ERASE, READ, WRITE = 0, 1, 2
AT_TYPES = {
    1: ItemType.U8,
    2: ItemType.I8,
    3: ItemType.U16,
    4: ItemType.I16,
    5: ItemType.U32,
    6: ItemType.I32,
    7: ItemType.SZ,
    8: ItemType.BLOB,
}
_TYPE_NUMBERS = {kind: number for number, kind in AT_TYPES.items()}


def _mfg(module: Module) -> MfgNvs:
    mfg = module.firmware.mfg() if module.firmware is not None else None
    if mfg is None:
        raise exec_fail(reason="this module has no mfg_nvs partition")
    return mfg


def _int(args: Args, index: int) -> int:
    param = args.params[index]
    if param.kind != "int" or not isinstance(param.value, int):
        raise para_type(index)
    return param.value


def _name(args: Args, index: int) -> str:
    param = args.params[index]
    if param.kind != "str" or not isinstance(param.value, bytes):
        raise para_type(index)
    if not 1 <= len(param.value) <= MAX_KEY or b"\x00" in param.value:
        raise para_length(index)
    return param.value.decode("utf-8", "replace")


def _namespace_lines(mfg: MfgNvs) -> list[str]:
    return [f'+SYSMFG:"{namespace}"' for namespace in mfg.namespaces()]


def _query(module: Module, args: Args) -> list[str]:
    return _namespace_lines(_mfg(module))


def _set(module: Module, args: Args) -> Result | list[str] | None:
    if not 1 <= len(args) <= 5:
        raise para_num(5, len(args))
    operation = _int(args, 0)
    if operation not in (ERASE, READ, WRITE):
        raise para_invalid(0, "operation must be 0, 1 or 2")
    mfg = _mfg(module)
    try:
        if operation == ERASE:
            _erase(module, mfg, args)
            return None
        if operation == READ:
            return _read(mfg, args)
        return _write(module, mfg, args)
    except NvsError as exc:
        raise exec_fail(reason=exc.reason) from exc


def _erase(module: Module, mfg: MfgNvs, args: Args) -> None:
    if not 2 <= len(args) <= 3:
        raise para_num(3, len(args))
    namespace = _name(args, 1)
    key = _name(args, 2) if len(args) == 3 else None
    if not mfg.remove(namespace, key) and key is not None:
        raise exec_fail(reason=f"{namespace}/{key} does not exist")
    module.emit("flash.mfg_erase", namespace=namespace, key=key)


def _read(mfg: MfgNvs, args: Args) -> Result | list[str]:
    if len(args) == 1:
        return _namespace_lines(mfg)
    namespace = _name(args, 1)
    if len(args) == 2:
        items = mfg.namespace_items(namespace)
        if not items:
            raise exec_fail(reason=f"namespace {namespace} does not exist")
        return [
            f'+SYSMFG:"{namespace}","{item.key}",{_TYPE_NUMBERS[item.type]}'
            for item in items
            if item.type in _TYPE_NUMBERS
        ]
    key = _name(args, 2)
    if len(args) == 4:
        raise para_num(5, len(args))
    item = mfg.get(namespace, key)
    if item is None or item.type not in _TYPE_NUMBERS:
        raise exec_fail(reason=f"{namespace}/{key} does not exist")
    value = item.value
    raw = value if isinstance(value, bytes) else str(value).encode()
    if len(args) == 5:
        offset, length = _int(args, 3), _int(args, 4)
        if item.type not in (ItemType.SZ, ItemType.BLOB):
            raise para_invalid(3, "only strings and blobs are read in slices")
        if offset < 0 or offset >= len(raw):
            raise para_invalid(3, "offset outside the value")
        if length <= 0 or offset + length > len(raw):
            raise para_invalid(4, "length outside the value")
        raw = raw[offset : offset + length]
    head = f'+SYSMFG:"{namespace}","{key}",{_TYPE_NUMBERS[item.type]},{len(raw)},'
    return Result((head.encode() + raw,))


def _write(module: Module, mfg: MfgNvs, args: Args) -> Result | None:
    if len(args) != 5:
        raise para_num(5, len(args))
    namespace, key = _name(args, 1), _name(args, 2)
    number = _int(args, 3)
    kind = AT_TYPES.get(number)
    if kind is None:
        raise para_invalid(3, "type must be 1..8")
    value = _int(args, 4)
    if kind in INT_FORMATS:
        try:
            struct.pack(INT_FORMATS[kind], value)
        except struct.error:
            raise para_invalid(4, f"{value} does not fit type {number}") from None
        mfg.put(NvsItem(namespace, key, kind, value))
        module.emit("flash.mfg_write", namespace=namespace, key=key, type=number)
        return None
    limit = MAX_STRING - 1 if kind == ItemType.SZ else mfg.capacity()
    if not 1 <= value <= limit:
        raise para_invalid(4, f"length must be 1..{limit}")
    module.engine.write(b"\r\n>")

    def store(data: bytes) -> None:
        if kind == ItemType.SZ:
            if b"\x00" in data:
                raise exec_fail(reason="a string cannot hold NUL")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise exec_fail(reason="a string must be UTF-8") from None
            item = NvsItem(namespace, key, kind, text)
        else:
            item = NvsItem(namespace, key, kind, data)
        try:
            mfg.put(item)
        except (NvsError, FlashError) as exc:
            raise AtError(exec_fail().sub, reason=exc.reason) from exc
        module.emit("flash.mfg_write", namespace=namespace, key=key, type=number)

    module.expect_data(value, store)
    return Result(final="")


COMMANDS: list[Command[Module]] = [
    Command("AT+SYSMFG", query=_query, set=_set),
]
