"""What `make run` and `make test` install, and the package metadata."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def planned(target: str, venv: Path) -> str:
    """The commands ``make TARGET`` would run for a fresh virtualenv at ``venv``."""
    return subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip


def test_make_run_installs_only_the_runtime_dependencies(tmp_path: Path) -> None:
    run = planned("run", tmp_path / "venv")
    assert re.search(r"pip install --quiet -e \.$", run, re.M), run
    assert "[test]" not in run
    assert "esp-at-sim run --at stdio" in run
    test = planned("test", tmp_path / "venv")
    assert "pip install --quiet -e '.[test]'" in test


def test_license_is_an_spdx_expression_for_a_setuptools_that_reads_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "Apache-2.0"
    bound = next(r for r in project["build-system"]["requires"] if r.startswith("setuptools"))
    # setuptools reads a license string as SPDX from version 77 on.
    assert tuple(int(n) for n in bound.partition(">=")[2].split(".")) >= (77,)
