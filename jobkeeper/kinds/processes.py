"""A program's process group, run under the supervisor: start, signal, freeze, end, read.

The worker never forks the program itself: it starts `supervisor.py` (in a session of its own),
which forks the program and kills everything below it when the worker's end of the control pipe
closes. That closing is done by the kernel however the worker dies, SIGKILL included, so no
program outlives its worker, and it does not depend on which thread started it (the kernel's
parent-death signal fires when the forking *thread* exits, and job threads end with their run).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

SUPERVISOR = Path(__file__).with_name("supervisor.py")
START_TIMEOUT = 30.0
SUPERVISOR_EXIT = 60.0  # seconds a supervisor may take to exit once every pipe is closed
READ_LIMIT = 64 * 1024  # bytes read of one line; the rest up to its newline is counted, not kept
QUEUE_SIZE = 10_000  # lines waiting for the job; a program that outruns it waits on its pipe


class ProgramStartError(Exception):
    """Raised when the program cannot be executed (missing, not executable, bad directory)."""


@dataclass(frozen=True)
class Launch:
    """What to run: an absolute program path, its whole argv, environment and directory."""

    program: str
    argv: list[str]
    env: dict[str, str]
    workdir: str
    limits: dict[str, int] = field(default_factory=dict)
    grace: float = 10.0


@dataclass(frozen=True)
class Output:
    """Something the program said: a line of `stream` (stdout, stderr or progress), or its end.

    `stream` is "exit" for the program's end, with `code` (its exit code, or minus the signal
    number that ended it), and "gone" once every process of the group is gone.
    """

    stream: str
    data: bytes = b""
    cut: int = 0  # bytes of this line beyond READ_LIMIT, dropped
    code: int = 0


class ProcessGroup:
    """One program under its supervisor; what it writes arrives in `output`."""

    def __init__(self, launch: Launch) -> None:
        self.output: queue.Queue[Output] = queue.Queue(QUEUE_SIZE)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        progress_r, progress_w = os.pipe()
        status_r, status_w = os.pipe()
        control_r, self._control = os.pipe()
        config = {
            "program": launch.program, "argv": launch.argv, "workdir": launch.workdir,
            "limits": launch.limits, "grace": launch.grace,
        }  # fmt: skip
        try:
            self.supervisor = subprocess.Popen(
                [sys.executable, "-I", str(SUPERVISOR), str(status_w), str(progress_w),
                 json.dumps(config)],
                stdin=control_r, stdout=out_w, stderr=err_w, pass_fds=(status_w, progress_w),
                env=launch.env, close_fds=True, start_new_session=True,
            )  # fmt: skip
        finally:
            for fd in (control_r, out_w, err_w, progress_w, status_w):
                os.close(fd)
        self._status = os.fdopen(status_r, "rb")
        first = _read_status(self._status, START_TIMEOUT)
        if "pid" not in first:
            self.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.supervisor.wait(START_TIMEOUT)
            for fd in (out_r, err_r, progress_r):
                os.close(fd)
            raise ProgramStartError(str(first.get("error", "the supervisor did not start")))
        self.pid, self.grace = int(first["pid"]), launch.grace
        self._open = 4
        self._lock = threading.Lock()
        for name, fd in (("stdout", out_r), ("stderr", err_r), ("progress", progress_r)):
            self._reader(name, functools.partial(self._lines, name, fd))
        self._reader("status", self._statuses)

    def _reader(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._then_close(target), name=f"program-{name}")
        thread.daemon = True
        thread.start()

    def _then_close(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._open -= 1
                    last = self._open == 0
                if last:
                    self._wait_supervisor()
                    self.close()
                    self.output.put(Output("gone"))

        return run

    def _wait_supervisor(self) -> None:
        """Wait for the supervisor, which exits once it has reaped the whole group."""
        try:
            self.supervisor.wait(SUPERVISOR_EXIT)
        except subprocess.TimeoutExpired:
            log.warning("supervisor %s lingers after its program's end; killing it",
                        self.supervisor.pid)  # fmt: skip
            self.kill()
            self.supervisor.kill()
            self.supervisor.wait(SUPERVISOR_EXIT)

    def _lines(self, name: str, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            while line := stream.readline(READ_LIMIT):
                cut = 0
                while not line.endswith(b"\n"):
                    rest = stream.readline(READ_LIMIT)
                    if not rest:
                        break
                    cut += len(rest)
                    if rest.endswith(b"\n"):
                        cut -= 1
                        break
                self.output.put(Output(name, line.rstrip(b"\n"), cut))

    def _statuses(self) -> None:
        with self._status:
            for raw in self._status:
                message = json.loads(raw)
                if "exit" in message:
                    self.output.put(Output("exit", code=int(message["exit"])))
                elif "signal" in message:
                    self.output.put(Output("exit", code=-int(message["signal"])))

    def members(self) -> list[psutil.Process]:
        """Every process below the supervisor: the program and whatever it started."""
        try:
            return list(psutil.Process(self.supervisor.pid).children(recursive=True))
        except psutil.Error:
            return []

    def signal(self, number: int) -> None:
        """Send `number` to the program's process group, and to any member that left it."""
        with contextlib.suppress(OSError):
            os.killpg(self.pid, number)
        for member in self.members():
            with contextlib.suppress(psutil.Error):
                member.send_signal(number)

    def freeze(self, timeout: float = 5.0) -> bool:
        """Stop every process of the group (SIGSTOP): no CPU until `thaw`.

        Returns once every member is seen stopped (a signal is delivered when the process is
        next scheduled), or False after `timeout` seconds.
        """
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGSTOP)
        for member in self.members():
            with contextlib.suppress(psutil.Error):
                member.suspend()
        deadline = time.monotonic() + timeout
        while not all(_stopped(member) for member in self.members()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def thaw(self) -> None:
        """Continue every process of the group (SIGCONT)."""
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGCONT)
        for member in self.members():
            with contextlib.suppress(psutil.Error):
                member.resume()

    def terminate(self, grace: float) -> None:
        """SIGTERM to every member (continued if frozen), `grace` seconds, then SIGKILL."""
        members = self.members()
        self.signal(signal.SIGTERM)
        self.signal(signal.SIGCONT)
        _, alive = psutil.wait_procs(members, timeout=grace)
        if alive or self.members():
            self.kill()

    def kill(self) -> None:
        """SIGKILL every member now."""
        self.signal(signal.SIGKILL)

    def gone(self) -> bool:
        """Whether the supervisor has exited (after every member of the group ended)."""
        return self.supervisor.poll() is not None

    def close(self) -> None:
        """Close the control pipe: the supervisor kills every member and exits."""
        with self._close_lock:
            if self._control >= 0:
                os.close(self._control)
                self._control = -1

    _close_lock = threading.Lock()

    def end(self, timeout: float = 10.0) -> None:
        """Kill every member and wait until the supervisor has reaped them all."""
        self.kill()
        self.close()
        try:
            self.supervisor.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("supervisor %s of program %s did not exit", self.supervisor.pid, self.pid)


def _stopped(member: psutil.Process) -> bool:
    try:
        return member.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def _read_status(stream: Any, timeout: float) -> dict[str, Any]:
    """The supervisor's first status line, or an error if it says nothing in time."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return {"error": f"the supervisor said nothing within {timeout:g} s"}
    raw = stream.readline()
    if not raw:
        return {"error": "the supervisor exited before starting the program"}
    message: dict[str, Any] = json.loads(raw)
    return message
