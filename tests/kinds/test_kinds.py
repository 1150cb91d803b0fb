"""Job kinds: their params, their steps, and kinds from other packages."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from jobkeeper.domain.errors import InvalidJobError
from jobkeeper.kinds import Kind, default_registry
from jobkeeper.kinds.primes import base_primes


class Ctx:
    def __init__(self, params: dict[str, Any], checkpoint: Any = None) -> None:
        self.params, self.checkpoint = params, checkpoint
        self.lines: list[str] = []

    def log(self, text: str) -> None:
        self.lines.append(text)




def finish(kind: Kind, params: dict[str, Any], checkpoint: Any = None) -> tuple[Any, int]:
    steps = kind.run(Ctx(default_registry().validate(kind.name, params), checkpoint))
    taken = 0
    while True:
        try:
            next(steps)
            taken += 1
        except StopIteration as done:
            return done.value, taken


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 10, 1000, 1001, 99_991, 200_000])
def test_primes_counts_exactly(limit: int) -> None:
    primes = default_registry().get("primes")
    result, _ = finish(primes, {"limit": limit, "chunk": 1000})
    assert result == {"count": len(base_primes(limit))}


def test_primes_resumed_from_every_checkpoint_counts_exactly() -> None:
    primes = default_registry().get("primes")
    params = default_registry().validate("primes", {"limit": 20_000, "chunk": 1000})
    steps = primes.run(Ctx(params))
    checkpoints = []
    try:
        while True:
            checkpoints.append(next(steps).checkpoint)
    except StopIteration as done:
        expected = done.value
    assert expected == {"count": 2262}
    for checkpoint in checkpoints:
        assert finish(primes, {"limit": 20_000, "chunk": 1000}, checkpoint)[0] == expected


def test_sleep_resumes_with_the_time_left() -> None:
    sleep = default_registry().get("sleep")
    result, steps = finish(sleep, {"seconds": 0.05, "step": 0.01}, checkpoint=0.03)
    assert result == {"slept": 0.05} and steps == 2


def test_fail_raises_after_its_steps() -> None:
    fail = default_registry().get("fail")
    with pytest.raises(RuntimeError, match="boom"):
        finish(fail, {"after_steps": 3, "message": "boom"})


@pytest.mark.parametrize(
    ("kind", "params", "fragment"),
    [
        ("sleep", {}, "seconds: Field required"),
        ("sleep", {"seconds": -1}, "seconds: Input should be greater than 0"),
        ("sleep", {"seconds": "soon"}, "seconds: Input should be a valid number"),
        ("primes", {"limit": 10, "chunk": 5}, "chunk: Input should be greater than or equal to 1000"),
        ("primes", {"limit": 10, "colour": "red"}, "colour: Extra inputs are not permitted"),
        ("nope", {}, "unknown kind 'nope'; known kinds: "),
    ],
)
def test_bad_params_and_unknown_kinds_say_what_is_wrong(
    kind: str, params: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InvalidJobError) as raised:
        default_registry().validate(kind, params)
    assert fragment in str(raised.value)
    if kind == "nope":
        assert {"fail", "primes", "sleep"} <= set(str(raised.value).split(": ")[1].split(", "))


def test_defaults_are_filled_in() -> None:
    assert default_registry().validate("sleep", {"seconds": 3}) == {"seconds": 3.0, "step": 1.0}


def test_schemas_describe_the_params() -> None:
    schema = default_registry().get("primes").schema()
    assert schema["required"] == ["limit"]
    assert set(schema["properties"]) == {"limit", "chunk", "delay"}


def test_kinds_from_other_packages_load_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "extra_kinds.py").write_text(
        textwrap.dedent(
            """
            from pydantic import BaseModel
            from jobkeeper.kinds import Kind, Step

            class Params(BaseModel):
                times: int = 2

            def run(ctx):
                for i in range(ctx.params["times"]):
                    yield Step(progress=(i + 1) / ctx.params["times"], checkpoint=i)
                return {"echoed": ctx.params["times"]}

            ECHO = Kind(name="echo", summary="Echoes.", params=Params, run=run)
            """
        )
    )
    dist = tmp_path / "extra_kinds-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-kinds\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[jobkeeper.kinds]\necho = extra_kinds:ECHO\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    assert finish(registry.get("echo"), {"times": 3}) == ({"echoed": 3}, 3)
    assert "echo" in {kind.name for kind in registry}
    monkeypatch.delitem(sys.modules, "extra_kinds", raising=False)
