"""How fast the `jobkeeper` command answers: `--help` (target: under 300 ms) and a command's
own `--help`, against starting Python with nothing to do (`python -c pass`), in one run.

Each figure is the median wall time of N fresh processes, run alternately so the machine's
load falls on each alike; the ratio to the baseline is the figure to compare between runs.

    python bench/cli_start.py --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_MS = 300.0
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "jobkeeper --help": [sys.executable, "-m", "jobkeeper", "--help"],
    "jobkeeper submit --help": [sys.executable, "-m", "jobkeeper", "submit", "--help"],
    "jobkeeper views --help": [sys.executable, "-m", "jobkeeper", "views", "--help"],
}


def once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for command in CASES.values():  # warm the page cache; not measured
        once(command)
    for _ in range(args.runs):
        for name, command in CASES.items():
            times[name].append(once(command))
    baseline = statistics.median(times["python -c pass"])
    print(f"median of {args.runs} runs each (ms), and against `python -c pass` in this run")
    for name, samples in times.items():
        median = statistics.median(samples)
        verdict = ""
        if name == "jobkeeper --help":
            verdict = "  pass" if median < TARGET_MS else "  MISS"
            verdict += f" (target < {TARGET_MS:.0f} ms)"
        print(f"  {name:<26} {median:7.1f} ms  {median / baseline:5.2f}x  "
              f"p90 {statistics.quantiles(samples, n=10)[-1]:7.1f} ms{verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
