"""The `jobkeeper` command: start the service's processes, drive jobs over the API, and the
operator's tools on the store. Heavy imports wait until a command runs, so `--help` is quick."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from jobkeeper.cli import accounts, audit, follow, jobs, starts, views
from jobkeeper.cli.exits import HELP, INTERRUPTED, USAGE, CliError
from jobkeeper.cli.session import client_options


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=HELP,
)
@client_options
@click.pass_context
def cli(ctx: click.Context, /, **given: str | None) -> None:
    """Runs long jobs and keeps their whole story.

    \b
    Against a local `jobkeeper serve` with its defaults the client commands need no setup;
    otherwise give --url and --token, set JOBKEEPER_URL and JOBKEEPER_TOKEN, or run
    `jobkeeper login URL` once. The client options work before the command too.
    """
    ctx.meta.update(given)


for command in (
    *starts.COMMANDS,
    *jobs.COMMANDS,
    *follow.COMMANDS,
    *accounts.COMMANDS,
    views.views,
    audit.audit,
):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `jobkeeper` command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="jobkeeper", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "jobkeeper"
        click.echo(f"{where}: {error.format_message()} (see {where} --help)", err=True)
        return USAGE
    except CliError as error:
        click.echo(f"jobkeeper: {error}", err=True)
        return error.code
    except (KeyboardInterrupt, click.Abort):
        click.echo("\ninterrupted; the jobs go on as they were", err=True)
        return INTERRUPTED
    except BrokenPipeError:
        return 0  # the reader (head, less) has what it wanted
    return int(result or 0)


__all__ = ["main"]
