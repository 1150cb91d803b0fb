"""Process groups under their supervisor, and the frozen programs a worker keeps."""

from __future__ import annotations

import queue
import sys
from pathlib import Path

import psutil
import pytest

from jobkeeper.kinds.frozen import FrozenGroups
from jobkeeper.kinds.processes import Launch, Output, ProcessGroup, ProgramStartError
from tests.conftest import wait_until
from tests.kinds.conftest import PROGRAMS, alive

pytestmark = pytest.mark.timeout(60)


def launch(*args: str, program: str = sys.executable, workdir: str = "/") -> Launch:
    return Launch(program=program, argv=[program, *args], env={}, workdir=workdir, grace=1)


def outputs(group: ProcessGroup) -> list[Output]:
    seen: list[Output] = []
    while not seen or seen[-1].stream != "gone":
        try:
            seen.append(group.output.get(timeout=20))
        except queue.Empty:
            raise AssertionError(f"the group did not end: {seen}") from None
    return seen


@pytest.mark.parametrize(
    ("program", "workdir", "message"),
    [
        ("/no/such/program", "/", "cannot run /no/such/program: No such file or directory"),
        ("NOT-EXECUTABLE", "/", "cannot run .*not-executable: Permission denied"),
        (sys.executable, "/no/such/folder", "No such file or directory"),
    ],
)
def test_a_program_that_cannot_run_is_refused_with_the_reason(
    program: str, workdir: str, message: str, tmp_path: Path
) -> None:
    if program == "NOT-EXECUTABLE":
        program = str(tmp_path / "not-executable")
        Path(program).write_text("#!/bin/sh\n")
        Path(program).chmod(0o644)
    with pytest.raises(ProgramStartError, match=message):
        ProcessGroup(launch(program=program, workdir=workdir))


def test_output_arrives_by_stream_then_the_exit_code_then_the_end() -> None:
    group = ProcessGroup(launch("-c", "import sys; print('out'); print('err', file=sys.stderr); "
                                "import os; os.write(3, b'{}\\n'); sys.exit(4)"))  # fmt: skip
    seen = outputs(group)
    streams = {(o.stream, o.data) for o in seen if o.stream in ("stdout", "stderr", "progress")}
    assert streams == {("stdout", b"out"), ("stderr", b"err"), ("progress", b"{}")}
    assert [o.code for o in seen if o.stream == "exit"] == [4]
    assert group.gone()


def test_a_kept_frozen_program_is_ended_once_its_job_moved_on(tmp_path: Path) -> None:
    group = ProcessGroup(launch(str(PROGRAMS / "spin.py")))
    assert group.freeze()
    assert psutil.Process(group.pid).status() == psutil.STATUS_STOPPED
    frozen = FrozenGroups()
    frozen.keep(7, 1, group)
    assert frozen.sweep(lambda job_id: ("stopped", 1)) == []
    assert frozen.sweep(lambda job_id: ("running", 1)) == []  # once may be a resume starting here
    assert frozen.sweep(lambda job_id: ("running", 1)) == [7]
    assert alive([group.pid]) == [] and frozen.jobs() == []


def test_taking_a_frozen_program_of_another_attempt_ends_it() -> None:
    group = ProcessGroup(launch(str(PROGRAMS / "spin.py")))
    group.freeze()
    frozen = FrozenGroups()
    frozen.keep(7, 1, group)
    assert frozen.take(7, 2) is None  # restarted: a new attempt starts from scratch
    wait_until(lambda: alive([group.pid]) == [], 10)


def test_closing_the_control_pipe_kills_the_whole_group_even_frozen() -> None:
    group = ProcessGroup(launch(str(PROGRAMS / "stubborn.py")))
    family = wait_until(lambda: [m.pid for m in group.members()] if len(group.members()) == 4
                        else None, 20)  # fmt: skip
    group.freeze()
    group.close()  # what the kernel does when the worker dies
    wait_until(lambda: alive(family) == [] and group.gone(), 20)
