"""The layers keep their dependency directions (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    assert linter, "import-linter is a test dependency"
    result = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_domain_reads_no_clock_and_draws_no_random_numbers() -> None:
    calls = re.compile(r"\b(datetime\.now|datetime\.utcnow|time\.(time|monotonic|sleep)|random\.|secrets\.|uuid\.uuid4)")
    for path in sorted((ROOT / "jobkeeper" / "domain").glob("*.py")):
        code = "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith(("#", '"'))
        )
        assert not calls.search(code), f"{path.name} reads a clock or draws randomness"
        assert "import time" not in code and "import random" not in code and "import secrets" not in code
