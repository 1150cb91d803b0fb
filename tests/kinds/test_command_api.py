"""Callers choose a command and pass its params; nothing they send becomes an option or a command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from jobkeeper.bootstrap import Runtime
from tests.conftest import fast_settings
from tests.kinds.conftest import commands_toml, wait_status

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def command_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One runtime for this module's requests (they change nothing another test reads)."""
    folder = tmp_path_factory.mktemp("command-api")
    path = folder / "commands.toml"
    path.write_text(commands_toml(folder))
    runtime = Runtime(fast_settings(folder / "data", commands=str(path)))
    runtime.start()
    yield runtime
    runtime.close(timeout=10)


def post(client: falcon.testing.TestClient, params: Any) -> falcon.testing.Result:
    return client.simulate_post("/api/v1/jobs", json={"kind": "command", "params": params})


def argv_of(runtime: Runtime, submit: Callable[..., int], **params: Any) -> list[str]:
    job = wait_status(runtime, submit("behave", what="args", **params), "succeeded", "failed")
    assert job.status.value == "succeeded", job.error
    return list(job.result["result"]["argv"])


def test_shell_syntax_reaches_the_program_as_one_literal_argument(
    command_runtime: Runtime, submit: Callable[..., int], tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    hostile = [
        f"; touch {marker}",
        f"$(touch {marker})",
        f"`touch {marker}` && touch {marker} | touch {marker}",
        f"first line\ntouch {marker}",
    ]
    for word in hostile:
        assert argv_of(command_runtime, submit, word=word) == [word]
    assert not marker.exists()


def test_a_value_in_a_template_stays_inside_its_one_argument(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    argv = argv_of(command_runtime, submit, name="--output=/etc/passwd", verbose=True)
    assert argv == ["--name=--output=/etc/passwd", "--verbose"]
    argv = argv_of(command_runtime, submit, label="x; rm -rf /", verbose=False)
    assert argv == ["--label", "x; rm -rf /"]


def test_an_environment_param_arrives_as_data(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("behave", what="args", secret="$(rm -rf /) ; echo")
    job = wait_status(command_runtime, job_id, "succeeded", "failed")
    assert job.result["result"]["env"]["BEHAVE_SECRET"] == "$(rm -rf /) ; echo"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"what": "args", "word": "--output=/etc/passwd"}, ["word", "must not begin with '-'"]),
        ({"what": "args", "label": "--output=/etc/passwd"}, ["label", "must not begin with '-'"]),
        ({"what": "args", "word": "-rf"}, ["word", "option"]),
        ({"what": "args", "word": "a\x00b"}, ["NUL"]),  # refused by the HTTP layer already
        ({"what": "args", "name": "a\x00--b"}, ["NUL"]),
        ({"what": "args; rm -rf /"}, ["what", "is not one of"]),
        ({"what": "args", "secret": "UPPER"}, ["secret", "does not match"]),
        ({"what": "args", "program": "/bin/sh"}, ["program", "not allowed"]),
        ({"what": "args", "word": "x" * 1001}, ["word", "is too long"]),
        ({"what": "args", "verbose": "yes"}, ["verbose", "is not of type 'boolean'"]),
        ({}, ["no command given", "allowed: behave, count, slow, spin, stubborn"]),
        ({"command": 7}, ["unknown command 7", "allowed: behave"]),
        ({"command": "behave\nrm"}, ["unknown command 'behave\\nrm'", "allowed: behave"]),
    ],
)
def test_bad_params_answer_400_saying_what_to_fix(
    client: falcon.testing.TestClient, params: dict[str, Any], words: list[str]
) -> None:
    response = post(client, {"command": "behave", **params} if params else {})
    assert response.status_code == 400, response.text
    for word in words:
        assert word in response.json["description"], response.json


def test_a_command_not_in_the_file_answers_400_naming_the_allowed_ones(
    client: falcon.testing.TestClient,
) -> None:
    response = post(client, {"command": "rm", "args": ["-rf", "/"]})
    assert response.status_code == 400
    assert response.json["description"] == (
        "bad params for kind 'command': unknown command 'rm'; "
        "allowed: behave, count, slow, spin, stubborn"
    )


@pytest.mark.parametrize("params", [None, [], "count", 3, {"command": None}, {"command": ["x"]}])
def test_params_of_any_shape_answer_4xx_never_500(
    client: falcon.testing.TestClient, params: Any
) -> None:
    response = client.simulate_post(
        "/api/v1/jobs", json={"kind": "command", "params": params}
    )
    assert 400 <= response.status_code < 500, response.text


def test_kinds_lists_each_allowed_command_with_its_schema(
    client: falcon.testing.TestClient,
) -> None:
    kinds = {item["name"]: item for item in client.simulate_get("/api/v1/kinds").json["items"]}
    schema = kinds["command"]["params_schema"]
    branches = {branch["title"]: branch for branch in schema["oneOf"]}
    assert sorted(branches) == ["behave", "count", "slow", "spin", "stubborn"]
    assert schema["discriminator"] == {"propertyName": "command"}
    count = branches["count"]
    assert count["properties"]["command"] == {"const": "count", "type": "string", "title": "command"}
    assert count["properties"]["steps"] == {"type": "integer", "minimum": 1, "maximum": 100000}
    assert count["required"] == ["command", "steps"]
    assert count["additionalProperties"] is False
    assert count["description"] == "Adds 1 to N, a number per step"
    assert branches["behave"]["properties"]["secret"]["pattern"] == "^[a-z ;$()|&`/-]*$"


def test_defaults_are_filled_in_and_shown_on_the_job(
    client: falcon.testing.TestClient, command_runtime: Runtime
) -> None:
    response = post(client, {"command": "count", "steps": 2})
    assert response.status_code == 201, response.text
    assert response.json["params"] == {
        "command": "count", "steps": 2, "pause": 0.05, "signal": "SIGUSR1"
    }  # fmt: skip
    wait_status(command_runtime, int(response.json["id"]), "succeeded")
