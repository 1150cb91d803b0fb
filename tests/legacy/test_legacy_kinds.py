"""The older service's five job types as kinds: their duration rules, progress, log lines and resume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from jobkeeper.domain.errors import InvalidJobError
from jobkeeper.kinds.legacy import KINDS, LEGACY_TYPES
from jobkeeper.kinds.registry import default_registry


@dataclass
class Context:
    """What a kind sees while it runs, without a runtime."""

    params: dict[str, Any]
    checkpoint: Any = None
    lines: list[str] = field(default_factory=list)

    def log(self, text: str) -> None:
        self.lines.append(text)


def run(params: dict[str, Any], checkpoint: Any = None) -> tuple[list[Any], Any, list[str]]:
    """Run the first legacy kind to its end: its steps, its result and its log lines."""
    ctx = Context(default_registry().validate(KINDS[0].name, params), checkpoint)
    steps, generator = [], KINDS[0].run(ctx)
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as end:
            return steps, end.value, ctx.lines


def test_every_legacy_type_is_a_registered_kind() -> None:
    names = {kind.name for kind in default_registry()}
    assert set(LEGACY_TYPES.values()) <= names


def test_a_job_runs_its_seconds_in_steps_reporting_progress_and_lines() -> None:
    params = {"start_time": "2021-10-10T10:00:00", "end_time": "2021-10-10T10:00:00.1",
              "step": 0.02}  # fmt: skip
    steps, result, lines = run(params)
    assert result == {"seconds": pytest.approx(0.1)}
    assert [s.progress for s in steps] == sorted(s.progress for s in steps)
    assert steps[-1].progress == pytest.approx(1.0) and steps[-1].checkpoint == pytest.approx(0.1)
    assert lines[0] == "Product matching: starting at 0 of 0.1 s"
    assert "% done" in lines[1] and lines[-1] == "Product matching: finished after 0.1 s"


def test_a_resumed_job_continues_from_its_checkpoint() -> None:
    params = {"start_time": "2021-10-10T10:00:00Z", "end_time": "2021-10-10T10:00:00.1Z",
              "step": 0.02}  # fmt: skip
    steps, _, lines = run(params, checkpoint=0.06)
    assert len(steps) == 2 and steps[0].progress == pytest.approx(0.8)
    assert lines[0] == "Product matching: resuming at 0.06 of 0.1 s"


@pytest.mark.parametrize(
    ("end", "words"),
    [
        ("2021-10-10T09:59:59", "before start_time"),
        ("2022-10-12T10:00:00", "at most"),
        ("10:00", "ISO-8601"),
        ("", "ISO-8601"),
    ],
)
def test_durations_that_cannot_run_are_refused(end: str, words: str) -> None:
    params = {"start_time": "2021-10-10T10:00:00", "end_time": end}
    with pytest.raises(InvalidJobError, match=words):
        default_registry().validate(KINDS[0].name, params)


def test_whole_days_count_and_a_missing_zone_means_utc() -> None:
    registry = default_registry()
    params = registry.validate(
        KINDS[0].name,
        {"start_time": "2021-10-10T10:00:00", "end_time": "2021-10-12T12:00:00+02:00"},
    )
    assert params["start_time"] == "2021-10-10T10:00:00Z"
    assert params["end_time"] == "2021-10-12T10:00:00Z"
    assert KINDS[0].params.model_validate(params).seconds == 2 * 24 * 3600  # type: ignore[attr-defined]
