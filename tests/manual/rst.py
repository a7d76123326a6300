"""The ESP-AT manual's command chapters, read from their reStructuredText source: which
commands each chapter lists, and the example blocks of each command, for one target
chip. Only what the tests need: section titles, ``.. only::`` blocks, literal blocks."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

MANUAL = Path(os.environ.get("ESP_AT_MANUAL", "/work/shared/reference/esp-at"))
CHAPTERS = ("AT_Command_Set_Basic_AT_Commands.rst", "AT_Command_Set_Wi-Fi_AT_Commands.rst")
TCPIP = "AT_Command_Set_TCP-IP_AT_Commands.rst"
TCPIP_EXAMPLES = "AT_Command_Examples_TCP-IP_AT_Examples.rst"
TARGETS = ("esp32", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32c61", "esp32s2")

_TITLE = re.compile(r"^:ref:`((?:AT\+)?[A-Z0-9_]+|ATE) <[A-Za-z-]+>`")
_ONLY = re.compile(r"^(\s*)\.\. only:: (.+)$")
_EXAMPLE = re.compile(r"^Examples?$")
_COMMENT = re.compile(r"\s+//.*$")
_COMMAND = re.compile(r"^AT(\+[A-Z0-9_]+|E[01])?([=?]|$)")


def available(*chapters: str) -> bool:
    return all((MANUAL / chapter).is_file() for chapter in chapters or CHAPTERS)


def _applies(expression: str, target: str) -> bool:
    words = expression.replace("or", " or ").replace("not", " not ").split()
    code = " ".join(w if w in ("or", "and", "not") else str(w == target) for w in words)
    return bool(eval(code, {"__builtins__": {}}))  # names replaced by True/False only


def target_lines(text: str, target: str = "esp32") -> list[str]:
    """The lines of ``text`` that apply to ``target`` (``.. only::`` blocks for other
    chips left out)."""
    out: list[str] = []
    skip_indent: int | None = None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if line.strip() and indent <= skip_indent:
                skip_indent = None
            else:
                continue
        only = _ONLY.match(line)
        if only and not _applies(only.group(2), target):
            skip_indent = len(only.group(1))
            continue
        out.append(line)
    return out


@dataclass
class Step:
    """One command line of an example, and what the example shows after it."""

    line: str
    shown: list[str] = field(default_factory=list)
    # the line follows a blank line, a comment or an "or": the start of a new scenario
    # when an example block holds several
    new_paragraph: bool = False


@dataclass
class Example:
    command: str  # the section's command, AT+CWJAP
    steps: list[Step]


def listed_commands(chapter: str, target: str = "esp32") -> list[str]:
    """The commands a chapter's opening list names for ``target``."""
    lines = target_lines((MANUAL / chapter).read_text(encoding="utf-8"), target)
    names: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(":ref:`Introduction") or not stripped:
            if names:
                break
            continue
        match = re.match(r"^(?::([a-z0-9 ]+): )?- :ref:`([^ `]+) <cmd-", stripped)
        if match and match.group(2).startswith("AT"):
            if match.group(1) is None or _applies(match.group(1), target):
                names.append(match.group(2))
        elif match is None and names and stripped.startswith(".."):
            break
    return names


def examples(chapter: str, target: str = "esp32") -> list[Example]:
    """Every example block of a chapter, in order, with the command of its section."""
    lines = target_lines((MANUAL / chapter).read_text(encoding="utf-8"), target)
    found: list[Example] = []
    command = ""
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        title = _TITLE.match(text)
        if title and i + 1 < len(lines) and set(lines[i + 1].strip()) <= set("-="):
            command = title.group(1)
        elif (
            _EXAMPLE.match(text) and i + 1 < len(lines) and set(lines[i + 1].strip()) <= set('^"-')
        ):
            i += 2
            while i < len(lines):  # every literal block up to the next heading
                text = lines[i].strip()
                nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if text and nxt and set(nxt) <= set('^"-=') and len(nxt) >= 3:
                    break
                if text.endswith("::"):
                    block, i = _literal_block(lines, i + 1)
                    steps = _steps(block)
                    if steps:
                        found.append(Example(command, steps))
                    continue
                i += 1
            continue
        i += 1
    return found


def _literal_block(lines: list[str], i: int) -> tuple[list[str], int]:
    block: list[str] = []
    base: int | None = None
    while i < len(lines):
        line = lines[i]
        if line.strip():
            indent = len(line) - len(line.lstrip())
            if base is None:
                base = indent
            elif indent < base:
                break
        block.append(line.strip())
        i += 1
    return block, i


def _steps(block: list[str]) -> list[Step]:
    steps: list[Step] = []
    gap = True
    for text in block:
        if not text or text.startswith("//") or text == "or":
            gap = True
            continue
        if _COMMAND.match(text):
            steps.append(Step(_COMMENT.sub("", text), new_paragraph=gap))
        elif steps:
            steps[-1].shown.append(text)
        gap = False
    return steps


_FORMS = {"Set Command": "set", "Query Command": "query", "Execute Command": "execute"}


def responses(chapter: str, target: str = "esp32") -> dict[tuple[str, str], list[list[str]]]:
    """Each command's documented responses by form (``set``, ``query``, ``execute``): every
    literal block after its ``**Response:**``, one alternative each (single and multiple
    connections, success and failure), with comments and blank lines left out."""
    lines = target_lines((MANUAL / chapter).read_text(encoding="utf-8"), target)
    found: dict[tuple[str, str], list[list[str]]] = {}
    command, form, in_response = "", "", False
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        heading = bool(text) and len(nxt) >= 3 and set(nxt) <= set('^"-=')
        title = _TITLE.match(text)
        if heading:
            form, in_response = _FORMS.get(text, ""), False
            if title:
                command = title.group(1)
        elif text.startswith("**"):
            in_response = text == "**Response:**"
        elif in_response and form and text.endswith("::"):
            block, i = _literal_block(lines, i + 1)
            kept = [_COMMENT.sub("", x) for x in block if x and not x.startswith("//")]
            if kept:
                found.setdefault((command, form), []).append(kept)
            continue
        i += 1
    return found


def template(line: str) -> re.Pattern[str]:
    """A documented response line as a pattern: ``<"name">`` a quoted value, ``<name>`` a
    bare one (no quote, no comma; empty too), ``[`` ... ``]`` optional, ``[...]`` alone
    any repetition."""
    out = ""
    for token in re.findall(r"\[\.\.\.\]|<[^>]*>|\[|\]|[^<\[\]]+", line):
        if token == "[...]":
            out += ".*"
        elif token.startswith('<"'):
            out += '"[^"]*"'
        elif token.startswith("<"):
            out += '[^",]*'
        elif token == "[":
            out += "(?:"
        elif token == "]":
            out += ")?"
        else:
            out += re.escape(token)
    return re.compile(out)


@dataclass
class Item:
    """One numbered step of a walkthrough: its text (directives and blocks left out) and
    each code block with the sentence that introduces it (``Command:``, ``Response:``,
    ``Input 4 bytes, for example, ``test``, ...``)."""

    text: str
    blocks: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class Walkthrough:
    title: str
    items: list[Item]


def walkthroughs(document: str, target: str = "esp32") -> list[Walkthrough]:
    """The sections of an examples document, each a list of its numbered steps."""
    lines = target_lines((MANUAL / document).read_text(encoding="utf-8"), target)
    found: list[Walkthrough] = []
    label = ""
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if text and len(nxt) >= 3 and set(nxt) <= set("-") and not text.startswith(".."):
            found.append(Walkthrough(text.replace("{IDF_TARGET_NAME}", target.upper()), []))
            i += 2
            continue
        if not found:
            i += 1
            continue
        items = found[-1].items
        if text.startswith("#. "):
            items.append(Item(text[3:]))
            label = ""
        elif text.startswith(".. code-block::") and items:
            block, i = _literal_block(lines, i + 1)
            items[-1].blocks.append((label, [x for x in block if x]))
            continue
        elif text and not text.startswith("..") and items:
            items[-1].text += " " + text
            label = text if not text.startswith("-") else label
        i += 1
    return found
