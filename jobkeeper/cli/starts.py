"""`serve`, `api`, `worker` and `projector` as commands of the group: their own parser
(processes.py) reads their flags, and is imported only when one of them runs."""

from __future__ import annotations

import click

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
STARTS = {
    "serve": "Run the API, the views and the jobs in one process.",
    "api": "Serve the API only (scaled mode: jobs run in `jobkeeper worker` processes).",
    "worker": "Run jobs delivered by the broker (scaled mode; start as many as you like).",
    "projector": "Keep the list views up to date (scaled mode).",
}


def run_processes(argv: list[str]) -> int:
    """Hand `argv` to the process commands' own parser."""
    from jobkeeper.cli import processes

    try:
        return processes.main(argv)
    except SystemExit as done:  # argparse's --help and usage errors
        return int(done.code or 0) if not isinstance(done.code, str) else 2


def _start(name: str) -> click.Command:
    @click.command(
        name, context_settings=PASS_THROUGH, help=STARTS[name] + " (--help for its flags)"
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def start(args: tuple[str, ...]) -> int:
        return run_processes([name, *args])

    return start


COMMANDS = [_start(name) for name in STARTS]
