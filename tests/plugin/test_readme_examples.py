"""The README's pytest plugin examples, as written there, in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def plugin_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### The pytest plugin")
    return text[start : text.index("\n### ", start + 1)]


def readme_block(language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", plugin_section(), re.S)
    assert match, f"the plugin section has no {language} example"
    return match.group(1)


def test_readme_plugin_example_passes_without_warnings(pytester: pytest.Pytester) -> None:
    # The project's configuration is the README's, and nothing else: no -o overrides.
    pytester.makefile(".toml", pyproject=readme_block("toml"))
    pytester.makepyfile(test_example=readme_block("python"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, warnings=0)


def test_readme_routing_example_passes(pytester: pytest.Pytester) -> None:
    section = plugin_section()
    routing = section[section.index("#### Routing a name to your own server") :]
    match = re.search(r"```python\n(.*?)```", routing, re.S)
    assert match, "the routing section has no Python example"
    pytester.makefile(".toml", pyproject=readme_block("toml"))
    pytester.makepyfile(test_routing=match.group(1))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=0)
