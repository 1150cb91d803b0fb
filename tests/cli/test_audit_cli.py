"""`jobkeeper audit head` and `audit verify` on the store, SQLite and PostgreSQL: intact, a
row changed (exit 1 naming the version), a chain rewritten caught with --against, and the
head file's own faults refused with a usage status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobkeeper.application import chain
from jobkeeper.bootstrap import open_app
from jobkeeper.settings import Settings
from tests.tampering import Rows


def audit(data: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBKEEPER_")}
    env |= {
        "JOBKEEPER_DATA": str(data), "JOBKEEPER_DATABASE_URL": database_url,
        "JOBKEEPER_AUDIT_KEY": "the key", "NO_COLOR": "1",
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "jobkeeper", "audit", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> tuple[Path, str, int]:
    """A store with one finished job of a few checkpoints; its data folder, URL and job id."""
    data = tmp_path / "data"
    data.mkdir()
    app = open_app(Settings(data=data, database_url=database_url))
    try:
        app.create_user(name="alice", by="system")
        job_id = app.submit(
            kind="sleep", params={"seconds": 1}, owner="alice", by="alice"
        ).job.number
        app.start(job_id, "run", "worker")
        for step in range(4):
            app.report(job_id, "run", step / 4, {"step": step}, ())
        app.succeed(job_id, "run", {}, ())
    finally:
        app.close()
    return data, database_url, job_id


def test_an_intact_store_verifies_and_its_heads_are_signed(store: tuple[Path, str, int]) -> None:
    data, url, job_id = store
    heads = audit(data, url, "head")
    assert heads.returncode == 0, heads.stderr
    document = json.loads(heads.stdout)
    assert {h["stream"] for h in document["heads"]} == {f"job-{job_id}", "user-alice"}
    assert len(document["signature"]) == 64
    whole = audit(data, url, "verify")
    assert whole.returncode == 0, whole.stderr
    assert "intact: 8 events" in whole.stderr  # the job's 7 and alice's 1
    one = audit(data, url, "verify", "--job", str(job_id), "-o", "json")
    assert json.loads(one.stdout) == {"intact": True, "events": 7, "unhashed": 0, "broken": []}


def test_a_changed_row_exits_1_naming_its_version(store: tuple[Path, str, int]) -> None:
    data, url, job_id = store
    rows = Rows(Settings(data=data, database_url=url).store_env())
    stream = f"job-{job_id}"
    state = rows.state(stream, 4)
    state["checkpoint"] = {"step": 40}
    rows.set_state(stream, 4, state)
    for args in ((), ("--job", str(job_id))):
        result = audit(data, url, "verify", *args)
        assert result.returncode == 1, (result.stdout, result.stderr)
        assert f"{stream} version 4: its content differs from its hash" in result.stdout
        assert "1 broken chains" in result.stderr and "Traceback" not in result.stderr


def test_a_rewritten_chain_is_caught_with_a_head_file_kept_earlier(
    store: tuple[Path, str, int], tmp_path: Path
) -> None:
    data, url, job_id = store
    kept = tmp_path / "heads.json"
    kept.write_text(audit(data, url, "head").stdout)
    rows = Rows(Settings(data=data, database_url=url).store_env())
    stream = f"job-{job_id}"
    state = rows.state(stream, 7)  # the last event, its hash made anew as one who knows how
    state["result"] = {"forged": True}
    rows.reseal(stream, 7, state, state[chain.PREV])
    assert audit(data, url, "verify").returncode == 0  # consistent with itself
    result = audit(data, url, "verify", "--against", str(kept))
    assert result.returncode == 1
    assert f"{stream} version 7: the chain differs from the head kept earlier" in result.stdout
    job = audit(data, url, "verify", "--job", str(job_id), "--against", str(kept))
    assert job.returncode == 1 and "rewritten" in job.stdout


def test_a_head_file_that_was_changed_or_is_not_one_is_refused(
    store: tuple[Path, str, int], tmp_path: Path
) -> None:
    data, url, _ = store
    document = json.loads(audit(data, url, "head").stdout)
    document["heads"][0]["version"] += 1
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    nonsense = tmp_path / "nonsense.json"
    nonsense.write_text("[1, 2")
    for path, words in ((changed, "digest does not match"), (nonsense, "not JSON")):
        result = audit(data, url, "verify", "--against", str(path))
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    missing = audit(data, url, "verify", "--job", "999")
    assert missing.returncode == 2 and "999" in missing.stderr
