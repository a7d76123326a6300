"""The README's pytest plugin examples, as written there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_plugin_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### The pytest plugin") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the plugin section has no Python example"
    return match.group(1)


def test_readme_plugin_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_example=readme_plugin_example())
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
        "-o", "asyncio_default_fixture_loop_scope=function",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
