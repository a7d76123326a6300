"""The import contract of pyproject.toml (docs/architecture.md's layers) holds, and it
catches a lower layer that imports a higher one, a cycle and a leaf that imports us."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from childwait import run_child

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports over the package under ``tree/src`` with ``tree/pyproject.toml``."""
    return run_child(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, free to break."""
    shutil.copytree(
        ROOT / "src" / "esp_at_sim",
        tmp_path / "src" / "esp_at_sim",
        ignore=shutil.ignore_patterns("__pycache__", "static", "data"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(tree: Path, module: str, line: str) -> None:
    path = tree / "src" / Path(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_the_package_keeps_its_contract(tree: Path) -> None:
    # An import under TYPE_CHECKING is an annotation only: it does not count.
    add_line(
        tree,
        "esp_at_sim.radio.base",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from esp_at_sim.device import module",
    )
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# Each deliberate violation: where it goes, the line added, what lint-imports must say.
VIOLATIONS = [
    # A function-level import counts: the radio may not reach into the device.
    (
        "esp_at_sim.radio.base",
        "def _late() -> None:\n    from esp_at_sim.device import module  # noqa",
        "esp_at_sim.radio is not allowed to import esp_at_sim.device",
    ),
    (
        "esp_at_sim.device.wifi",
        "from esp_at_sim import commands  # noqa",
        "esp_at_sim.device is not allowed to import esp_at_sim.commands",
    ),
    (
        "esp_at_sim.flash.nvs",
        "from esp_at_sim.web import config  # noqa",
        "esp_at_sim.flash is not allowed to import esp_at_sim.web",
    ),
    (
        "esp_at_sim.at.engine",
        "from esp_at_sim.core import clock  # noqa",
        "esp_at_sim.at is not allowed to import esp_at_sim.core",
    ),
    (
        "esp_at_sim.client.errors",
        "from esp_at_sim.at import errors  # noqa",
        "esp_at_sim.client is not allowed to import esp_at_sim.at",
    ),
    (
        "esp_at_sim.device.station",
        "from esp_at_sim.client import AtClient  # noqa",
        "esp_at_sim.device is not allowed to import esp_at_sim.client",
    ),
    # radio.sim imports radio.tasks; tasks importing sim closes a cycle.
    (
        "esp_at_sim.radio.tasks",
        "def _late() -> None:\n    from . import sim  # noqa",
        "No cycles are allowed in esp_at_sim.radio",
    ),
]


def test_violations_are_caught(tree: Path) -> None:
    for module, line, _ in VIOLATIONS:
        add_line(tree, module, line)
    result = lint(tree)
    assert result.returncode != 0
    missed = [complaint for _, _, complaint in VIOLATIONS if complaint not in result.stdout]
    assert not missed, result.stdout
