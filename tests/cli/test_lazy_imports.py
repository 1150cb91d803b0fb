"""`jobkeeper --help` imports none of the heavy parts (bench/cli_start.py measures the time)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("httpx", "rich", "eventsourcing", "falcon", "pydantic", "limits", "psycopg", "dramatiq")
PROBE = f"""
import sys
from jobkeeper.cli import main
code = main(sys.argv[1:])
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print("HEAVY", ",".join(heavy), file=sys.stderr)
"""


def heavy_modules(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    return result.stderr.strip().splitlines()[-1]


def test_help_of_the_command_and_its_commands_stays_light() -> None:
    for args in ([], ["--help"], ["submit", "--help"], ["views", "--help"], ["users", "--help"]):
        assert heavy_modules(*args) == "HEAVY", args
