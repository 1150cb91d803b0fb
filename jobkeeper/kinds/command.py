"""`command`: runs a program the commands file allows, with real pause, resume and cancel.

Its stdout and stderr become the job's log lines (`[stdout] ...`, `[stderr] ...`); on fd 3
(JOBKEEPER_PROGRESS_FD) the program may write JSON lines with `progress` (0..1), `checkpoint`
(any JSON) and `result` (any JSON, the job's result on exit 0). A run that continues a job gets
the last checkpoint in JOBKEEPER_CHECKPOINT (JSON text). The job's own checkpoint wraps the
program's: `{"program": ..., "run_seconds": ..., "frozen": ...}`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field

import orjson
from pydantic import BaseModel, ConfigDict

from jobkeeper.domain.errors import InvalidJobError
from jobkeeper.kinds.commands import Command, CommandParamsError
from jobkeeper.kinds.frozen import FrozenGroups
from jobkeeper.kinds.kind import JSON, Context, Halted, JobFailedError, Kind, Step
from jobkeeper.kinds.processes import Launch, Output, ProcessGroup, ProgramStartError

NAME = "command"
STEP = 0.25  # seconds between steps: how soon a stop, cancel or new checkpoint is seen
LINES_PER_STEP = 500
MAX_LINE = 4000  # characters of a log line; longer lines are cut and say how much was cut
MAX_CHECKPOINT = 64 * 1024  # bytes of a checkpoint's JSON (it travels in an environment variable)
STDERR_TAIL = 10  # stderr lines quoted in the error of a failed run
PROGRESS_FD = 3


class CommandParams(BaseModel):
    """Params of `command`: the command's name, then the params that command declares."""

    model_config = ConfigDict(extra="allow")
    command: str


@dataclass(frozen=True)
class CommandKind(Kind):
    """The `command` kind over the commands of one commands file."""

    commands: Mapping[str, Command] = field(default_factory=dict)
    frozen: FrozenGroups = field(default_factory=FrozenGroups)

    def schema(self) -> dict[str, JSON]:
        """One `oneOf` branch per allowed command, told apart by the `command` property."""
        return {
            "type": "object",
            "title": NAME,
            "description": "Choose a command; each takes its own params.",
            "oneOf": [self.commands[name].schema() for name in sorted(self.commands)],
            "discriminator": {"propertyName": "command"},
            "required": ["command"],
        }

    def validate(self, params: dict[str, JSON]) -> dict[str, JSON]:
        """Params checked against the chosen command; an unknown one names those allowed."""
        name = params.get("command") if isinstance(params, dict) else None
        allowed = ", ".join(sorted(self.commands))
        if not isinstance(name, str) or name not in self.commands:
            what = "no command given" if name is None else f"unknown command {name!r}"
            raise InvalidJobError(f"bad params for kind 'command': {what}; allowed: {allowed}")
        try:
            return self.commands[name].validate(params)
        except CommandParamsError as error:
            raise InvalidJobError(f"bad params for command {name!r}: {error}") from None


def command_kind(commands: Mapping[str, Command]) -> CommandKind:
    """The `command` kind running `commands`."""
    frozen = FrozenGroups()
    return CommandKind(
        name=NAME,
        summary="Runs a program the operator allows: " + ", ".join(sorted(commands)) + ".",
        params=CommandParams,
        run=lambda ctx: _Run(commands[ctx.params["command"]], ctx, frozen).steps(),
        halts=True,
        commands=dict(commands),
        frozen=frozen,
    )


class _Run:
    """One run of a command: start (or thaw) the program, relay it, wind it down when asked."""

    def __init__(self, command: Command, ctx: Context, frozen: FrozenGroups) -> None:
        self.command, self.ctx, self.frozen = command, ctx, frozen
        state = ctx.checkpoint if isinstance(ctx.checkpoint, dict) else {}
        self.checkpoint: JSON = state.get("program")
        self.before = float(state.get("run_seconds", 0.0))
        self.was_frozen = bool(state.get("frozen", False))
        self.progress, self.result = 0.0, None
        self.code: int | None = None
        self.started = time.monotonic()
        self.stderr: list[str] = []
        self.asked: str | None = None  # the request acted on so far
        self.asked_at = 0.0
        self.kept = False

    def state(self, frozen: bool = False) -> dict[str, JSON]:
        return {"program": self.checkpoint, "run_seconds": self.run_seconds(), "frozen": frozen}

    def run_seconds(self) -> float:
        return round(self.before + time.monotonic() - self.started, 3)

    def steps(self) -> Generator[Step, None, JSON]:
        group = self._group()
        try:
            while True:
                if self._relay(group):
                    return self._ended()
                halted = self._wind_down(group)
                if halted is not None:
                    return halted
                yield Step(self.progress, self.state())
        finally:
            if not self.kept:
                group.end()

    def _group(self) -> ProcessGroup:
        thawed = self.frozen.take(self.ctx.job_id, self.ctx.attempt)
        if thawed is not None:
            thawed.thaw()
            self.ctx.log("[jobkeeper] continued the frozen program (SIGCONT)")
            return thawed
        if self.was_frozen:
            where = "its last checkpoint" if self.checkpoint is not None else "the start"
            self.ctx.log(
                "[jobkeeper] the frozen program is not on this worker (lost with its worker, "
                f"or frozen on another); running it again from {where}"
            )
        params = self.ctx.params
        env = self.command.environment(params, os.environ)
        env["JOBKEEPER_PROGRESS_FD"] = str(PROGRESS_FD)
        env["JOBKEEPER_JOB_ID"] = str(self.ctx.job_id)
        if self.checkpoint is not None:
            env["JOBKEEPER_CHECKPOINT"] = json.dumps(self.checkpoint)
        launch = Launch(
            program=self.command.program, argv=self.command.argv(params), env=env,
            workdir=self.command.workdir, limits=dict(self.command.limits),
            grace=self.command.grace,
        )  # fmt: skip
        try:
            group = ProcessGroup(launch)
        except ProgramStartError as error:
            raise JobFailedError(str(error)) from None
        resumed = " from its checkpoint" if self.checkpoint is not None else ""
        self.ctx.log(f"[jobkeeper] started {self.command.name} (pid {group.pid}){resumed}")
        return group

    def _relay(self, group: ProcessGroup) -> bool:
        """Log what the program wrote since the last step; True once its group is gone."""
        deadline = time.monotonic() + STEP
        for _ in range(LINES_PER_STEP):
            try:
                output = group.output.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if output.stream == "gone":
                return True
            self._take(output)
        return False

    def _take(self, output: Output) -> None:
        if output.stream == "exit":
            self.code = output.code
        elif output.stream == "progress":
            self._report(output)
        else:
            text = _safe(output.data, output.cut)
            if output.stream == "stderr":
                self.stderr = [*self.stderr[-(STDERR_TAIL - 1) :], text[:200]]
            self.ctx.log(f"[{output.stream}] {text}")

    def _report(self, output: Output) -> None:
        try:
            message = orjson.loads(output.data) if not output.cut else None
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            self.ctx.log(f"[jobkeeper] ignored a progress line that is not a JSON object: "
                         f"{_safe(output.data[:200], 0)}")  # fmt: skip
            return
        if "progress" in message:
            value = message["progress"]
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.progress = min(max(float(value), 0.0), 1.0)
        if "checkpoint" in message:
            if len(orjson.dumps(message["checkpoint"])) > MAX_CHECKPOINT:
                self.ctx.log(f"[jobkeeper] ignored a checkpoint over {MAX_CHECKPOINT} bytes")
            else:
                self.checkpoint = message["checkpoint"]
        if "result" in message:
            self.result = message["result"]

    def _wind_down(self, group: ProcessGroup) -> Halted | None:
        """Act on a stop, cancel, deadline or shutdown; Halted once the program is frozen."""
        requested = self.ctx.requested
        limit = self.command.deadline
        own = requested is None and self.asked is None and limit is not None
        if own and limit is not None and self.run_seconds() >= limit:
            self.ctx.log(f"[jobkeeper] the command's deadline of {limit:g} s of running passed")
            group.terminate(self.command.grace)
            self.asked, requested = "own deadline", "own deadline"
        if requested is None or requested == self.asked:
            if (
                self.asked in ("stop", "leave")
                and self.command.stop == "checkpoint"
                and time.monotonic() - self.asked_at > self.command.stop_timeout
            ):
                self.ctx.log(f"[jobkeeper] the program did not stop within "
                             f"{self.command.stop_timeout:g} s; killing it")  # fmt: skip
                group.kill()
                self.asked_at = float("inf")
            return None
        self.asked, self.asked_at = requested, time.monotonic()
        gentle = self.command.stop == "checkpoint"
        if requested == "stop" and not gentle:
            self._drain(group)
            if group.freeze():
                self.ctx.log("[jobkeeper] froze the program's process group (SIGSTOP)")
            else:
                self.ctx.log("[jobkeeper] sent SIGSTOP; not every process was seen stopped")
            self.frozen.keep(self.ctx.job_id, self.ctx.attempt, group)
            self.kept = True
            return Halted(self.state(frozen=True))
        if requested in ("stop", "leave") and gentle:
            name = signal.Signals(self.command.stop_signal).name
            self.ctx.log(f"[jobkeeper] asked the program to stop ({name})")
            group.signal(self.command.stop_signal)
            return None
        self.ctx.log(f"[jobkeeper] ending the program's process group ({requested})")
        group.terminate(self.command.grace)
        return None

    def _drain(self, group: ProcessGroup) -> None:
        while True:
            try:
                output = group.output.get_nowait()
            except queue.Empty:
                return
            if output.stream != "gone":
                self._take(output)

    def _ended(self) -> JSON:
        """The run's end: Halted when it was asked to end, else the program's own outcome."""
        if self.asked == "own deadline":
            raise JobFailedError(
                f"deadline of {self.command.deadline:g} s of running passed; the program was ended"
            )
        if self.asked is not None:
            return Halted(self.state())
        code = self.code if self.code is not None else -1
        if code == 0:
            return {"exit_code": 0, "run_seconds": self.run_seconds(), "result": self.result}
        if code < 0 and self.code is not None:
            name = _signal_name(-code)
            raise JobFailedError(f"the program was killed by signal {name} ({-code})")
        tail = " | ".join(self.stderr) or "(nothing on stderr)"
        raise JobFailedError(f"the program exited with code {code}; last stderr lines: {tail}")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _safe(data: bytes, cut: int) -> str:
    """A line as text: invalid UTF-8 as \\xNN, control characters escaped, long lines cut."""
    text = data.decode("utf-8", errors="backslashreplace").rstrip("\r")
    text = "".join(ch if ch >= " " or ch == "\t" else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > MAX_LINE or cut:
        more = len(text) - MAX_LINE if len(text) > MAX_LINE else 0
        text = f"{text[:MAX_LINE]} [line cut: {more} characters and {cut} bytes more]"
    return text
