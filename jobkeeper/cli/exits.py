"""Exit statuses a script can trust, and the error that carries one."""

from __future__ import annotations

SUCCESS = 0
FAILED = 1  # the job failed (wait, submit --wait, watch); views or audit verify found faults
USAGE = 2
CANCELLED = 3
STOPPED = 4
NOT_FOUND = 5
NOT_ALLOWED = 6
CONFLICT = 7
UNREACHABLE = 8
TIMEOUT = 124
INTERRUPTED = 130

BY_STATUS = {"succeeded": SUCCESS, "failed": FAILED, "cancelled": CANCELLED, "stopped": STOPPED}
"""The statuses a wait ends on, and the exit status each gives."""

HELP = """\b
Exit statuses:
  0    success (wait, submit --wait, watch: the job succeeded)
  1    the job failed; views verify found differences; audit verify found a broken chain
  2    usage error, or input the server refused (400, 422)
  3    the job was cancelled
  4    the job is stopped
  5    not found (404)
  6    not allowed: missing or wrong token (401), forbidden (403)
  7    conflict (409): the job's status forbids the command; views busy
  8    the server cannot be reached
  124  wait --timeout passed
  130  interrupted (Ctrl-C); the job is left alone"""


class CliError(Exception):
    """Raised by a command to end with a one-line message and an exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
