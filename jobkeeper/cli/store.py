"""What the operator's commands on the store share (`views`, `audit`): the `--data` option,
opening the store as the services do, and a progress bar of the events read."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobkeeper.cli.exits import USAGE, CliError
from jobkeeper.cli.output import Output

if TYPE_CHECKING:
    from jobkeeper.application.app import JobKeeper
    from jobkeeper.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def data_option(command: F) -> F:
    """The `--data` option of a command on the store."""
    return click.option(
        "--data",
        type=click.Path(path_type=Path),
        help="data folder (JOBKEEPER_DATA, ./jobkeeper-data); "
        "JOBKEEPER_DATABASE_URL for PostgreSQL",
    )(command)


def open_store(data: Path | None) -> tuple[Settings, JobKeeper]:
    """The settings and the application on the event store they name; a usage error (exit 2)
    when there is no store there or it cannot be used."""
    from jobkeeper.bootstrap import open_app
    from jobkeeper.cli.processes import UsageError, check_store
    from jobkeeper.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(data=data)
        if not settings.database_url and not (settings.data / "events.db").exists():
            raise CliError(f"no event store in {settings.data} (see --data)", USAGE)
        check_store(settings)
    except (SettingsError, UsageError) as error:
        raise CliError(str(error), USAGE) from None
    return settings, open_app(settings)


class EventsBar:
    """A progress bar of events done, with their rate, on a terminal (on stderr, so stdout
    keeps only the command's answer); nothing when piped.

    With `deferred`, the bar appears at the first `advance` (the work has begun, perhaps after
    waiting for a lock) and the rate counts from then."""

    def __init__(self, out: Output, total: int, label: str, *, deferred: bool = False) -> None:
        self.out, self.total, self.label, self.deferred = out, total, label, deferred
        self._progress: Any = None
        self._task: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> EventsBar:
        if not self.deferred:
            self._show()
        return self

    def _show(self) -> None:
        if not self.out.terminal:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (
            TextColumn(self.label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} events/s"),
        )
        self._progress = Progress(*columns, console=self.out.console(stderr=True))
        self._progress.start()
        self._task = self._progress.add_task("", total=self.total, rate="-")

    def advance(self, done: int) -> None:
        if self.deferred:
            self.deferred = False
            self._started = time.perf_counter()
            self._show()
            return
        if self._progress is not None:
            rate = done / self.seconds()
            self._progress.update(self._task, completed=done, rate=f"{rate:,.0f}")

    def seconds(self) -> float:
        """How long the work has taken (since the first `advance` when deferred)."""
        return max(time.perf_counter() - self._started, 1e-9)

    def __exit__(self, *_: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
