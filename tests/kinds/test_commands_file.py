"""The commands file: what the operator allows; a file with errors is refused naming line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobkeeper.kinds.commands import CommandParamsError, CommandsFileError, load

PYTHON = sys.executable


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "commands.toml"
    path.write_text(text)
    return path


GOOD = f'''
[commands.export-orders]
summary = "Exports orders"
program = "{PYTHON}"
args = ["-c", "pass"]
[commands.export-orders.params.since]
schema = {{ type = "string", pattern = "^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$" }}
arg = "--since={{}}"
required = true
[commands.export-orders.params.limit]
schema = {{ type = "integer", minimum = 1, default = 10 }}
flag = "--limit"
[commands.export-orders.params.region]
schema = {{ type = "string", enum = ["eu", "us"] }}
env = "REGION"
'''


def test_a_good_file_gives_commands_that_build_argv_and_environment(tmp_path: Path) -> None:
    command = load(write(tmp_path, GOOD))["export-orders"]
    params = command.validate({"command": "export-orders", "since": "2026-01-31", "region": "eu"})
    assert params["limit"] == 10
    assert command.argv(params) == [PYTHON, "-c", "pass", "--since=2026-01-31", "--limit", "10"]
    env = command.environment(params, {"PATH": "/bin", "JOBKEEPER_ADMIN_TOKEN": "secret"})
    assert env == {"REGION": "eu"}


def test_values_that_would_read_as_options_or_hold_nul_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace('arg = "--since={}"', "positional = true").replace(
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", ".*"
    )
    command = load(write(tmp_path, text))["export-orders"]
    for since, problem in [("--output=/etc/passwd", "begin with '-'"), ("a\x00b", "NUL")]:
        with pytest.raises(CommandParamsError, match=problem):
            command.validate({"command": "export-orders", "since": since})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("program = ", "program = 'bin/sh' #"), "line 4: commands.export-orders.program: 'bin/sh' is not an absolute path"),
        (("program = ", "program = '/no/such/program' #"), "line 4: commands.export-orders.program: '/no/such/program' is not an executable file"),
        (('args = ["-c", "pass"]', "args = 3"), "line 5: commands.export-orders.args: must be a list of strings"),
        (('arg = "--since={}"', 'arg = "--since"'), "line 8: commands.export-orders.params.since.arg: a template holds exactly one {} for the value"),
        (("type = \"integer\"", "type = \"object\""), "line 11: commands.export-orders.params.limit.schema: needs a JSON schema whose type is one of"),
        (("minimum = 1,", "minimum = \"one\","), "line 11: commands.export-orders.params.limit.schema: not a valid JSON schema"),
        (('env = "REGION"', 'env = "JOBKEEPER_ADMIN_TOKEN"'), "line 15: commands.export-orders.params.region.env: JOBKEEPER_ADMIN_TOKEN is jobkeeper's own"),
        (('summary = "Exports orders"', 'summary = "x"\nstop = "pause"'), "line 4: commands.export-orders.stop: must be one of checkpoint, freeze"),
        (('summary = "Exports orders"', 'summary = "x"\nstop_signal = "SIGKILL"'), "line 4: commands.export-orders.stop_signal: 'SIGKILL' is not a signal a program can catch"),
        (('summary = "Exports orders"', 'summary = "x"\nshell = true'), "line 4: commands.export-orders.shell: unknown field"),
        (('summary = "Exports orders"', 'summary = "x"\nenv_allow = ["DATABASE", "POSTGRES_PASSWORD"]'), "line 4: commands.export-orders.env_allow: POSTGRES_PASSWORD is jobkeeper's own"),
        (("[commands.export-orders]\n", "[commands.Export]\n"), "line 2: commands.Export: a name is 1 to 64"),
        (("required = true", "required = true\nrequired = false"), "not valid TOML: Cannot overwrite a value (at line 10, column 17)"),
    ],
)
def test_a_file_with_an_error_is_refused_naming_the_line_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(CommandsFileError) as error:
        load(path)
    assert message in str(error.value), str(error.value)
    assert str(path) in str(error.value)


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandsFileError, match="nothing may run"):
        load(write(tmp_path, "# nothing yet\n"))
    with pytest.raises(CommandsFileError, match="cannot read the commands file"):
        load(tmp_path / "missing.toml")


@pytest.mark.parametrize("command", ["serve", "worker", "api"])
def test_the_service_refuses_to_start_on_a_bad_commands_file(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, GOOD.replace("program = ", "program = 'sh' #", 1))
    env = {"PATH": "/usr/bin:/bin", "JOBKEEPER_BROKER_URL": "redis://127.0.0.1:1/0"}
    if command == "serve":
        env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [PYTHON, "-m", "jobkeeper", command, "--commands", str(path)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode != 0
    assert "line 4: commands.export-orders.program: 'sh' is not an absolute path" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
