"""The web app's files ship in the package: pyproject's package data covers every one."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import jobkeeper

ROOT = Path(__file__).resolve().parents[2]


def test_package_data_covers_every_template_and_static_file() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["jobkeeper"]
    package = Path(jobkeeper.__file__).parent
    files = [p for folder in ("http/ui/static", "http/ui/templates")
             for p in (package / folder).iterdir() if p.is_file()]  # fmt: skip
    assert len(files) >= 10
    for path in files:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
