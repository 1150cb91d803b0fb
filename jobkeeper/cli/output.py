"""What the commands print: tables on a terminal, plain tab-separated lines when piped, one JSON
document (or JSON lines while following) with `--output json`. Messages go to stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

PERCENT = "{:.0%}"
STATUS_COLOURS = {
    "queued": "cyan", "running": "blue", "stopping": "yellow", "stopped": "yellow",
    "cancelling": "magenta", "cancelled": "magenta", "succeeded": "green", "failed": "red",
}  # fmt: skip


class Output:
    """Where and how a command prints."""

    def __init__(self, mode: str) -> None:
        self.json = mode == "json"
        self.terminal = sys.stdout.isatty()
        self.colour = self.terminal and not os.environ.get("NO_COLOR")

    def console(self, *, stderr: bool = False) -> Any:
        """A rich console on stdout (or stderr), coloured unless NO_COLOR or not a terminal."""
        from rich.console import Console

        return Console(stderr=stderr, no_color=not self.colour, highlight=False)

    def document(self, value: Any) -> None:
        """The one JSON document of a command."""
        click.echo(json.dumps(value, indent=2 if self.terminal else None, ensure_ascii=False))

    def json_line(self, value: Any) -> None:
        """One JSON line of a following command, at once."""
        click.echo(json.dumps(value, ensure_ascii=False))
        sys.stdout.flush()

    def line(self, text: str) -> None:
        click.echo(text)
        sys.stdout.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table on a terminal; tab-separated lines without a header otherwise."""
        if not self.terminal:
            for row in rows:
                click.echo("\t".join(_cell(value) for value in row))
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for header in headers:
            table.add_column(header, overflow="fold")
        status = list(headers).index("STATUS") if "STATUS" in headers else None
        for row in rows:
            cells = [Text(_cell(value)) for value in row]
            if status is not None:
                cells[status].stylize(STATUS_COLOURS.get(str(row[status]), ""))
            table.add_row(*cells)
        self.console().print(table)


def message(text: str) -> None:
    """A note for the person at the terminal, on stderr."""
    click.echo(text, err=True)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def progress(job: dict[str, Any]) -> str:
    return PERCENT.format(float(job.get("progress") or 0))


def when(value: str | None) -> str:
    """An ISO time to the second, as a person reads it."""
    return (value or "-")[:19].replace("T", " ")
