"""Runs one program of the `command` kind, and ends it with everything it started.

Started by the worker as `python -I supervisor.py STATUS_FD PROGRESS_FD CONFIG` with the
program's environment, its stdout and stderr, and a control pipe as stdin. It forks the program
into a session (and process group) of its own, with /dev/null as stdin, the progress pipe as
fd 3, no other descriptors, the resource limits applied, and the kernel's parent-death signal
set (the supervisor is single-threaded, so the signal is tied to this process's lifetime).
It becomes the child subreaper, so whatever the program forks stays below it even after the
program exits. On the status pipe it writes one JSON line `{"pid": N}` (or `{"error": ...}`
when the program cannot be executed), then `{"exit": code}` or `{"signal": number}`.

When the control pipe reaches end of file, the worker is gone (however it died: the kernel
closes its descriptors), so the supervisor kills every process below it and exits. When the
program exits by itself, processes it left behind get SIGTERM, `grace` seconds, then SIGKILL.

This file runs outside the package (only the standard library and psutil), so it starts fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import select
import signal
import sys
from typing import Any

import psutil

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PROGRESS_FD = 3
LIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "memory": resource.RLIMIT_AS,
    "files": resource.RLIMIT_NOFILE,
}


def main(argv: list[str]) -> int:
    status = _high(int(argv[1]))
    progress = _high(int(argv[2]))
    config: dict[str, Any] = json.loads(argv[3])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    check_read, check_write = os.pipe()
    check_write = _high(check_write)
    pid = os.fork()
    if pid == 0:
        _child(config, progress, check_write, libc)
    os.close(check_write)
    os.close(progress)
    failure = _read_all(check_read)
    if failure:
        os.waitpid(pid, 0)
        _report(status, {"error": failure})
        return 0
    _report(status, {"pid": pid})
    return _watch(pid, status, float(config.get("grace", 10)))


def _high(fd: int) -> int:
    """`fd` moved to 10 or above (closed on exec), out of the way of the program's 0 to 3."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def _child(config: dict[str, Any], progress: int, check: int, libc: Any) -> None:
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.setsid()
        for name, value in config.get("limits", {}).items():
            resource.setrlimit(LIMITS[name], (int(value), int(value)))
        os.chdir(config["workdir"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(progress, PROGRESS_FD)
        os.closerange(PROGRESS_FD + 1, check)
        os.closerange(check + 1, os.sysconf("SC_OPEN_MAX"))
        for number in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        os.execve(config["program"], config["argv"], os.environ)
    except OSError as error:
        os.write(check, f"cannot run {config['program']}: {error.strerror or error}".encode())
    except Exception as error:
        os.write(check, f"cannot run {config['program']}: {error}".encode())
    os._exit(127)


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def _report(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def _watch(pid: int, status: int, grace: float) -> int:
    program = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([0, program], [], [])
        if program in ready:
            _, code = os.waitpid(pid, 0)
            if os.WIFSIGNALED(code):
                _report(status, {"signal": os.WTERMSIG(code)})
            else:
                _report(status, {"exit": os.WEXITSTATUS(code)})
            _end_all(pid, grace)
            return 0
        if not os.read(0, 512):  # the worker is gone
            _end_all(pid, 0)
            return 0


def _end_all(pid: int, grace: float) -> None:
    """End every process below this one: SIGTERM, `grace` seconds, SIGKILL; reap them all."""
    while below := psutil.Process().children(recursive=True):
        for number in (signal.SIGTERM, signal.SIGCONT) if grace > 0 else (signal.SIGKILL,):
            _signal_all(pid, below, number)
        _, alive = psutil.wait_procs(below, timeout=grace if grace > 0 else 1)
        if alive:
            _signal_all(pid, alive, signal.SIGKILL)
            psutil.wait_procs(alive, timeout=5)
        grace = 0
    _reap()


def _signal_all(pid: int, processes: list[psutil.Process], number: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, number)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(number)


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
