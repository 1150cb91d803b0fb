"""`audit head` and `audit verify`: the hash chains of the event store, checked on the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jobkeeper.cli.exits import FAILED, SUCCESS, USAGE, CliError
from jobkeeper.cli.output import Output, message
from jobkeeper.cli.store import EventsBar, data_option, open_store

if TYPE_CHECKING:
    from jobkeeper.application.app import JobKeeper
    from jobkeeper.application.audit import Auditor, Break


@click.group(
    epilog="\b\nExamples:\n  jobkeeper audit head > heads-2030-01-01.json\n"
    "  jobkeeper audit verify --against heads-2030-01-01.json\n  jobkeeper audit verify --job 7"
)
def audit() -> None:
    """The event store's hash chains: their heads, and checks (on the store directly)."""


def _open(data: Path | None) -> tuple[JobKeeper, Auditor]:
    from jobkeeper.bootstrap import open_auditor

    settings, app = open_store(data)
    return app, open_auditor(app, settings)


@audit.command(epilog="\b\nExit statuses: 0 printed; 2 usage")
@data_option
def head(data: Path | None) -> int:
    """Print the head of every chain and their digest, as JSON to keep elsewhere.

    Signed (HMAC-SHA256) when JOBKEEPER_AUDIT_KEY is set. The same as GET /api/v1/audit/head.
    """
    app, auditor = _open(data)
    try:
        anchors = auditor.anchors()
    finally:
        app.close()
    click.echo(json.dumps(anchors.as_json(), indent=2))
    message(f"{len(anchors.heads)} chains, digest {anchors.digest}")
    return SUCCESS


@audit.command(epilog="\b\nExit statuses: 0 every chain is intact; 1 a chain is broken; 2 usage")
@data_option
@click.option("--job", "job_id", type=int, metavar="N", help="only job N's chain")
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="HEADFILE",
    help="a head file kept earlier (`audit head`): a chain rewritten since is broken",
)
@click.option("-o", "--output", type=click.Choice(("text", "json")), default="text")
def verify(data: Path | None, job_id: int | None, against: Path | None, output: str) -> int:
    """Recompute the hash chains and name the first broken link of each (which version, what
    differs), or say that all is intact. A progress bar shows the whole store's check."""
    from jobkeeper.application.audit import AnchorsFileError, load_anchors
    from jobkeeper.domain.errors import JobNotFoundError

    app, auditor = _open(data)
    out = Output(output)
    try:
        anchors = load_anchors(against.read_text("utf-8"), auditor.key) if against else None
        if job_id is not None:
            stream = f"job-{job_id}"
            report = auditor.verify_job(job_id, anchors.get(stream) if anchors else None)
            broken, events, unhashed = (
                [report.broken] if report.broken else [],
                report.events,
                report.unhashed,
            )
        else:
            with EventsBar(out, auditor.events_recorded(), "verifying") as bar:
                found = auditor.verify_store(anchors, bar.advance)
            broken, events, unhashed = found.broken, found.events, found.unhashed
            message(f"read the log in {bar.seconds():.1f} s")
    except AnchorsFileError as error:
        raise CliError(f"{against}: {error}", USAGE) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {against}: {error}", USAGE) from None
    except JobNotFoundError as error:
        raise CliError(str(error), USAGE) from None
    finally:
        app.close()
    return _report(out, broken, events, unhashed)


def _report(out: Output, broken: list[Break], events: int, unhashed: int) -> int:
    if out.json:
        out.document(
            {
                "intact": not broken,
                "events": events,
                "unhashed": unhashed,
                "broken": [vars(b) for b in broken],
            }
        )
    else:
        for b in broken:
            computed = f", computed {b.computed}" if b.computed else ""
            detail = f" (recorded {b.recorded}{computed})" if b.recorded else ""
            out.line(f"{b.stream} version {b.version}: {b.problem}{detail}")
    before = f"; {unhashed:,} events from before the chains have no hash" if unhashed else ""
    if broken:
        message(f"{len(broken)} broken chains among {events:,} events{before}")
        return FAILED
    message(f"intact: {events:,} events{before}")
    return SUCCESS
