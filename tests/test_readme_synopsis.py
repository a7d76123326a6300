"""The README's command line synopsis names every option of every command, and no other."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from esp_at_sim.cli.main import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def synopsis() -> dict[str, set[str]]:
    """``{"run": {"--scenario", ...}, "image build": {...}, ...}`` from the README."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Command line") :]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "no synopsis block"
    found: dict[str, set[str]] = {}
    command = ""
    for line in block.group(1).splitlines():
        if line.startswith("esp-at-sim "):
            words = line.split()[1:]
            command = " ".join(w for w in words[:2] if re.fullmatch(r"[a-z]+", w))
            found[command] = set()
        found[command] |= set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-o)\b", line))
    return found


def parser_options() -> dict[str, set[str]]:
    options: dict[str, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            options[name] = {
                flag
                for action in parser._actions
                for flag in action.option_strings
                if flag not in ("-h", "--help")
            }
        for sub in subs:
            for child, child_parser in sub.choices.items():
                walk(child_parser, f"{name} {child}".strip())

    walk(build_parser(), "")
    return options


def test_synopsis_lists_every_option_of_every_command() -> None:
    assert synopsis() == parser_options()
