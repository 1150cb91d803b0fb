"""`views rebuild` and `views verify`: the operator's tools on the view store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from jobkeeper.cli.exits import CONFLICT, FAILED, SUCCESS, CliError
from jobkeeper.cli.output import Output, message
from jobkeeper.cli.store import EventsBar, data_option, open_store

if TYPE_CHECKING:
    from jobkeeper.application.app import JobKeeper
    from jobkeeper.projections.store import ViewStore


@click.group(
    epilog="\b\nExamples:\n  jobkeeper views verify\n"
    "  jobkeeper views rebuild --data ./jobkeeper-data"
)
def views() -> None:
    """Rebuild or verify the list views, on the store directly (for operators)."""


def _open(data: Path | None) -> tuple[JobKeeper, ViewStore]:
    from jobkeeper.actors import liveness
    from jobkeeper.projections.projector import VIEWS
    from jobkeeper.projections.store import open_view_store

    settings, app = open_store(data)
    store = open_view_store(settings.views_env(), VIEWS, side_tables=(liveness,))  # type: ignore[arg-type]
    return app, store


@views.command(
    epilog="\b\nExit statuses: 0 rebuilt; 7 refused (a serve or projector keeps the views); 2 usage"
)
@data_option
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
        with EventsBar(out, total, "rebuilding", deferred=True) as bar:
            applied = rebuild_views(app, store, bar.advance)
        seconds = bar.seconds()
    except ViewsBusyError as error:
        raise CliError(f"views rebuild refused: {error}", CONFLICT) from None
    finally:
        store.close()
        app.close()
    out.line(
        f"rebuilt the views from {applied:,} events in {seconds:.1f} s "
        f"({applied / seconds:,.0f} events/s)"
    )
    return SUCCESS


@views.command(epilog="\b\nExit statuses: 0 the views agree with the log; 1 differences; 2 usage")
@data_option
def verify(data: Path | None) -> int:
    """Compare every view row with a fresh replay of the event log; print each difference.

    It may run beside a running serve or projector.
    """
    from jobkeeper.projections.maintenance import verify as verify_views

    app, store = _open(data)
    try:
        differences = verify_views(app, store)
    finally:
        store.close()
        app.close()
    for difference in differences:
        click.echo(str(difference))
    if differences:
        message(f"{len(differences)} differences between the views and the event log")
        return FAILED
    message("the views agree with the event log")
    return SUCCESS
