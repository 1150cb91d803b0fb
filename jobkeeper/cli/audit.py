"""`audit head` and `audit verify`: the hash chains of the event store, checked on the store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jobkeeper.cli.exits import FAILED, SUCCESS, USAGE, CliError
from jobkeeper.cli.output import Output, message

if TYPE_CHECKING:
    from jobkeeper.application.app import JobKeeper
    from jobkeeper.application.audit import Auditor, Break

DATA_HELP = "data folder (JOBKEEPER_DATA, ./jobkeeper-data); JOBKEEPER_DATABASE_URL for PostgreSQL"


@click.group(
    epilog="\b\nExamples:\n  jobkeeper audit head > heads-2030-01-01.json\n"
    "  jobkeeper audit verify --against heads-2030-01-01.json\n  jobkeeper audit verify --job 7"
)
def audit() -> None:
    """The event store's hash chains: their heads, and checks (on the store directly)."""


def _open(data: Path | None) -> tuple[JobKeeper, Auditor]:
    from jobkeeper.bootstrap import open_app, open_auditor
    from jobkeeper.cli.processes import UsageError, check_store
    from jobkeeper.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(data=data)
        if not settings.database_url and not (settings.data / "events.db").exists():
            raise CliError(f"no event store in {settings.data} (see --data)", USAGE)
        check_store(settings)
    except (SettingsError, UsageError) as error:
        raise CliError(str(error), USAGE) from None
    app = open_app(settings)
    return app, open_auditor(app, settings)


@audit.command(epilog="\b\nExit statuses: 0 printed; 2 usage")
@click.option("--data", type=click.Path(path_type=Path), help=DATA_HELP)
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
@click.option("--data", type=click.Path(path_type=Path), help=DATA_HELP)
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
            started = time.perf_counter()
            with _Bar(out, auditor.events_recorded()) as bar:
                found = auditor.verify_store(anchors, bar.advance)
            broken, events, unhashed = found.broken, found.events, found.unhashed
            seconds = max(time.perf_counter() - started, 1e-9)
            message(f"read the log in {seconds:.1f} s")
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
            detail = f" (recorded {b.recorded}, computed {b.computed})" if b.recorded else ""
            out.line(f"{b.stream} version {b.version}: {b.problem}{detail}")
    before = f"; {unhashed:,} events from before the chains have no hash" if unhashed else ""
    if broken:
        message(f"{len(broken)} broken chains among {events:,} events{before}")
        return FAILED
    message(f"intact: {events:,} events{before}")
    return SUCCESS


class _Bar:
    """A progress bar of the events read, on a terminal; nothing when piped."""

    def __init__(self, out: Output, total: int) -> None:
        self.out, self.total = out, total
        self._progress: Any = None
        self._task: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> _Bar:
        if self.out.terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            columns = (
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} events/s"),
            )
            self._progress = Progress(*columns, console=self.out.console(stderr=True))
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total, rate="-")
        return self

    def advance(self, read: int) -> None:
        if self._progress is not None:
            rate = read / max(time.perf_counter() - self._started, 1e-9)
            self._progress.update(self._task, completed=read, rate=f"{rate:,.0f}")

    def __exit__(self, *_: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
