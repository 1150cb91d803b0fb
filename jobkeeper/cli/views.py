"""`views rebuild` and `views verify`: the operator's tools on the view store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jobkeeper.cli.exits import CONFLICT, FAILED, SUCCESS, USAGE, CliError
from jobkeeper.cli.output import Output, message

if TYPE_CHECKING:
    from jobkeeper.application.app import JobKeeper
    from jobkeeper.projections.store import ViewStore

DATA_HELP = "data folder (JOBKEEPER_DATA, ./jobkeeper-data); JOBKEEPER_DATABASE_URL for PostgreSQL"


@click.group(
    epilog="\b\nExamples:\n  jobkeeper views verify\n"
    "  jobkeeper views rebuild --data ./jobkeeper-data"
)
def views() -> None:
    """Rebuild or verify the list views, on the store directly (for operators)."""


def _open(data: Path | None) -> tuple[JobKeeper, ViewStore]:
    from jobkeeper.actors import liveness
    from jobkeeper.bootstrap import open_app
    from jobkeeper.cli.processes import UsageError, check_store
    from jobkeeper.projections.projector import VIEWS
    from jobkeeper.projections.store import open_view_store
    from jobkeeper.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(data=data)
        if not settings.database_url and not (settings.data / "events.db").exists():
            raise CliError(f"no event store in {settings.data} (see --data)", USAGE)
        check_store(settings)
    except (SettingsError, UsageError) as error:
        raise CliError(str(error), USAGE) from None
    app = open_app(settings)
    store = open_view_store(settings.views_env(), VIEWS, side_tables=(liveness,))  # type: ignore[arg-type]
    return app, store


@views.command(
    epilog="\b\nExit statuses: 0 rebuilt; 7 refused (a serve or projector keeps the views); 2 usage"
)
@click.option("--data", type=click.Path(path_type=Path), help=DATA_HELP)
def rebuild(data: Path | None) -> int:
    """Drop every view and rebuild it from the event log.

    Refuses while a `serve` or `projector` keeps the same views: stop them first.
    """
    from jobkeeper.projections.lock import ViewsBusyError
    from jobkeeper.projections.maintenance import log_position
    from jobkeeper.projections.maintenance import rebuild as rebuild_views

    app, store = _open(data)
    out = Output("text")
    try:
        total = log_position(app)
        with _Bar(out, total) as bar:
            applied = rebuild_views(app, store, bar.advance)
        seconds = bar.seconds()
    except ViewsBusyError as error:
        raise CliError(f"views rebuild refused: {error}", CONFLICT) from None
    finally:
        store.datastore.close()
        app.close()
    out.line(
        f"rebuilt the views from {applied:,} events in {seconds:.1f} s "
        f"({applied / seconds:,.0f} events/s)"
    )
    return SUCCESS


class _Bar:
    """A progress bar with the events-per-second rate on a terminal; nothing when piped."""

    def __init__(self, out: Output, total: int) -> None:
        self.out, self.total = out, total
        self._progress: Any = None
        self._task: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> _Bar:
        return self

    def advance(self, position: int) -> None:
        if position == 0:  # the rebuild has begun
            self._started = time.perf_counter()
        if not self.out.terminal:
            return
        if self._progress is None:  # the rebuild has its lock: show the bar from now on
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            columns = (
                TextColumn("rebuilding"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} events/s"),
            )
            self._progress = Progress(*columns, console=self.out.console())
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total, rate="-")
            return
        rate = position / max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, completed=position, rate=f"{rate:,.0f}")

    def seconds(self) -> float:
        """How long the rebuild has taken since it began (it had its lock)."""
        return max(time.perf_counter() - self._started, 1e-9)

    def __exit__(self, *_: Any) -> None:
        if self._progress is not None:
            self._progress.stop()


@views.command(epilog="\b\nExit statuses: 0 the views agree with the log; 1 differences; 2 usage")
@click.option("--data", type=click.Path(path_type=Path), help=DATA_HELP)
def verify(data: Path | None) -> int:
    """Compare every view row with a fresh replay of the event log; print each difference.

    It may run beside a running serve or projector.
    """
    from jobkeeper.projections.maintenance import verify as verify_views

    app, store = _open(data)
    try:
        differences = verify_views(app, store)
    finally:
        store.datastore.close()
        app.close()
    for difference in differences:
        click.echo(str(difference))
    if differences:
        message(f"{len(differences)} differences between the views and the event log")
        return FAILED
    message("the views agree with the event log")
    return SUCCESS
