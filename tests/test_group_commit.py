"""Group commit on SQLite: saves that arrive together share a commit, yet succeed or fail alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from jobkeeper.bootstrap import open_app
from jobkeeper.domain.job import Job
from jobkeeper.group_commit import GroupCommitSQLiteRecorder
from jobkeeper.settings import Settings


@pytest.fixture
def recorder(tmp_path: Path) -> GroupCommitSQLiteRecorder:
    datastore = SQLiteDatastore(str(tmp_path / "events.db"), originator_id_type="text")
    recorder = GroupCommitSQLiteRecorder(datastore)
    recorder.create_table()
    return recorder


def event(originator: str, version: int) -> StoredEvent:
    return StoredEvent(originator, version, "topic", b"{}")


def save_together(
    recorder: GroupCommitSQLiteRecorder, saves: list[list[StoredEvent]]
) -> list[object]:
    """Run `saves` in threads that all queue behind one commit, so they form one group."""
    outcomes: list[object] = [None] * len(saves)

    def save(place: int) -> None:
        try:
            outcomes[place] = recorder.insert_events(saves[place])
        except IntegrityError as error:
            outcomes[place] = error

    threads = [threading.Thread(target=save, args=(n,)) for n in range(len(saves))]
    with recorder._committing:  # a commit "under way": every save queues
        for thread in threads:
            thread.start()
        while len(recorder._waiting) < len(saves):
            time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    return outcomes


def test_a_group_commits_once_and_each_save_gets_its_own_ids(
    recorder: GroupCommitSQLiteRecorder,
) -> None:
    commits = []
    original = recorder._commit
    recorder._commit = lambda group: (commits.append(len(group)), original(group))[1]  # type: ignore[method-assign]
    saves = [[event(f"job-{n}", 1), event(f"job-{n}", 2)] for n in range(1, 9)]
    outcomes = save_together(recorder, saves)
    assert commits == [8]
    ids = [list(outcome) for outcome in outcomes]  # type: ignore[call-overload]
    assert sorted(i for pair in ids for i in pair) == list(range(1, 17))
    for n, pair in enumerate(ids, start=1):
        stored = recorder.select_notifications(start=pair[0], limit=2)
        assert [(s.originator_id, s.originator_version) for s in stored] == [
            (f"job-{n}", 1),
            (f"job-{n}", 2),
        ]


def test_a_conflicting_save_fails_alone_and_leaves_nothing_behind(
    recorder: GroupCommitSQLiteRecorder,
) -> None:
    recorder.insert_events([event("job-1", 1)])
    saves = [
        [event("job-2", 1)],
        [event("job-3", 1), event("job-1", 1)],  # its second event conflicts: all of it goes
        [event("job-4", 1)],
    ]
    outcomes = save_together(recorder, saves)
    assert isinstance(outcomes[1], IntegrityError)
    assert not isinstance(outcomes[0], Exception) and not isinstance(outcomes[2], Exception)
    stored = recorder.select_notifications(start=1, limit=10)
    assert [s.originator_id for s in stored] == ["job-1", "job-2", "job-4"]
    assert recorder.select_events("job-3") == []


def test_the_service_store_commits_in_groups_under_concurrent_submits(tmp_path: Path) -> None:
    app = open_app(Settings.from_env({}, data=tmp_path))
    try:
        assert isinstance(app.recorder, GroupCommitSQLiteRecorder)
        app.ensure_user("ada")

        def submit(_: int) -> None:
            for _ in range(25):
                app.submit(kind="sleep", params={}, owner="ada", by="ada")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(submit, range(8)))  # raises what any submit raised
        jobs = [app.get_job(number) for number in range(1, 201)]
        assert all(isinstance(job, Job) and job.version == 1 for job in jobs)
        assert app.position() == 200 + 2  # the user and their number claim, then 200 jobs
    finally:
        app.close()
