"""System message filters (AT+SYSMSGFILTER, AT+SYSMSGFILTERCFG).

A filter is a head and a tail regular expression, POSIX basic or extended syntax (as
``regcomp`` takes them, GNU's ``\\+ \\? \\|`` in basic syntax included), compiled with
the command's cflags (bit 0 REG_EXTENDED, bit 1 REG_ICASE, bit 2 REG_NEWLINE). While
filtering is on, every system message the module sends (an information line, a final
result, a URC, a ``>`` prompt; the echo of a command line is not one) is tried against
the filters in the order they were added. The first filter whose head and tail both
match takes the message: the MCU gets what lies between the end of the head's match and
the start of the tail's match (an empty expression matches at the start, resp. the end),
possibly nothing. Messages are matched one by one, never joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REG_EXTENDED, REG_ICASE, REG_NEWLINE = 1, 2, 4
MAX_REGEXP = 64

_CLASSES = {
    b"alpha": b"A-Za-z",
    b"digit": b"0-9",
    b"alnum": b"0-9A-Za-z",
    b"upper": b"A-Z",
    b"lower": b"a-z",
    b"space": b" \\t\\n\\r\\f\\v",
    b"blank": b" \\t",
    b"punct": re.escape(bytes(c for c in range(33, 127) if not chr(c).isalnum())),
    b"print": b" -~",
    b"graph": b"!-~",
    b"cntrl": b"\\x00-\\x1f\\x7f",
    b"xdigit": b"0-9A-Fa-f",
}


class _Translator:
    """One POSIX expression as a Python ``re`` pattern (bytes)."""

    def __init__(self, source: bytes, extended: bool, newline: bool) -> None:
        self.src = source
        self.ext = extended
        self.newline = newline
        self.pos = 0
        self.out: list[bytes] = []

    def run(self) -> bytes:
        src = self.src
        while self.pos < len(src):
            start_of_re = self._at_start()
            c = src[self.pos : self.pos + 1]
            self.pos += 1
            if c == b"\\":
                self._escape()
            elif c == b"[":
                self._bracket()
            elif c == b".":
                self.out.append(b"[^\\n]" if self.newline else b".")
            elif c == b"^":
                self.out.append(self._caret() if self.ext or start_of_re else b"\\^")
            elif c == b"$":
                self.out.append(self._dollar() if self.ext or self._at_end() else b"\\$")
            elif c == b"*":
                self.out.append(b"\\*" if start_of_re else b"*")
            elif c in (b"+", b"?"):
                self.out.append(c if self.ext and not start_of_re else re.escape(c))
            elif c in (b"(", b")", b"|"):
                self.out.append(c if self.ext else re.escape(c))
            elif c == b"{":
                self._brace(closing=b"}" if self.ext else None)
            else:
                self.out.append(re.escape(c))
        return b"".join(self.out)

    def _at_start(self) -> bool:
        """Whether a repetition here would have nothing to repeat (literal in BRE)."""
        before = self.out[-1] if self.out else b""
        return not self.out or before in (b"(", b"|", b"(?:^)", self._caret())

    def _at_end(self) -> bool:
        rest = self.src[self.pos :]
        return not rest or rest.startswith(b"\\)") or rest.startswith(b"\\|")

    def _caret(self) -> bytes:
        return b"^" if self.newline else b"\\A"

    def _dollar(self) -> bytes:
        return b"$" if self.newline else b"\\Z"

    def _escape(self) -> None:
        if self.pos >= len(self.src):
            raise ValueError("trailing backslash")
        c = self.src[self.pos : self.pos + 1]
        self.pos += 1
        if not self.ext and c in (b"(", b")", b"|", b"+", b"?"):
            self.out.append(c)
        elif not self.ext and c == b"{":
            self._brace(closing=b"\\}")
        elif c.isdigit() and c != b"0":
            self.out.append(b"\\" + c)  # a back-reference
        else:
            self.out.append(re.escape(c))

    def _brace(self, closing: bytes | None) -> None:
        if closing is None:  # a literal brace in BRE
            self.out.append(b"\\{")
            return
        end = self.src.find(closing, self.pos)
        body = self.src[self.pos : end] if end >= 0 else b""
        if end < 0 or not re.fullmatch(rb"\d+(,\d*)?", body):
            if self.ext:  # not a bound: a literal brace
                self.out.append(b"\\{")
                return
            raise ValueError("bad interval")
        self.pos = end + len(closing)
        self.out.append(b"{" + body + b"}")

    def _bracket(self) -> None:
        src = self.src
        negate = src[self.pos : self.pos + 1] == b"^"
        if negate:
            self.pos += 1
        items: list[bytes] = []
        first = True
        while True:
            if self.pos >= len(src):
                raise ValueError("unterminated bracket expression")
            c = src[self.pos : self.pos + 1]
            if c == b"]" and not first:
                self.pos += 1
                break
            first = False
            if c == b"[" and src[self.pos + 1 : self.pos + 2] in (b":", b"=", b"."):
                kind = src[self.pos + 1 : self.pos + 2]
                end = src.find(kind + b"]", self.pos + 2)
                if end < 0:
                    raise ValueError("unterminated class")
                name = src[self.pos + 2 : end]
                self.pos = end + 2
                if kind == b":":
                    if name not in _CLASSES:
                        raise ValueError(f"unknown class {name!r}")
                    items.append(_CLASSES[name])
                else:
                    items.append(re.escape(name))
                continue
            self.pos += 1
            if c == b"-" and items and self.pos < len(src) and src[self.pos : self.pos + 1] != b"]":
                items.append(b"-")
            else:
                items.append(re.escape(c) if c not in b"-" else b"\\-")
        if negate and self.newline:
            items.append(b"\\n")
        self.out.append(b"[" + (b"^" if negate else b"") + b"".join(items) + b"]")


def compile_posix(pattern: bytes, cflags: int) -> re.Pattern[bytes]:
    """A POSIX expression compiled as ``regcomp`` would; ``ValueError`` when it is not
    a valid one."""
    newline = bool(cflags & REG_NEWLINE)
    try:
        translated = _Translator(pattern, bool(cflags & REG_EXTENDED), newline).run()
        flags = re.IGNORECASE if cflags & REG_ICASE else 0
        flags |= re.MULTILINE if newline else re.DOTALL
        return re.compile(translated, flags)
    except (re.error, ValueError, IndexError) as exc:
        raise ValueError(f"not a valid regular expression: {pattern!r} ({exc})") from None


@dataclass(frozen=True)
class MessageFilter:
    head: bytes
    tail: bytes
    cflags: int
    head_re: re.Pattern[bytes] | None = field(compare=False, default=None)
    tail_re: re.Pattern[bytes] | None = field(compare=False, default=None)

    @classmethod
    def create(cls, head: bytes, tail: bytes, cflags: int) -> MessageFilter:
        """``ValueError`` for a filter ESP-AT refuses (both empty, or a bad expression)."""
        if not head and not tail:
            raise ValueError("a filter needs a head or a tail expression")
        return cls(
            head,
            tail,
            cflags,
            compile_posix(head, cflags) if head else None,
            compile_posix(tail, cflags) if tail else None,
        )

    def cut(self, message: bytes) -> bytes | None:
        """What is left of ``message`` once filtered, ``None`` when it does not match."""
        begin = 0
        if self.head_re is not None:
            head = self.head_re.search(message)
            if head is None:
                return None
            begin = head.end()
        end = len(message)
        if self.tail_re is not None:
            tail = self.tail_re.search(message, begin)
            if tail is None:
                return None
            end = tail.start()
        return message[begin:end]


@dataclass
class MessageFilters:
    """The filters of one module (not stored: gone at the next boot)."""

    enabled: bool = False
    filters: list[MessageFilter] = field(default_factory=list)

    def reset(self) -> None:
        self.enabled = False
        self.filters = []

    def add(self, item: MessageFilter) -> None:
        self.filters.append(item)

    def delete(self, item: MessageFilter) -> None:
        """``KeyError`` when no such filter was added."""
        try:
            self.filters.remove(item)
        except ValueError:
            raise KeyError("no such filter") from None

    def apply(self, message: bytes) -> bytes:
        """The message as the MCU gets it."""
        if not self.enabled:
            return message
        for item in self.filters:
            left = item.cut(message)
            if left is not None:
                return left
        return message
