"""`jobkeeper views rebuild` and `views verify` on the store, beside and without a running service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.projections.lock import ViewsBusyError, ViewsLock
from tests.conftest import fast_settings, wait_for_status, wait_until


def views_command(data: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBKEEPER_")}
    env |= {"JOBKEEPER_DATA": str(data), "JOBKEEPER_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "jobkeeper", "views", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def start(data: Path, database_url: str) -> Runtime:
    runtime = Runtime(fast_settings(data, database_url=database_url))
    runtime.start()
    return runtime


def run_jobs(runtime: Runtime, count: int) -> list[int]:
    ids = [
        runtime.app.submit(kind="sleep", params={"seconds": 0.1, "step": 0.05}, owner="admin",
                           by="admin").job.number
        for _ in range(count)
    ]  # fmt: skip
    for job_id in ids:
        wait_for_status(runtime, job_id, "succeeded")
    assert runtime.projector is not None
    runtime.projector.wait(int(runtime.app.recorder.max_notification_id() or 0), timeout=10)
    return ids


def test_verify_finds_rows_changed_behind_its_back(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    runtime = start(data, database_url)
    try:
        first, second = run_jobs(runtime, 2)
        agreed = views_command(data, database_url, "verify")  # beside the running service
        assert agreed.returncode == 0, agreed
        with runtime.view_store.writing() as db:
            db.execute("UPDATE {jobs} SET status = 'failed', progress = 0.5 WHERE id = ?", (first,))
            db.execute("DELETE FROM {logs} WHERE job_id = ?", (second,))
            db.execute("UPDATE {users} SET title = 'Queen' WHERE name = 'admin'")
        found = views_command(data, database_url, "verify")
    finally:
        runtime.close()
    assert found.returncode == 1, found
    lines = found.stdout.splitlines()
    assert f"jobs {first}: status is 'failed' in the views, 'succeeded' in a replay" in lines
    assert f"jobs {first}: progress is 0.5 in the views, 1.0 in a replay" in lines
    assert sum(line.endswith(": missing from the views") for line in lines) == 2  # both lines
    assert any(line.startswith("users 1: title is 'Queen'") for line in lines)
    assert len(lines) == 5, lines
    assert "Traceback" not in found.stderr


def test_rebuild_is_refused_while_a_service_keeps_the_views(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    runtime = start(data, database_url)
    try:
        run_jobs(runtime, 1)
        refused = views_command(data, database_url, "rebuild")
        assert refused.returncode == 7, refused
        assert "serve or projector" in refused.stderr and refused.stderr.count("\n") == 1
        with runtime.view_store.writing() as db:
            db.execute("UPDATE {jobs} SET status = 'failed'")
    finally:
        runtime.close()
    rebuilt = views_command(data, database_url, "rebuild")
    assert rebuilt.returncode == 0, rebuilt
    assert rebuilt.stdout.startswith("rebuilt the views from ") and "events/s" in rebuilt.stdout
    assert views_command(data, database_url, "verify").returncode == 0
    again = start(data, database_url)  # the rebuilt views are the service's views
    try:
        assert {job["status"] for job in again.views.jobs(limit=10)} == {"succeeded"}
    finally:
        again.close()


def test_a_killed_projector_no_longer_blocks_a_rebuild(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    start(data, database_url).close()  # the stores exist
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBKEEPER_")}
    env |= {"JOBKEEPER_DATA": str(data), "JOBKEEPER_DATABASE_URL": database_url}
    log = tmp_path / "projector.log"
    with log.open("wb") as out:
        projector = subprocess.Popen(
            [sys.executable, "-m", "jobkeeper", "projector"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: "running (pid" in log.read_text(), timeout=30)
        assert views_command(data, database_url, "rebuild").returncode == 7
    finally:
        os.killpg(projector.pid, signal.SIGKILL)
        projector.wait(10)
    assert views_command(data, database_url, "rebuild").returncode == 0


def test_the_lock_admits_many_keepers_or_one_rebuild(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = start(tmp_path / "data", database_url)  # holds it shared
    standby, rebuild = ViewsLock(runtime.view_store), ViewsLock(runtime.view_store)
    try:
        standby.hold(exclusive=False)  # a warm standby projector
        with pytest.raises(ViewsBusyError, match="serve or projector"):
            rebuild.hold(exclusive=True)
    finally:
        standby.release()
        runtime.close()
    rebuild.hold(exclusive=True)
    keeper = ViewsLock(runtime.view_store)
    with pytest.raises(ViewsBusyError, match="being rebuilt"):
        keeper.hold(exclusive=False)
    started: list[Runtime] = []
    starting = threading.Thread(
        target=lambda: started.append(start(tmp_path / "data", database_url))
    )
    starting.start()  # a service starting meanwhile waits for the rebuild
    try:
        wait_until(lambda: "waiting" in caplog.text, timeout=20)
        assert not started
    finally:
        rebuild.release()
    starting.join(30)
    assert started, "the service did not start after the rebuild"
    started[0].close()


def test_views_tools_refuse_a_folder_without_a_store(tmp_path: Path) -> None:
    for command in ("rebuild", "verify"):
        result = views_command(tmp_path / "nothing", "", command)
        assert result.returncode == 2 and "no event store" in result.stderr, result
