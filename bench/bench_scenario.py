"""Building a scenario from a file of 1 000, 10 000 and 100 000 ``[[ap]]`` tables (SSIDs
repeated as in a crowded city, so duplicate names get their own BSSIDs): the CPU time
``parse_scenario`` takes, against ``tomllib.loads`` of the same text (the baseline: what
reading the TOML alone costs). Linear building keeps the time per AP flat: the closing
line divides the time per AP at 100 000 by the time per AP at 1 000 (1.0 is linear; a
quadratic build gave about 100). ``BENCH_REPEATS`` windows per size (default 3).
Usage: python bench/bench_scenario.py"""

from __future__ import annotations

import time
import tomllib

from _common import Sample, median, repeats_arg, report

from esp_at_sim.scenario import parse_scenario

SIZES = (1_000, 10_000, 100_000)


def city(count: int) -> str:
    return "".join(
        f'[[ap]]\nssid = "Net{i % 500}"\nrssi = {-30 - i % 60}\nchannel = {1 + i % 13}\n'
        for i in range(count)
    )


def timed(action: object) -> float:
    """CPU seconds of ``action`` (this process only: on a busy machine the time spent
    waiting for a core is not the build's)."""
    assert callable(action)
    start = time.process_time()
    action()
    return time.process_time() - start


def main() -> None:
    repeats = repeats_arg(3)
    per_ap: dict[int, float] = {}
    for count in SIZES:
        text = city(count)
        built: list[Sample] = []
        parsed: list[Sample] = []
        for _ in range(repeats):  # interleaved: baseline, figure, baseline, figure...
            parsed.append(Sample(timed(lambda text=text: tomllib.loads(text))))
            built.append(Sample(timed(lambda text=text: parse_scenario(text, "city.toml"))))
        per_ap[count] = median([s.value for s in built]) / count
        report(
            f"scenario build, {count:,} APs",
            built,
            "s",
            "tomllib.loads alone",
            parsed,
            digits=3,
        )
    growth = per_ap[SIZES[-1]] / per_ap[SIZES[0]]
    print(
        f"time per AP: {per_ap[SIZES[0]] * 1e6:.1f} us at {SIZES[0]:,}, "
        f"{per_ap[SIZES[-1]] * 1e6:.1f} us at {SIZES[-1]:,}; ratio {growth:.2f} "
        "(1.0 is linear)",
        flush=True,
    )


if __name__ == "__main__":
    main()
