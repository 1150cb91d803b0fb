"""Operators: the admin made on the first start, and `jobkeeper users` on the store directly."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from jobkeeper.bootstrap import ADMIN_TOKEN_FILE, Runtime, open_app
from jobkeeper.settings import Settings


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobkeeper", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_first_start_makes_admin_and_its_token_once(tmp_path: Path) -> None:
    first = Runtime(Settings(data=tmp_path))
    first.start()
    token = first.admin_token
    first.close()
    assert token is not None
    path = tmp_path / ADMIN_TOKEN_FILE
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Runtime(Settings(data=tmp_path))
    again.start()
    assert again.admin_token is None  # shown once
    user = again.app.authenticate(token)
    again.close()
    assert user is not None and user.name == "admin" and user.role == "admin"


def test_a_chosen_admin_token_is_the_admins(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data=tmp_path, admin_token="let-me-in-0123456789"))
    runtime.start()
    try:
        assert runtime.admin_token is None and not (tmp_path / ADMIN_TOKEN_FILE).exists()
        admin = runtime.app.authenticate("let-me-in-0123456789")
        assert admin is not None and admin.name == "admin"
        assert runtime.app.authenticate("let-me-in-012345678") is None
    finally:
        runtime.close()


def test_users_add_and_token_work_on_the_store(tmp_path: Path) -> None:
    added = run_cli("users", "--data", str(tmp_path), "add", "ada", "--admin", "--title", "Countess")
    assert added.returncode == 0, added.stderr
    first = added.stdout.split()[-1]
    issued = run_cli("users", "--data", str(tmp_path), "token", "ada", "--label", "ci")
    assert issued.returncode == 0, issued.stderr
    second = issued.stdout.split()[-1]
    app = open_app(Settings(data=tmp_path))
    try:
        for token in (first, second):
            user = app.authenticate(token)
            assert user is not None and (user.name, user.role, user.title) == ("ada", "admin", "Countess")
    finally:
        app.close()


def test_users_errors_are_one_line(tmp_path: Path) -> None:
    for args in (("token", "nobody"), ("add", "no spaces please")):
        result = run_cli("users", "--data", str(tmp_path), *args)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unreachable_services_stop_the_start_with_one_line(tmp_path: Path) -> None:
    cases = [
        {"JOBKEEPER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"},
        {"JOBKEEPER_REDIS_URL": "redis://127.0.0.1:1/0"},
    ]
    for env in cases:
        result = run_cli("serve", "--port", "0", "--data", str(tmp_path), env=env)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("jobkeeper: cannot reach"), result.stderr
        assert result.stderr.count("\n") == 1
    worker = run_cli("worker", env={"JOBKEEPER_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert worker.returncode == 2 and "cannot reach the broker" in worker.stderr


def test_users_store_flag_works_on_the_store_the_environment_names(tmp_path: Path) -> None:
    added = run_cli("users", "--store", "add", "grace", env={"JOBKEEPER_DATA": str(tmp_path)})
    assert added.returncode == 0, added.stderr
    app = open_app(Settings(data=tmp_path))
    try:
        user = app.authenticate(added.stdout.split()[-1])
        assert user is not None and user.name == "grace"
    finally:
        app.close()
