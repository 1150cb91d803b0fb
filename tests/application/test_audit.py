"""Hash chains: rows changed, removed or reordered directly in SQLite or PostgreSQL are named
by version; a whole chain rewritten is caught against a head kept earlier; stores from
before the chains keep working and their chains start at the first hashed event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobkeeper.application import chain
from jobkeeper.application.app import JobKeeper
from jobkeeper.application.audit import Auditor, load_anchors
from jobkeeper.bootstrap import open_auditor
from jobkeeper.settings import Settings
from jobkeeper.stores.postgres import setup_lock
from tests.fakes import RecordingDispatcher
from tests.tampering import Rows


class Store(Rows):
    """The rows of one test's store, and its application opened anew."""

    def __init__(self, data: Path, database_url: str) -> None:
        self.settings = Settings(data=data, database_url=database_url, audit_key="k3y")
        super().__init__(self.settings.store_env())

    def open_app(self) -> JobKeeper:
        with setup_lock(self.env):
            return JobKeeper(self.env, dispatcher=RecordingDispatcher(), snapshot_interval=5)


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Store:
    return Store(tmp_path, database_url)


@pytest.fixture
def app(store: Store) -> Iterator[JobKeeper]:
    app = store.open_app()
    app.create_user(name="alice", by="system")
    yield app
    app.close()


@pytest.fixture
def auditor(app: JobKeeper, store: Store) -> Auditor:
    return open_auditor(app, store.settings)


def run_job(app: JobKeeper, steps: int = 8) -> int:
    job_id = app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice").job.number
    app.start(job_id, "run-1", "worker-a")
    for step in range(steps):
        line = ({"at": "2030-01-01T00:00:00+00:00", "text": f"step {step}"},)
        checkpoint = {"step": step, "big": 10**20, "f": 0.1, "tiny": 1.5e-7, "é": "\u2028"}
        app.report(job_id, "run-1", step / steps, checkpoint, line)
    app.succeed(job_id, "run-1", {"done": True}, ())
    return job_id


def test_an_untouched_store_is_intact_and_every_entry_has_its_hash(
    app: JobKeeper, auditor: Auditor
) -> None:
    job_id = run_job(app)
    report = auditor.verify_job(job_id)
    assert report.broken is None and report.hashed_from == 1 and report.events == 11
    entries = list(app.history_stream(job_id))
    assert report.head is not None and report.head.hash == entries[-1].hash
    assert all(e.hash and len(e.hash) == 64 for e in entries)
    whole = auditor.verify_store()
    assert whole.intact and whole.streams == 2 and whole.unhashed == 0  # the job and alice


def test_a_changed_row_is_named_by_its_version(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    state = store.state(f"job-{job_id}", 5)
    state["progress"] = 0.99
    store.set_state(f"job-{job_id}", 5, state)
    report = auditor.verify_job(job_id)
    assert report.broken is not None and report.broken.version == 5
    assert "content differs" in report.broken.problem
    assert report.broken.recorded == state[chain.HASH] != report.broken.computed
    [broken] = auditor.verify_store().broken
    assert (broken.stream, broken.version) == (f"job-{job_id}", 5)


def test_a_row_edited_in_place_is_named_by_its_version(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    stream = f"job-{job_id}"
    store.edit_row(stream, 6, b'"progress":0.375', b'"progress":0.999')  # its end untouched
    broken = auditor.verify_job(job_id).broken
    assert broken is not None and broken.version == 6
    assert broken.problem == "its content differs from its hash"
    assert broken.recorded == store.state(stream, 6)[chain.HASH] != broken.computed
    store.edit_row(stream, 6, b'"progress":0.999', b'"progress":0.375')
    assert auditor.verify_job(job_id).broken is None  # the same bytes again: intact


def test_a_removed_row_is_named_by_the_version_after_it(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    store.execute(
        "DELETE FROM {t} WHERE originator_id = ? AND originator_version = 4", (f"job-{job_id}",)
    )
    report = auditor.verify_job(job_id)
    assert report.broken is not None and report.broken.version == 5
    assert "versions 4 are missing" in report.broken.problem
    assert [b.version for b in auditor.verify_store().broken] == [5]


def test_a_removed_row_renumbered_over_is_named_as_a_broken_link(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    stream = f"job-{job_id}"
    store.execute("DELETE FROM {t} WHERE originator_id = ? AND originator_version = 4", (stream,))
    for version in range(5, 12):  # close the gap: every later row moves down one version
        store.execute(
            "UPDATE {t} SET originator_version = ? WHERE originator_id = ? "
            "AND originator_version = ?",
            (version - 1, stream, version),
        )
    report = auditor.verify_job(job_id)
    assert report.broken is not None and report.broken.version == 4


def test_reordered_rows_are_named_by_the_first_of_them(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    stream = f"job-{job_id}"
    for old, new in ((6, -6), (7, 6), (-6, 7)):
        store.execute(
            "UPDATE {t} SET originator_version = ? WHERE originator_id = ? "
            "AND originator_version = ?",
            (new, stream, old),
        )
    report = auditor.verify_job(job_id)
    assert report.broken is not None and report.broken.version == 6
    assert [b.version for b in auditor.verify_store().broken] == [7]  # in the log's order


def rewrite_chain(store: Store, stream: str, versions: range) -> None:
    """What one who knows the algorithm does: change an event and hash the chain anew."""
    prev = chain.GENESIS
    for version in versions:
        state = store.state(stream, version)
        if version == 3:
            state["progress"] = 0.75
        prev = store.reseal(stream, version, state, prev)


def hash_in_first_form(store: Store, stream: str, versions: range) -> None:
    """Record the stream's events as the first form hashed them (`chain.link` over the
    canonical content, no FORM): a store from before the row form."""
    prev = chain.GENESIS
    for version in versions:
        state = {k: v for k, v in store.state(stream, version).items() if k != chain.FORM}
        content = {**state, "timestamp": _as_datetime(state["timestamp"])}
        topic = store.topic(stream, version)
        state[chain.PREV] = prev
        state[chain.HASH] = prev = chain.link(stream, version, topic, content, prev)
        store.set_state(stream, version, state)


def _as_datetime(value: Any) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value["_data_"])


def test_a_whole_chain_rewritten_is_caught_against_a_head_kept_earlier(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    kept = json.dumps(auditor.anchors().as_json())
    rewrite_chain(store, f"job-{job_id}", range(1, 12))
    assert auditor.verify_job(job_id).broken is None  # consistent with itself
    anchors = load_anchors(kept, key="k3y")
    report = auditor.verify_job(job_id, anchors[f"job-{job_id}"])
    assert report.broken is not None and report.broken.version == 11
    assert "rewritten" in report.broken.problem
    whole = auditor.verify_store(anchors)
    assert [(b.stream, b.version) for b in whole.broken] == [(f"job-{job_id}", 11)]


def test_events_removed_from_the_end_are_caught_against_a_head_kept_earlier(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app)
    anchors = load_anchors(json.dumps(auditor.anchors().as_json()))
    store.execute(
        "DELETE FROM {t} WHERE originator_id = ? AND originator_version > 9", (f"job-{job_id}",)
    )
    assert auditor.verify_job(job_id).broken is None
    [broken] = auditor.verify_store(anchors).broken
    assert broken.version == 11 and "removed" in broken.problem


def test_the_anchors_digest_every_head_and_are_signed(app: JobKeeper, auditor: Auditor) -> None:
    job_id = run_job(app)
    anchors = auditor.anchors()
    assert {h.stream for h in anchors.heads} == {f"job-{job_id}", "user-alice"}
    assert anchors.signature is not None
    document = anchors.as_json()
    document["heads"][0]["version"] -= 1
    with pytest.raises(ValueError, match="digest does not match"):
        load_anchors(json.dumps(document))
    with pytest.raises(ValueError, match="signature"):
        load_anchors(json.dumps(anchors.as_json()), key="another key")
    with pytest.raises(ValueError, match="not JSON"):
        load_anchors("{")


def test_a_store_from_before_the_chains_keeps_working_and_its_chains_start_later(
    app: JobKeeper, store: Store
) -> None:
    job_id = app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice").job.number
    app.start(job_id, "run-1", "worker-a")
    stream = f"job-{job_id}"
    for version in (1, 2):  # as recorded before events had hashes
        state = store.state(stream, version)
        del state[chain.HASH], state[chain.PREV]
        store.set_state(stream, version, state)
    later = store.open_app()  # nothing cached: the job loads without a head
    try:
        later.report(job_id, "run-1", 0.5, {"step": 1}, ())
        later.succeed(job_id, "run-1", {}, ())
        auditor = open_auditor(later, store.settings)
        report = auditor.verify_job(job_id)
        assert report.broken is None and report.hashed_from == 3 and report.unhashed == 2
        assert auditor.verify_store().unhashed == 2
        unhashed = {k: v for k, v in store.state(stream, 3).items() if not k.startswith("chain")}
        store.set_state(stream, 3, unhashed)  # the chain's first link taken off
        broken = auditor.verify_job(job_id).broken
        assert broken is not None and broken.version == 4 and "links to another" in broken.problem
    finally:
        later.close()


def test_a_store_hashed_in_the_first_form_keeps_verifying_and_goes_on_in_rows(
    app: JobKeeper, store: Store
) -> None:
    job_id = app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice").job.number
    app.start(job_id, "run-1", "worker-a")
    for step in range(2):
        app.report(job_id, "run-1", 0.1, {"step": step, "tiny": 1.5e-7}, ())
    stream = f"job-{job_id}"
    hash_in_first_form(store, stream, range(1, 5))  # no snapshot yet: the rows are the job
    later = store.open_app()
    try:
        later.report(job_id, "run-1", 0.5, {"step": 2}, ())
        later.succeed(job_id, "run-1", {}, ())
        assert chain.FORM not in store.state(stream, 4) and chain.FORM in store.state(stream, 5)
        auditor = open_auditor(later, store.settings)
        report = auditor.verify_job(job_id)
        assert report.broken is None and report.hashed_from == 1 and report.head is not None
        assert report.head.version == 6 and auditor.verify_store().intact
        state = store.state(stream, 3)
        state["checkpoint"]["step"] = 9
        store.set_state(stream, 3, state)  # a first-form event changed
        broken = auditor.verify_job(job_id).broken
        assert broken is not None and broken.version == 3 and "differs" in broken.problem
    finally:
        later.close()


def readme_recipes() -> list[str]:
    """The README's checks in another language's terms, as written there: the row form's,
    then the first form's."""
    text = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    marker = "```python\nimport hashlib, json"
    recipes, start = [], text.find(marker)
    while start >= 0:
        start += len("```python\n")
        recipes.append(text[start : text.index("```", start)])
        start = text.find(marker, start)
    return recipes


def run_recipe(recipe: str, store: Store, stream: str, count: int) -> None:
    rows = store.execute(
        "SELECT originator_id, originator_version, topic, state FROM {t} WHERE originator_id = ?",
        (stream,),
    )
    assert len(rows) == count
    for originator_id, version, topic, state in rows:
        scope = {"row_state": bytes(state), "originator_id": originator_id, "topic": topic,
                 "version": version}  # fmt: skip
        exec(recipe, scope)  # raises AssertionError if a hash differs


def test_the_readme_recipes_recompute_every_stored_hash(app: JobKeeper, store: Store) -> None:
    rows, first_form = readme_recipes()
    job_id = run_job(app, steps=3)
    stream = f"job-{job_id}"
    run_recipe(rows, store, stream, 6)
    hash_in_first_form(store, stream, range(1, 7))
    run_recipe(first_form, store, stream, 6)
    with pytest.raises(AssertionError):
        run_recipe(rows, store, stream, 6)


def test_an_event_saved_on_its_own_links_to_its_streams_recorded_head(
    app: JobKeeper, auditor: Auditor
) -> None:
    job_id = run_job(app, steps=1)
    job = app.get_job(job_id)
    job.restart("alice", app.clock.now())
    [event] = job.collect_events()
    app.save(event)  # the event alone, without its aggregate in hand
    report = auditor.verify_job(job_id)
    assert report.broken is None and report.head is not None and report.head.version == 5


def test_events_saved_together_are_sealed_in_order_each_linked_to_the_one_before(
    app: JobKeeper, auditor: Auditor, store: Store
) -> None:
    job_id = run_job(app, steps=0)
    job = app.get_job(job_id)
    job.restart("alice", app.clock.now())
    job.start("run-2", "worker-b", app.clock.now())
    app.save(job)  # two events of one stream in one save
    stream = f"job-{job_id}"
    first, second = store.state(stream, 4), store.state(stream, 5)
    assert second[chain.PREV] == first[chain.HASH] != chain.BLANK
    assert list(second)[-3:] == [chain.PREV, chain.FORM, chain.HASH]
    assert vars(job)[chain.HEAD] == second[chain.HASH]
    assert auditor.verify_job(job_id).broken is None
