"""Scenario files: the simulated air around one module, written in TOML.

A scenario describes the module itself (MAC addresses, the names and versions AT+GMR
prints), the access points its station can see and join, with their faults, and the
phones that join its SoftAP. :func:`load_scenario` reads a file, :func:`parse_scenario` a
string and :func:`default_scenario` the built-in "home".

Every mistake raises :class:`ScenarioError` naming the file, the line and the key, as in
``home.toml:12: ap[1].channel: must be 1..13, got 14``. Arrays count from 0: ``ap[0]`` is
the first ``[[ap]]`` table. The dataclasses check their own fields too, so configurations
built in Python (``ApConfig.create("Lab", "pass1234")``) obey the same rules and raise
:class:`FieldError` instead.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from esp_at_sim.radio import fields as check
from esp_at_sim.radio.fields import FieldError, generated_bssid, softap_mac_for
from esp_at_sim.radio.netconfig import NetConfig
from esp_at_sim.radio.world import (
    ApConfig,
    Chip,
    ModuleConfig,
    PhoneConfig,
    Scenario,
    ap_defaults,
)

__all__ = [
    "ApConfig",
    "Chip",
    "FieldError",
    "ModuleConfig",
    "NetConfig",
    "PhoneConfig",
    "Scenario",
    "ScenarioError",
    "default_scenario",
    "generated_bssid",
    "load_scenario",
    "parse_scenario",
    "softap_mac_for",
]

_T = TypeVar("_T")


class ScenarioError(ValueError):
    """A scenario file is wrong; the message reads ``FILE:LINE: KEY: what is wrong``."""

    def __init__(self, filename: str, line: int, key: str | None, message: str) -> None:
        where = f"{filename}:{line}: " + (f"{key}: " if key else "")
        super().__init__(where + message)
        self.filename = filename
        self.line = line
        self.key = key
        self.message = message


# -- reading TOML ----------------------------------------------------------------------------

_TOP_KEYS = ("name", "module", "ap", "phone", "net")
_KEY_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")


def _key_path(text: str, pos: int = 0) -> tuple[list[str], int] | None:
    parts: list[str] = []
    while m := _KEY_PART.match(text, pos):
        parts.append(m.group(1) or m.group(2) or m.group(3) or "")
        pos = m.end()
        if not text.startswith(".", pos):
            return parts, pos
        pos += 1
    return None


class _Lines:
    """Where each table and key sits in the TOML text (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self._at: dict[str, int] = {}
        counts: dict[str, int] = {}
        prefix = ""
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if fence is not None:
                fence = None if line.count(fence) % 2 else fence
                continue
            stripped = line.lstrip()
            if stripped.startswith("["):
                array = stripped.startswith("[[")
                found = _key_path(stripped, 2 if array else 1)
                close = "]]" if array else "]"
                if found is None or not stripped.startswith(close, found[1]):
                    continue
                tail = stripped[found[1] + len(close) :].strip()
                if tail and not tail.startswith("#"):
                    continue
                head, *rest = found[0]
                if array:
                    counts[head] = counts.get(head, 0) + 1
                indexed = f"{head}[{counts[head] - 1}]" if head in counts else head
                prefix = ".".join([indexed, *rest])
                self._at.setdefault(prefix, number)
                continue
            found = _key_path(line)
            if found is None or not line.startswith("=", found[1]):
                continue
            path = [prefix] if prefix else []
            for part in found[0]:
                path.append(part)
                self._at.setdefault(".".join(path), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2:
                    fence = quote

    def find(self, key: str) -> int:
        while key:
            if key in self._at:
                return self._at[key]
            key = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key) if re.search(r"[.\[]", key) else ""
        return 1


def _table(value: object, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(key, f"must be a table, got {check.describe(value)}")
    return value


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(allowed)})"
            raise FieldError(f"{where}{key}", "unknown key" + hint)


def _build(data: dict[str, Any], default_name: str) -> Scenario:
    _check_keys(data, _TOP_KEYS, "")
    name = data.get("name", default_name)
    check.text("name", name)
    module_raw = _table(data.get("module", {}), "module")
    _check_keys(module_raw, tuple(f.name for f in fields(ModuleConfig)), "module.")
    module = _nested("module", ModuleConfig, module_raw)
    aps: list[ApConfig] = []
    named: Counter[str] = Counter()  # APs so far with each SSID (each gets its own BSSID)
    for i, item in enumerate(_array(data.get("ap", []), "ap")):
        raw = _table(item, f"ap[{i}]")
        _check_keys(raw, tuple(f.name for f in fields(ApConfig)), f"ap[{i}].")
        _require(raw, f"ap[{i}]", "ssid")
        if "auth" in raw:
            raw["auth"] = _nested(
                f"ap[{i}]", check.auth_mode, {"key": "auth", "value": raw["auth"]}
            )
        ssid = raw["ssid"]
        seen = named[ssid] if isinstance(ssid, str) else 0
        aps.append(_nested(f"ap[{i}]", ApConfig, ap_defaults(raw, i, seen)))
        named[raw["ssid"]] += 1
    phones: list[PhoneConfig] = []
    for i, item in enumerate(_array(data.get("phone", []), "phone")):
        raw = _table(item, f"phone[{i}]")
        _check_keys(raw, tuple(f.name for f in fields(PhoneConfig)), f"phone[{i}].")
        _require(raw, f"phone[{i}]", "mac")
        phones.append(_nested(f"phone[{i}]", PhoneConfig, raw))
    net = NetConfig.from_table(_table(data.get("net", {}), "net"))
    return Scenario(name, module, tuple(aps), tuple(phones), net)


def _require(table: dict[str, Any], where: str, key: str) -> None:
    if key not in table:
        raise FieldError(f"{where}.{key}", "is required")


def _array(value: object, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise FieldError(
            key, f"must be an array of tables ([[{key}]]), got {check.describe(value)}"
        )
    return value


def _nested(where: str, factory: Callable[..., _T], kwargs: dict[str, Any]) -> _T:
    """Call ``factory(**kwargs)``, putting ``where`` in front of a :class:`FieldError`'s key."""
    try:
        return factory(**kwargs)
    except FieldError as err:
        raise FieldError(f"{where}.{err.key}", err.message) from None


def parse_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    """Parse scenario TOML; errors name ``filename``, the line and the key."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(
            filename, _deep_line(text), None, "invalid TOML: arrays or tables nested too deeply"
        ) from None
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", msg, re.S)
        if m:
            raise ScenarioError(
                filename, int(m.group(2)), None, f"invalid TOML: {m.group(1)} (column {m.group(3)})"
            ) from None
        last = max(1, len(text.splitlines()))
        raise ScenarioError(filename, last, None, f"invalid TOML: {msg}") from None
    try:
        stem = Path(filename).stem
        return _build(data, stem if re.fullmatch(r"[\w.-]+", stem) else "scenario")
    except FieldError as err:
        raise ScenarioError(filename, _Lines(text).find(err.key), err.key, err.message) from None


def _deep_line(text: str, depth: int = 100) -> int:
    """The line where brackets and braces first nest ``depth`` deep (outside strings),
    for the error about a file nested too deeply; 1 if they never do."""
    level, quote, line = 0, "", 1
    for char in text:
        if char == "\n":
            line += 1
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            level += 1
            if level >= depth:
                return line
        elif char in "]}":
            level -= 1
    return 1


def load_scenario(path: str | Path) -> Scenario:
    """Read and parse a scenario file (UTF-8). ``OSError`` passes through."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(str(path), line, None, "not UTF-8 text") from None
    return parse_scenario(text, str(path))


@functools.cache
def default_scenario() -> Scenario:
    """The built-in "home" scenario, used when no file is given (parsed once: a
    scenario is immutable)."""
    resource = importlib.resources.files("esp_at_sim") / "data" / "scenarios" / "home.toml"
    return parse_scenario(resource.read_text(encoding="utf-8"), "home.toml")
