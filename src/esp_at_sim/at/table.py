"""The command table: each command declares its forms and its parameters.

A command has up to four forms (test ``=?``, query ``?``, set ``=…``, execute). For the
set form it may declare its parameters; the table then checks the count, each type and
each range, and hands the handler typed values, so a handler never sees a malformed line.
Handlers receive a context object of the caller's choosing (the simulated module) and
return the information lines of the answer, or raise :class:`~.errors.AtError`.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .errors import AtError, Sub, para_invalid, para_length, para_num, para_parse, para_type
from .params import Param, split_params

C = TypeVar("C")


class Op(enum.Enum):
    TEST = "=?"
    QUERY = "?"
    SET = "="
    EXECUTE = ""


@dataclass(frozen=True)
class Result:
    """What a command prints: information lines, then the final word."""

    lines: tuple[bytes | str, ...] = ()
    final: str = "OK"


Reply = Result | Sequence[bytes | str] | None
Handler = Callable[[C, "Args"], "Reply | Awaitable[Reply]"]


@dataclass(frozen=True)
class IntParam:
    """An integer parameter with an inclusive range."""

    name: str
    lo: int
    hi: int
    optional: bool = False
    default: int | None = None


@dataclass(frozen=True)
class StrParam:
    """A quoted string parameter; lengths count bytes after unescaping."""

    name: str
    max_len: int
    min_len: int = 0
    optional: bool = False
    default: bytes | None = None
    secret: bool = False  # a password: masked wherever the line is logged (CommandTable.mask)


ParamSpec = IntParam | StrParam


@dataclass(frozen=True)
class Args:
    """Parameters of a set command: ``values`` typed by the declaration (``None`` when
    omitted without a default), ``params`` as written."""

    params: tuple[Param, ...] = ()
    values: tuple[int | bytes | None, ...] = ()

    def __len__(self) -> int:
        return len(self.params)

    def integer(self, index: int) -> int:
        """Parameter ``index`` as a number (``ERROR`` for a string)."""
        value = self.values[index]
        if not isinstance(value, int):
            raise para_type(index)
        return value

    def octets(self, index: int) -> bytes:
        """Parameter ``index`` as a string's bytes, unescaped (``ERROR`` for a number)."""
        value = self.values[index]
        if not isinstance(value, bytes):
            raise para_type(index)
        return value

    def text(self, index: int) -> str:
        """Parameter ``index`` as text (bytes that are not UTF-8 survive as surrogates)."""
        return self.octets(index).decode("utf-8", "surrogateescape")

    def given(self, index: int) -> bool:
        return index < len(self.params) and not self.params[index].is_empty

    def opt_octets(self, index: int) -> bytes | None:
        """Like :meth:`octets`, ``None`` when the parameter is missing or a number."""
        value = self.values[index] if index < len(self.values) else None
        return value if isinstance(value, bytes) else None


@dataclass(frozen=True)
class Command(Generic[C]):
    """One AT command: its name as typed (``AT+CWMODE``) and a handler per form."""

    name: str
    test: Handler[C] | None = None
    query: Handler[C] | None = None
    set: Handler[C] | None = None
    execute: Handler[C] | None = None
    params: tuple[ParamSpec, ...] | None = None  # None: the set handler checks raw params
    min_params: int | None = None  # defaults to the count of non-optional leading params
    # Secret parameters of a set form whose handler checks raw params (``params`` None),
    # by index; a negative index counts from the end, for forms whose leading parameters
    # vary (a link ID only with AT+CIPMUX=1).
    secret_params: tuple[int, ...] = ()

    def handler(self, op: Op) -> Handler[C] | None:
        if op is Op.EXECUTE:
            return self.execute
        if op is Op.SET:
            return self.set
        return self.query if op is Op.QUERY else self.test

    @property
    def secrets(self) -> frozenset[int]:
        """Indexes of the set form's parameters that hold a secret."""
        specs = self.params or ()
        declared = (i for i, p in enumerate(specs) if isinstance(p, StrParam) and p.secret)
        return frozenset(declared).union(self.secret_params)

    def check(self, params: list[Param]) -> Args:
        """Validate set-form parameters against the declaration."""
        if self.params is None:
            return Args(tuple(params), tuple(_loose(p) for p in params))
        total = len(self.params)
        need = self.min_params
        if need is None:
            need = sum(1 for spec in self.params if not spec.optional)
        if not need <= len(params) <= total:
            raise para_num(total, len(params))
        values: list[int | bytes | None] = []
        for index, spec in enumerate(self.params):
            param = params[index] if index < len(params) else None
            values.append(_check_one(spec, param, index))
        return Args(tuple(params), tuple(values))


def _loose(param: Param) -> int | bytes | None:
    return param.value if param.kind in ("int", "str") else None


def _check_one(spec: ParamSpec, param: Param | None, index: int) -> int | bytes | None:
    if param is None or param.is_empty:
        if not spec.optional:
            raise para_parse(index)
        return spec.default
    if isinstance(spec, IntParam):
        if param.kind != "int" or not isinstance(param.value, int):
            raise para_type(index)
        if not spec.lo <= param.value <= spec.hi:
            raise para_invalid(index, f"{spec.name} must be {spec.lo}..{spec.hi}")
        return param.value
    if param.kind != "str" or not isinstance(param.value, bytes):
        raise para_type(index)
    if not spec.min_len <= len(param.value) <= spec.max_len:
        raise para_length(index)
    return param.value


@dataclass
class CommandTable(Generic[C]):
    """Every command the firmware knows, in registration order (``AT+CMD?`` order).

    A table can be :meth:`frozen <freeze>` once complete: it then refuses additions, so
    that one table can serve every module of a process (its commands are immutable)."""

    _commands: dict[str, Command[C]] = field(default_factory=dict)
    _frozen: bool = False

    def freeze(self) -> CommandTable[C]:
        """Refuse any further :meth:`add`; returns the table itself."""
        self._frozen = True
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen

    def add(self, command: Command[C]) -> Command[C]:
        if self._frozen:
            raise TypeError(f"the command table is frozen: cannot add {command.name}")
        if command.name in self._commands:
            raise ValueError(f"{command.name} registered twice")
        self._commands[command.name] = command
        return command

    def extend(self, commands: Iterable[Command[C]]) -> None:
        for command in commands:
            self.add(command)

    def get(self, name: str) -> Command[C] | None:
        return self._commands.get(name)

    def __iter__(self) -> Iterator[Command[C]]:
        return iter(self._commands.values())

    def __len__(self) -> int:
        return len(self._commands)

    def resolve(self, line: bytes) -> tuple[Command[C], Op, Args]:
        """Parse a command line; raise :class:`AtError` as the firmware would."""
        name, op, tail = split_line(line)
        command = self._commands.get(name)
        if command is None:
            raise AtError(Sub.UNSUPPORT_CMD, reason=f"unknown command {name}")
        if command.handler(op) is None:
            raise AtError(Sub.CMD_OP_ERROR, reason=f"{name} has no {op.name.lower()} form")
        if op is Op.SET:
            return command, op, command.check(split_params(tail))
        if op is Op.EXECUTE and tail:
            param = Param("int", tail, int(tail))
            return command, op, Args((param,), (param.value,))
        return command, op, Args()

    def mask(self, line: bytes, mask: bytes = b"***") -> bytes:
        """``line`` as it may be logged: each parameter that this table parses as a secret
        replaced by ``mask`` (unless empty: an open network's ``""``), the rest as written.
        Where the table cannot tell which parameters are secret, it shows none: the
        parameters of an unknown command, and of a secret-bearing command whose parameters
        do not split, are masked whole; a line that does not split into ``AT``, a name and
        a form (lower case, a space in the name, line noise) is shown up to the first byte
        that cannot belong to a name."""
        try:
            name, op, tail = split_line(line)
        except AtError:
            keep = 0
            while keep < len(line) and line[keep] in _NAME_BYTES:
                keep += 1
            return line if keep == len(line) else line[:keep] + mask
        command = self._commands.get(name)
        if op is not Op.SET or not tail or (command is not None and not command.secrets):
            return line
        head = line[: len(line) - len(tail)]
        if command is None:
            return head + mask
        try:
            params = split_params(tail)
        except AtError:
            return head + mask
        count = len(params)
        hide = {i % count for i in command.secrets if -count <= i < count}
        hide = {i for i in hide if params[i].raw not in _BLANK}
        return head + b",".join(mask if i in hide else p.raw for i, p in enumerate(params))

    def cmd_lines(self) -> list[str]:
        """The ``+CMD:`` lines of ``AT+CMD?``."""
        out = []
        for index, cmd in enumerate(self._commands.values()):
            flags = ",".join(
                "1" if h is not None else "0" for h in (cmd.test, cmd.query, cmd.set, cmd.execute)
            )
            out.append(f'+CMD:{index},"{cmd.name}",{flags}')
        return out


_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BLANK = (b"", b'""')
# What a logged line that does not parse may show: letters of any case, digits, _ and +.
_NAME_BYTES = _NAME_CHARS | frozenset(b"abcdefghijklmnopqrstuvwxyz+")


def split_line(line: bytes) -> tuple[str, Op, bytes]:
    """Split ``AT+NAME=params`` into name, form and parameter text."""
    if not line.startswith(b"AT"):
        raise AtError(Sub.NO_AT, reason="line does not start with AT")
    rest = line[2:]
    if not rest:
        return "AT", Op.EXECUTE, b""
    if rest[:1] == b"E":  # ATE0 / ATE1: the digit is the execute form's argument
        digits = rest[1:]
        if digits.isdigit() and len(digits) == 1:
            return "ATE", Op.EXECUTE, digits
        raise AtError(Sub.UNSUPPORT_CMD, reason="unknown command")
    if rest[:1] != b"+":
        raise AtError(Sub.UNSUPPORT_CMD, reason="unknown command")
    end = 1
    while end < len(rest) and rest[end] in _NAME_CHARS:
        end += 1
    name = "AT" + rest[:end].decode("ascii")
    tail = rest[end:]
    if end == 1:
        raise AtError(Sub.UNSUPPORT_CMD, reason="missing command name")
    if tail == b"":
        return name, Op.EXECUTE, b""
    if tail == b"?":
        return name, Op.QUERY, b""
    if tail == b"=?":
        return name, Op.TEST, b""
    if tail[:1] == b"=":
        return name, Op.SET, tail[1:]
    raise AtError(Sub.UNSUPPORT_CMD, reason=f"unknown command {name}{tail[:1].decode('latin-1')}")
