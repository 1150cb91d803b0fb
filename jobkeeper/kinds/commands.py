"""The commands file: the programs the `command` kind may run, and how params become arguments.

The operator writes it (TOML, its path in JOBKEEPER_COMMANDS); callers only choose a command by
name and pass the params it declares. A param becomes exactly one argument (`arg`, a template
with one `{}`), a flag and its value (`flag`), a positional argument (`positional`), or an
environment variable (`env`). A value standing alone as an argument may not begin with "-", so
it can never be read as an option; no value may hold a NUL; no shell is ever involved.
"""

from __future__ import annotations

import os
import re
import signal
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PARAM = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Never handed to a program, whatever the allowlist says: jobkeeper's own settings (its admin
# token, database and broker URLs) and the event store's connection settings.
SECRET_PREFIXES = ("JOBKEEPER_", "POSTGRES_", "SQLITE_", "PERSISTENCE_", "DRAMATIQ_")
TYPES = ("string", "integer", "number", "boolean")
MAX_STRING = 4096
STOP_MODES = ("checkpoint", "freeze")
COMMAND_KEYS = {
    "program", "args", "summary", "params", "workdir", "env", "env_allow", "deadline", "stop",
    "stop_signal", "stop_timeout", "grace", "limits",
}  # fmt: skip
PARAM_KEYS = {"schema", "required", "arg", "flag", "positional", "env", "description"}
LIMIT_KEYS = ("cpu", "memory", "files")


class CommandsFileError(ValueError):
    """Raised when the commands file cannot be used; the message names the line and field."""


class CommandParamsError(ValueError):
    """Raised when a caller's params for a command break its schema or could inject."""


@dataclass(frozen=True)
class Param:
    """One param a caller may pass, its JSON schema, and how it reaches the program."""

    name: str
    schema: dict[str, Any]
    required: bool
    how: str  # "arg", "flag", "positional" or "env"
    target: str  # the template, the flag, or the variable's name ("" for positional)


@dataclass(frozen=True)
class Command:
    """An allowed command: what runs, with what, where, and how it is stopped."""

    name: str
    summary: str
    program: str
    args: tuple[str, ...]
    params: tuple[Param, ...]
    workdir: str
    env: Mapping[str, str]
    env_allow: tuple[str, ...]
    deadline: float | None
    stop: str
    stop_signal: int
    stop_timeout: float
    grace: float
    limits: Mapping[str, int]

    def schema(self) -> dict[str, Any]:
        """The JSON schema of this command's params, `command` included."""
        properties: dict[str, Any] = {
            "command": {"const": self.name, "type": "string", "title": "command"}
        }
        properties.update({param.name: param.schema for param in self.params})
        required = ["command", *(p.name for p in self.params if p.required)]
        return {
            "title": self.name,
            "description": self.summary,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` checked against the schema and the injection rules, defaults filled in."""
        errors = sorted(Draft202012Validator(self.schema()).iter_errors(params), key=str)
        if errors:
            raise CommandParamsError("; ".join(_describe(error) for error in errors[:5]))
        checked = dict(params)
        for param in self.params:
            if param.name not in checked and "default" in param.schema:
                checked[param.name] = param.schema["default"]
            if param.name in checked:
                _check_value(param, checked[param.name])
        return checked

    def argv(self, params: Mapping[str, Any]) -> list[str]:
        """The program's whole argument vector: its path, fixed args, then the params'."""
        argv = [self.program, *self.args]
        for param in self.params:
            if param.name not in params or param.how == "env":
                continue
            value = params[param.name]
            if param.how == "arg":
                argv.append(param.target.replace("{}", _text(value), 1))
            elif param.how == "flag" and value is True:
                argv.append(param.target)
            elif param.how == "flag" and value is not False:
                argv.extend([param.target, _text(value)])
            elif param.how == "positional":
                argv.append(_text(value))
        return argv

    def environment(self, params: Mapping[str, Any], outer: Mapping[str, str]) -> dict[str, str]:
        """The allowlisted variables of `outer`, the fixed ones, then the params'."""
        env = {name: outer[name] for name in self.env_allow if name in outer}
        env.update(self.env)
        for param in self.params:
            if param.how == "env" and param.name in params:
                env[param.target] = _text(params[param.name])
        return env


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_value(param: Param, value: Any) -> None:
    text = _text(value)
    if "\x00" in text:
        raise CommandParamsError(f"{param.name}: must not contain a NUL character")
    alone = param.how in ("flag", "positional") or param.target.startswith("{}")
    if alone and text.startswith("-") and not isinstance(value, bool):
        raise CommandParamsError(
            f"{param.name}: must not begin with '-' (it would read as an option)"
        )


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "params"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message} (allowed: the params the command declares)"
    return f"{where}: {error.message}"


def load(path: Path) -> dict[str, Command]:
    """The commands of the file at `path`, or CommandsFileError naming the line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandsFileError(f"cannot read the commands file {str(path)!r}: {error}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CommandsFileError(f"{path}: not valid TOML: {error}") from None
    return _Loader(path, text).commands(document)


class _Loader:
    """Checks each command table, naming the line of a field that is wrong."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def fail(self, table: str, key: str, problem: str) -> CommandsFileError:
        line = self._line(table, key)
        where = f"{self.path}, line {line}" if line else str(self.path)
        field = f"{table}.{key}" if key else table
        return CommandsFileError(f"{where}: {field}: {problem}")

    def _line(self, table: str, key: str) -> int | None:
        """The line of `key` in `[table]` (or of the header), by a plain reading of the text."""
        parts = table.split(".")
        header = re.compile(
            r"^\s*\[+\s*" + r"\s*\.\s*".join(rf"(\"{re.escape(p)}\"|{re.escape(p)})" for p in parts)
            + r"\s*\]+"
        )  # fmt: skip
        key_line = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
        found: int | None = None
        for number, line in enumerate(self.lines, 1):
            if found is None and header.match(line):
                found = number
                if not key:
                    return number
            elif found is not None and line.lstrip().startswith("["):
                break
            elif found is not None and key_line.match(line):
                return number
        return found

    def commands(self, document: dict[str, Any]) -> dict[str, Command]:
        unknown = sorted(set(document) - {"commands"})
        if unknown:
            raise self.fail(unknown[0], "", "unknown table; the file holds [commands.NAME] tables")
        tables = document.get("commands", {})
        if not isinstance(tables, dict) or not tables:
            raise CommandsFileError(f"{self.path}: no [commands.NAME] table: nothing may run")
        return {name: self.command(name, table) for name, table in tables.items()}

    def command(self, name: str, table: Any) -> Command:
        where = f"commands.{name}"
        if not NAME.match(name):
            raise self.fail(where, "", "a name is 1 to 64 of a-z, 0-9, '.', '_', '-'")
        if not isinstance(table, dict):
            raise self.fail(where, "", "must be a table")
        unknown = sorted(set(table) - COMMAND_KEYS)
        if unknown:
            raise self.fail(
                where, unknown[0], f"unknown field; known: {', '.join(sorted(COMMAND_KEYS))}"
            )
        stop = table.get("stop", "checkpoint")
        if stop not in STOP_MODES:
            raise self.fail(where, "stop", f"must be one of {', '.join(STOP_MODES)}")
        return Command(
            name=name,
            summary=self.string(where, "summary", table.get("summary", f"Runs {name}.")),
            program=self.program(where, table.get("program")),
            args=self.strings(where, "args", table.get("args", [])),
            params=tuple(self.params(where, table.get("params", {}))),
            workdir=self.folder(where, table.get("workdir", "/")),
            env=self.env(where, table.get("env", {})),
            env_allow=self.allow(where, table.get("env_allow", [])),
            deadline=self.seconds(where, "deadline", table.get("deadline"), None),
            stop=stop,
            stop_signal=self.signal(where, table.get("stop_signal", "SIGTERM")),
            stop_timeout=self.seconds(where, "stop_timeout", table.get("stop_timeout"), 30.0) or 0,
            grace=self.seconds(where, "grace", table.get("grace"), 10.0) or 0,
            limits=self.limits(where, table.get("limits", {})),
        )

    def string(self, where: str, key: str, value: Any) -> str:
        if not isinstance(value, str) or "\x00" in value:
            raise self.fail(where, key, "must be a string without NUL")
        return value

    def program(self, where: str, value: Any) -> str:
        if value is None:
            raise self.fail(where, "", "needs a program (an absolute path)")
        path = self.string(where, "program", value)
        if not os.path.isabs(path):
            raise self.fail(where, "program", f"{path!r} is not an absolute path")
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise self.fail(where, "program", f"{path!r} is not an executable file")
        return path

    def folder(self, where: str, value: Any) -> str:
        path = self.string(where, "workdir", value)
        if not os.path.isabs(path) or not os.path.isdir(path):
            raise self.fail(where, "workdir", f"{path!r} is not an absolute path of a folder")
        return path

    def strings(self, where: str, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, key, "must be a list of strings")
        return tuple(self.string(where, key, item) for item in value)

    def env(self, where: str, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(where, "env", 'must be a table of NAME = "value"')
        for name, text in value.items():
            self.variable(where, "env", name)
            self.string(where, "env", text)
        return dict(value)

    def allow(self, where: str, value: Any) -> tuple[str, ...]:
        names = self.strings(where, "env_allow", value)
        for name in names:
            self.variable(where, "env_allow", name)
        return names

    def variable(self, where: str, key: str, name: str) -> None:
        if not ENV_NAME.match(name):
            raise self.fail(where, key, f"{name!r} is not an environment variable name")
        if name.upper().startswith(SECRET_PREFIXES):
            raise self.fail(where, key, f"{name} is jobkeeper's own and never given to programs")

    def seconds(self, where: str, key: str, value: Any, default: float | None) -> float | None:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(where, key, "must be a number of seconds above 0")
        return float(value)

    def signal(self, where: str, value: Any) -> int:
        name = self.string(where, "stop_signal", value).upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        number = getattr(signal.Signals, name, None) if name in signal.Signals.__members__ else None
        if number is None or number in (signal.SIGKILL, signal.SIGSTOP):
            raise self.fail(where, "stop_signal", f"{value!r} is not a signal a program can catch")
        return int(number)

    def limits(self, where: str, value: Any) -> dict[str, int]:
        if not isinstance(value, dict):
            raise self.fail(where, "limits", "must be a table: cpu, memory, files")
        for key, limit in value.items():
            if key not in LIMIT_KEYS:
                raise self.fail(
                    f"{where}.limits", key, f"unknown limit; known: {', '.join(LIMIT_KEYS)}"
                )
            if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
                raise self.fail(f"{where}.limits", key, "must be a whole number above 0")
        return dict(value)

    def params(self, where: str, value: Any) -> list[Param]:
        if not isinstance(value, dict):
            raise self.fail(where, "params", "must hold [commands.NAME.params.PARAM] tables")
        return [self.param(f"{where}.params.{name}", name, table) for name, table in value.items()]

    def param(self, where: str, name: str, table: Any) -> Param:
        if not PARAM.match(name) or name == "command":
            raise self.fail(where, "", "a param name is a-z, 0-9 and '_' (and not 'command')")
        if not isinstance(table, dict):
            raise self.fail(where, "", "must be a table")
        unknown = sorted(set(table) - PARAM_KEYS)
        if unknown:
            raise self.fail(
                where, unknown[0], f"unknown field; known: {', '.join(sorted(PARAM_KEYS))}"
            )
        schema = table.get("schema")
        if not isinstance(schema, dict) or schema.get("type") not in TYPES:
            raise self.fail(
                where, "schema", f"needs a JSON schema whose type is one of {', '.join(TYPES)}"
            )
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            raise self.fail(where, "schema", f"not a valid JSON schema: {error.message}") from None
        schema = dict(schema)
        if schema["type"] == "string":
            schema.setdefault("maxLength", MAX_STRING)
        if "description" in table:
            schema.setdefault(
                "description", self.string(where, "description", table["description"])
            )
        how = [key for key in ("arg", "flag", "positional", "env") if key in table]
        if len(how) != 1:
            raise self.fail(where, "", "needs exactly one of arg, flag, positional or env")
        target = table[how[0]]
        if how[0] == "positional":
            if target is not True:
                raise self.fail(where, "positional", "must be true")
            target = ""
        else:
            target = self.string(where, how[0], target)
        if how[0] == "arg" and target.count("{}") != 1:
            raise self.fail(where, "arg", "a template holds exactly one {} for the value")
        if how[0] == "flag" and not target.startswith("-"):
            raise self.fail(where, "flag", "a flag begins with '-'")
        if how[0] == "env":
            self.variable(where, "env", target)
        required = table.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(where, "required", "must be true or false")
        return Param(name, schema, required, how[0], target)
