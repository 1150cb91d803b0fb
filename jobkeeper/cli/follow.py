"""Following jobs: `logs` (and `-f`), `watch` with a live progress bar, and `wait` for scripts."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from jobkeeper.cli.exits import BY_STATUS, HELP, SUCCESS, TIMEOUT, USAGE, CliError
from jobkeeper.cli.output import Output, message, progress
from jobkeeper.cli.session import Session, client_command

if TYPE_CHECKING:
    from jobkeeper.cli.client import Api

ENDED = ("succeeded", "failed", "cancelled")
POLL = (0.1, 1.0)  # first and longest pause between looks at a job


@click.command(
    epilog="\b\nExamples:\n  jobkeeper logs 7\n  jobkeeper logs 7 -f --tail 20\n"
    "  jobkeeper logs --all -o json"
)
@click.argument("job_id", metavar="ID", type=int, required=False)
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines until the job ends")
@click.option("--tail", type=click.IntRange(0), metavar="N", help="start with the last N lines")
@click.option("--all", "every", is_flag=True, help="every job's lines, oldest first")
@client_command
def logs(session: Session, job_id: int | None, follow: bool, tail: int | None, every: bool) -> int:
    """A job's log lines, oldest first (or every job's with --all)."""
    if (job_id is None) != every:
        raise CliError("give a job ID or --all (see jobkeeper logs --help)", USAGE)
    if every and follow:
        raise CliError("-f follows one job; give its ID instead of --all", USAGE)
    path = "/logs" if job_id is None else f"/jobs/{job_id}/logs"
    lines: Iterator[dict[str, Any]] = session.api.pages(path, "next_after", "after", limit=1000)
    if follow and job_id is not None:
        return _follow_logs(session, job_id, tail)
    if tail is not None:
        lines = iter(deque(lines, maxlen=tail))
    if session.out.json:
        session.out.document(list(lines))
        return SUCCESS
    for line in lines:
        _print_line(session.out, line, with_job=every)
    return SUCCESS


def _follow_logs(session: Session, job_id: int, tail: int | None) -> int:
    """Replay the job's events from its start, printing its log lines (after the first
    `skip`), until a status at or after the job's present version says it ended."""
    api = session.api
    now = api.get(f"/jobs/{job_id}")["version"]
    skip = 0
    if tail is not None:
        known = sum(1 for _ in api.pages(f"/jobs/{job_id}/logs", "next_after", "after", limit=1000))
        skip = max(0, known - tail)
    for event_id, event, data in api.events(job_id, last_id="0"):
        if event == "log" and data["line"] > skip:
            if session.out.json:
                session.out.json_line(data)
            else:
                _print_line(session.out, data, with_job=False)
        elif event == "status" and data["status"] in ENDED and int(event_id or 0) >= now:
            message(f"job {job_id} {data['status']}")
            return SUCCESS
    return SUCCESS


def _print_line(out: Output, line: dict[str, Any], *, with_job: bool) -> None:
    prefix = f"{line['job_id']}\t" if with_job else ""
    out.line(f"{prefix}{line['at']}\t{line['text']}")


@click.command(epilog="\b\nExample:\n  jobkeeper watch 7\n\n" + HELP)
@click.argument("job_id", metavar="ID", type=int)
@client_command
def watch(session: Session, job_id: int) -> int:
    """Show a job's status, progress and last log line live until it ends or stops.

    Ctrl-C stops watching and leaves the job alone. Exits by how the job ended.
    """
    job = watch_job(session, job_id)
    return BY_STATUS[job["status"]]


def watch_job(session: Session, job_id: int) -> dict[str, Any]:
    """Follow the job's stream until it ends or stops; returns the job as it then is."""
    events = session.api.events(job_id)
    if session.out.json:
        job: dict[str, Any] = {}
        for _, event, data in events:
            session.out.json_line({"event": event, "data": data})
            if event == "status":
                job = data
                if job["status"] in BY_STATUS:
                    return job
        return job
    if session.out.terminal:
        return _watch_bar(session, job_id, events)
    return _watch_plain(session, job_id, events)


def _watch_plain(session: Session, job_id: int, events: Iterator[Any]) -> dict[str, Any]:
    job: dict[str, Any] = {}
    for _, event, data in events:
        if event == "status":
            job = data
            session.out.line(f"status\t{job['status']}\t{progress(job)}")
            if job["status"] in BY_STATUS:
                break
        elif event == "progress":
            session.out.line(f"progress\t{progress(data)}")
        elif event == "log":
            session.out.line(f"log\t{data['text']}")
    message(f"job {job_id} {job.get('status', 'gone')}")
    return job


def _watch_bar(session: Session, job_id: int, events: Iterator[Any]) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    columns = (
        TextColumn("job {task.fields[job]} [bold]{task.fields[status]:<10}[/]"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[line]}", style="dim"),
    )
    job: dict[str, Any] = {}
    with Progress(*columns, console=session.out.console(), transient=False) as bar:
        task = bar.add_task("", total=1.0, job=job_id, status="", line="")
        for _, event, data in events:
            if event == "status":
                job = data
                bar.update(task, completed=job["progress"], status=job["status"])
                if job["status"] in BY_STATUS:
                    break
            elif event == "progress":
                bar.update(task, completed=data["progress"])
            elif event == "log":
                bar.update(task, line=data["text"][:80])
    message(f"job {job_id} {job.get('status', 'gone')}")
    return job


@click.command(
    epilog="\b\nExamples:\n  jobkeeper wait 7 8 --timeout 600 && echo all done\n"
    "  jobkeeper wait 7; echo $?\n\n" + HELP
)
@click.argument("job_ids", metavar="ID...", type=int, nargs=-1, required=True)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    metavar="S",
    help="give up after S seconds (exit 124)",
)
@client_command
def wait(session: Session, job_ids: tuple[int, ...], timeout: float | None) -> int:
    """Wait until every job has ended or stopped.

    Exits 0 when all succeeded, else by the first job (in the order given) that did not:
    1 failed, 3 cancelled, 4 stopped; 124 when the timeout passed first.
    """
    jobs, code = wait_jobs(session.api, job_ids, timeout)
    if session.out.json:
        session.out.document(jobs)
    else:
        for job in jobs:
            session.out.line(f"{job['id']}\t{job['status']}")
    if code == TIMEOUT:
        message(f"timed out after {timeout:g} s")
    return code


def wait_jobs(api: Api, job_ids: tuple[int, ...], timeout: float | None) -> tuple[list[Any], int]:
    """The jobs once they have all ended or stopped (or as they were at the timeout), and the
    exit status that tells."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[int, dict[str, Any]] = {}
    pending = list(dict.fromkeys(job_ids))
    pause = POLL[0]
    while True:
        for job_id in list(pending):
            seen[job_id] = api.get(f"/jobs/{job_id}")
            if seen[job_id]["status"] in BY_STATUS:
                pending.remove(job_id)
        jobs = [seen[job_id] for job_id in dict.fromkeys(job_ids)]
        if not pending:
            return jobs, next((BY_STATUS[j["status"]] for j in jobs if BY_STATUS[j["status"]]), 0)
        if deadline is not None and time.monotonic() >= deadline:
            return jobs, TIMEOUT
        left = POLL[1] if deadline is None else max(0.0, deadline - time.monotonic())
        time.sleep(min(pause, left))
        pause = min(POLL[1], pause * 2)


COMMANDS = [logs, watch, wait]
