"""Jobs over the API: `submit`, `jobs`, `show`, `history`, and the commands on jobs."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from jobkeeper.cli.exits import BY_STATUS, HELP, SUCCESS, USAGE, CliError
from jobkeeper.cli.output import message, progress, when
from jobkeeper.cli.session import Session, client_command

JOB_COLUMNS = ("ID", "STATUS", "PROGRESS", "KIND", "OWNER", "NAME", "CREATED")
PAGE = 100
CHANGED_HEADER = "JobKeeper-Changed"  # "false" when a command was already in effect


def _param(raw: str) -> tuple[str, Any]:
    key, equals, value = raw.partition("=")
    if not equals or not key:
        raise CliError(f"-p {raw!r}: write key=value", USAGE)
    try:
        return key, json.loads(value)  # numbers, true/false, null, lists and objects
    except ValueError:
        return key, value


def _params_file(name: str | None) -> dict[str, Any]:
    if name is None:
        return {}
    try:
        text = sys.stdin.read() if name == "-" else open(name, encoding="utf-8").read()  # noqa: SIM115
        params = json.loads(text)
    except OSError as error:
        raise CliError(f"--params-file {name}: {error.strerror or error}", USAGE) from None
    except ValueError as error:
        raise CliError(f"--params-file {name}: not JSON ({error})", USAGE) from None
    if not isinstance(params, dict):
        raise CliError(f"--params-file {name}: must hold a JSON object", USAGE)
    return params


@click.command(
    epilog="\b\nExamples:\n  jobkeeper submit primes -p limit=10000000 -p chunk=1000000\n"
    "  echo '{\"seconds\": 5}' | jobkeeper submit sleep --params-file - --wait\n"
    "  jobkeeper submit sleep -p seconds=60 --follow\n\n" + HELP
)
@click.argument("kind")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="a parameter (VALUE read as JSON when it is, else as text); repeat it",
)
@click.option("--params-file", metavar="FILE", help="parameters as a JSON object ('-': stdin)")
@click.option("--name", help="the job's name (default: the kind)")
@click.option("--owner", metavar="USER", help="submit for this user (admins only)")
@click.option("--not-before", metavar="TIME", help="do not start before TIME (ISO-8601)")
@click.option("--deadline", metavar="TIME", help="fail the job if not done by TIME (ISO-8601)")
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="run again with the same KEY within 24 h: the same job, not a second one",
)
@click.option("--wait", "wait_", is_flag=True, help="wait for the end; exit by how it ended")
@click.option("--follow", is_flag=True, help="watch it live until the end; exit by how it ended")
@client_command
def submit(
    session: Session,
    kind: str,
    params: tuple[str, ...],
    params_file: str | None,
    name: str | None,
    owner: str | None,
    not_before: str | None,
    deadline: str | None,
    idempotency_key: str | None,
    wait_: bool,
    follow: bool,
) -> int:
    """Submit a job of KIND and print its id (the job with -o json)."""
    if wait_ and follow:
        raise CliError("choose --wait or --follow, not both", USAGE)
    values = _params_file(params_file) | dict(_param(raw) for raw in params)
    body = {
        "kind": kind,
        "params": values,
        "name": name,
        "owner": owner,
        "not_before": not_before,
        "deadline": deadline,
    }
    given = {k: v for k, v in body.items() if v is not None}
    job = session.api.post("/jobs", given, key=idempotency_key).json()
    if follow:
        message(f"job {job['id']} submitted")
        from jobkeeper.cli.follow import watch_job

        return BY_STATUS[watch_job(session, job["id"])["status"]]
    if wait_:
        from jobkeeper.cli.follow import wait_jobs

        message(f"job {job['id']} submitted; waiting")
        (job,), code = wait_jobs(session.api, (job["id"],), None)
        if not session.out.json:
            session.out.line(f"{job['id']}\t{job['status']}")
    else:
        code = SUCCESS
        if not session.out.json:
            session.out.line(str(job["id"]))
    if session.out.json:
        session.out.document(job)
    return code


@click.command(
    "jobs",
    epilog="\b\nExamples:\n  jobkeeper jobs --running\n"
    "  jobkeeper jobs --status failed --status cancelled --kind primes --all\n"
    "  jobkeeper jobs -o json | jq '.[].id'",
)
@click.option(
    "--running", "phase", flag_value="running", help="queued, running, stopping, cancelling"
)
@click.option("--finished", "phase", flag_value="finished", help="succeeded, failed, cancelled")
@click.option(
    "--status", "statuses", multiple=True, metavar="S", help="only this status; repeat it"
)
@click.option("--owner", metavar="USER", help="only this user's jobs")
@click.option("--kind", metavar="K", help="only jobs of this kind")
@click.option("-q", "--search", metavar="TEXT", help="only jobs whose name holds TEXT")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="how many (20; with --all: per page, 100)",
)
@click.option("--all", "every", is_flag=True, help="every matching job, page after page")
@client_command
def list_jobs(
    session: Session,
    phase: str | None,
    statuses: tuple[str, ...],
    owner: str | None,
    kind: str | None,
    search: str | None,
    limit: int | None,
    every: bool,
) -> int:
    """A table of jobs, newest first."""
    path = f"/jobs/{phase}" if phase else "/jobs"
    query = {"status": list(statuses) or None, "owner": owner, "kind": kind, "q": search}
    if every:
        found = list(session.api.pages(path, "next_cursor", "cursor", limit=limit or PAGE, **query))
    else:
        found = session.api.get(path, limit=limit or 20, **query)["items"]
    if session.out.json:
        session.out.document(found)
        return SUCCESS
    rows = [
        (j["id"], j["status"], progress(j), j["kind"], j["owner"], j["name"], when(j["created_at"]))
        for j in found
    ]
    session.out.table(JOB_COLUMNS, rows)
    return SUCCESS


@click.command(epilog="\b\nExamples:\n  jobkeeper show 7\n  jobkeeper show 7 --at 3 -o json")
@click.argument("job_id", metavar="ID", type=int)
@click.option(
    "--at",
    "version",
    type=click.IntRange(1),
    metavar="VERSION",
    help="the job as it was after event VERSION (see jobkeeper history ID)",
)
@client_command
def show(session: Session, job_id: int, version: int | None) -> int:
    """One job: status, progress, times, parameters, result."""
    job = session.api.get(f"/jobs/{job_id}", version=version)
    if session.out.json:
        session.out.document(job)
        return SUCCESS
    fields = (
        "id",
        "name",
        "kind",
        "owner",
        "status",
        "progress",
        "attempt",
        "params",
        "checkpoint",
        "result",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "not_before",
        "deadline",
        "version",
        "allowed_commands",
    )
    shown = {
        **job,
        "progress": progress(job),
        "allowed_commands": " ".join(job["allowed_commands"]),
    }
    session.out.table(("FIELD", "VALUE"), [(field, shown.get(field)) for field in fields])
    return SUCCESS


EXPORTS = ("ndjson", "csv")


@click.command(
    epilog="\b\nExamples:\n  jobkeeper history 7\n  jobkeeper history 7 --type StopRequested"
    " --type Stopped\n  jobkeeper history 7 --newest-first -o json\n"
    "  jobkeeper history 7 --export csv > job-7.csv"
)
@click.argument("job_id", metavar="ID", type=int)
@click.option(
    "--type", "types", multiple=True, metavar="T", help="only events of type T; repeat it"
)
@click.option("--newest-first", is_flag=True, help="the latest events first")
@click.option(
    "--export",
    type=click.Choice(EXPORTS),
    help="the whole history as the server's download (with each event's hash), streamed to "
    "stdout: ndjson (one JSON object a line) or csv",
)
@click.option("--page-size", type=click.IntRange(1, 1000), default=1000, hidden=True)
@client_command
def history(
    session: Session,
    job_id: int,
    types: tuple[str, ...],
    newest_first: bool,
    export: str | None,
    page_size: int,
) -> int:
    """Every event of a job, oldest first: version, type, when, by whom, what (paged through
    to the end)."""
    if export is not None:
        if types or newest_first:
            raise CliError(
                "--export gives the whole history: leave out --type and --newest-first", USAGE
            )
        stdout = sys.stdout.buffer
        for chunk in session.api.download(f"/jobs/{job_id}/history.{export}"):
            stdout.write(chunk)
        stdout.flush()
        return SUCCESS
    order = "desc" if newest_first else None
    path = f"/jobs/{job_id}/history"
    pages = session.api.pages(
        path, "next_after", "after", limit=page_size, type=list(types) or None, order=order
    )
    entries = list(pages)
    if session.out.json:
        session.out.document(entries)
        return SUCCESS
    rows = [(e["version"], e["type"], when(e["at"]), e["by"], e["data"]) for e in entries]
    session.out.table(("VERSION", "TYPE", "AT", "BY", "DATA"), rows)
    return SUCCESS


def _job_command(name: str, summary: str) -> click.Command:
    example = f"\b\nExamples:\n  jobkeeper {name} 7\n  jobkeeper {name} 7 8 9 -o json\n\n" + HELP

    @click.command(name, help=summary + " Prints one line per job.", epilog=example)
    @click.argument("job_ids", metavar="ID...", type=int, nargs=-1, required=True)
    @client_command
    def command(session: Session, job_ids: tuple[int, ...]) -> int:
        code, results = SUCCESS, []
        for job_id in job_ids:
            try:
                response = session.api.post(f"/jobs/{job_id}/{name}")
            except CliError as error:
                code = code or error.code
                results.append({"id": job_id, "done": False, "error": str(error)})
                message(f"job {job_id}: {error}")
                continue
            job, changed = response.json(), response.headers.get(CHANGED_HEADER) != "false"
            results.append({"id": job_id, "done": True, "changed": changed, "job": job})
            if not session.out.json:
                what = f"{name} recorded, now" if changed else "already"
                session.out.line(f"job {job_id}: {what} {job['status']}")
        if session.out.json:
            session.out.document(results)
        return code

    return command


COMMANDS = [
    submit,
    list_jobs,
    show,
    history,
    _job_command("stop", "Stop jobs: a pause that keeps their progress."),
    _job_command("resume", "Resume stopped jobs from their last checkpoint."),
    _job_command("cancel", "Cancel jobs."),
    _job_command("restart", "Restart jobs from scratch, as new attempts."),
]
