"""Group commit on SQLite: saves that arrive together share a commit, yet succeed or fail alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from jobkeeper.bootstrap import open_app
from jobkeeper.projections.projector import VIEWS
from jobkeeper.projections.store import open_view_store
from jobkeeper.settings import Settings
from jobkeeper.stores.sqlite import GroupCommitSQLiteRecorder


@pytest.fixture
def recorder(tmp_path: Path) -> GroupCommitSQLiteRecorder:
    datastore = SQLiteDatastore(str(tmp_path / "events.db"), originator_id_type="text")
    recorder = GroupCommitSQLiteRecorder(datastore)
    recorder.create_table()
    return recorder


def event(originator: str, version: int) -> StoredEvent:
    return StoredEvent(originator, version, "topic", b"{}")


def wait_for_queue(recorder: GroupCommitSQLiteRecorder, saves: int) -> None:
    deadline = time.monotonic() + 5
    while len(recorder._waiting) < saves and time.monotonic() < deadline:
        time.sleep(0.001)


@contextmanager
def commit_under_way(recorder: GroupCommitSQLiteRecorder) -> Iterator[None]:
    """While this lasts, another caller seems to be committing: every save queues."""
    with recorder._lock:
        assert not recorder._leading
        recorder._leading = True
    try:
        yield
    finally:
        recorder._hand_over()  # as a leader does when its commit is done


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
    with commit_under_way(recorder):
        for thread in threads:
            thread.start()
        wait_for_queue(recorder, len(saves))
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


def test_the_service_store_commits_concurrent_submits_in_groups(tmp_path: Path) -> None:
    app = open_app(Settings.from_env({}, data=tmp_path))
    try:
        recorder = app.recorder
        assert isinstance(recorder, GroupCommitSQLiteRecorder)
        app.ensure_user("ada")
        groups: list[int] = []
        original = recorder._commit
        recorder._commit = lambda group: (groups.append(len(group)), original(group))[1]  # type: ignore[method-assign]

        def submit(_: int) -> int:
            return app.submit(kind="sleep", params={}, owner="ada", by="ada").job.number

        with ThreadPoolExecutor(8) as pool:
            with commit_under_way(recorder):  # all eight submits queue
                numbers = pool.map(submit, range(8))
                wait_for_queue(recorder, 8)
            assert sorted(numbers) == list(range(1, 9))  # raises what any submit raised
        assert groups == [8]
        assert [app.get_job(n).version for n in range(1, 9)] == [1] * 8
        assert app.position() == 2 + 8  # the user and their number claim, then the jobs
    finally:
        app.close()


def test_many_threads_saving_at_once_all_land_and_none_is_left_waiting(
    recorder: GroupCommitSQLiteRecorder,
) -> None:
    def save_many(thread: int) -> list[int]:
        ids: list[int] = []
        for n in range(50):
            ids += recorder.insert_events([event(f"job-{thread}-{n}", 1)]) or []
        return ids

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(save_many, thread) for thread in range(16)]
        ids = [i for future in futures for i in future.result(timeout=30)]
    assert sorted(ids) == list(range(1, 801))
    assert len(recorder.select_notifications(start=1, limit=1000)) == 800
    assert recorder._waiting == [] and not recorder._leading


def test_a_group_larger_than_one_statement_keeps_every_id_with_its_event(
    recorder: GroupCommitSQLiteRecorder,
) -> None:
    saves = [[event(f"job-{n}", v) for v in range(1, 301)] for n in range(1, 4)]  # 900 rows
    outcomes = save_together(recorder, saves)
    for n, ids in enumerate(outcomes, start=1):
        stored = recorder.select_notifications(start=ids[0], limit=300)  # type: ignore[index]
        assert [s.id for s in stored] == list(ids)  # type: ignore[call-overload]
        assert {s.originator_id for s in stored} == {f"job-{n}"}
        assert [s.originator_version for s in stored] == list(range(1, 301))


def test_the_service_keeps_a_connection_per_request_thread(tmp_path: Path) -> None:
    settings = Settings.from_env({"JOBKEEPER_THREADS": "24"}, data=tmp_path)
    app = open_app(settings)
    try:
        pool = app.recorder.datastore.pool  # type: ignore[attr-defined]
        assert pool.pool_size >= 24 and pool.max_overflow >= 24
        views = open_view_store(settings.views_env(), VIEWS)
        assert views.datastore.pool.pool_size >= 24
        views.datastore.close()
    finally:
        app.close()


def test_a_group_of_saves_without_events_records_nothing(
    recorder: GroupCommitSQLiteRecorder,
) -> None:
    assert save_together(recorder, [[], []]) == [[], []]
    assert recorder.select_notifications(start=1, limit=10) == []
