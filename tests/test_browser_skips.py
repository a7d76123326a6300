"""Without a browser the browser tests are skipped, and the summary says how many."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from childwait import run_child

ROOT = Path(__file__).resolve().parents[1]


def test_summary_counts_the_browser_tests_that_did_not_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REQUIRE_BROWSER"}
    env["CHROMIUM_PATH"] = str(tmp_path / "no-chromium")  # not a file: no browser
    result = run_child(
        [sys.executable, "-m", "pytest", "tests/browser", "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    skipped = re.search(r"(\d+) skipped", out.splitlines()[-1])
    assert skipped, out
    count = int(skipped.group(1))
    assert count > 20  # every test, not one skip per module
    assert (
        f"{count} browser tests did not run: Chromium is not installed (set CHROMIUM_PATH)." in out
    ), out
