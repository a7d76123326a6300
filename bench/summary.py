"""The closing table of ``make bench``: every figure the scripts appended to the results
file (one JSON object a line, see ``_common.report``), with its baseline, the ratio, the
goal and whether it is met, as a Markdown table; then the machine it ran on.
Usage: python bench/summary.py RESULTS-FILE"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line]
    print("| figure | esp-at-sim | baseline | ratio | goal | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        digits, unit = row["digits"], row["unit"]
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        note = f" ({row['note']})" if row["note"] else ""
        print(
            f"| {row['name']}{note} | {row['figure']:,.{digits}f} {unit} | "
            f"{row['baseline_name']} {row['baseline']:,.{digits}f} {unit} | "
            f"{row['ratio']:.2f} | {row['goal']} | {met} |"
        )
    print(f"\nMachine: {machine()}.")


if __name__ == "__main__":
    main()
