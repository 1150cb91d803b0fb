"""The `jobkeeper` command."""

from __future__ import annotations

from jobkeeper.cli.processes import main

__all__ = ["main"]
