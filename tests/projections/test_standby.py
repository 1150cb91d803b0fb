"""A second projector is a standby: one holds the lock and applies every event, the other
applies none and takes over once the first lets go (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from jobkeeper.actors import liveness
from jobkeeper.application.app import JobKeeper
from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
from jobkeeper.projections.store import SideTable, ViewStore, open_view_store
from jobkeeper.settings import Settings
from jobkeeper.stores.locks import process_lock
from jobkeeper.stores.postgres import setup_lock
from tests.conftest import wait_until
from tests.fakes import RecordingDispatcher


class CountingProjection(ViewProjection):
    """The views' projection, counting the events it applies."""

    def __init__(self, view: ViewStore) -> None:
        super().__init__(view)
        self.applied = 0

    def process_batch(self, events: Any, tracking: Any) -> None:
        super().process_batch(events, tracking)
        self.applied += len(events)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data=tmp_path, database_url=database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[JobKeeper]:
    with setup_lock(settings.store_env()):
        app = JobKeeper(settings.store_env(), dispatcher=RecordingDispatcher())
    app.ensure_admin()
    yield app
    app.close()


def projector(app: JobKeeper, settings: Settings) -> tuple[Projector, CountingProjection]:
    """A projector as `jobkeeper projector` builds it: its own view store handle and lock."""
    with setup_lock(settings.views_env()):
        store = open_view_store(
            settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),)
        )
    projection = CountingProjection(store)
    lock = process_lock(settings.views_env(), "projector")
    return Projector(app, projection, lock=lock, standby_interval=0.05), projection


def submit(app: JobKeeper, count: int) -> None:
    for _ in range(count):
        app.submit(kind="sleep", params={}, owner="admin", by="admin")


def test_the_second_projector_stands_by_and_takes_over(app: JobKeeper, settings: Settings) -> None:
    first, first_counts = projector(app, settings)
    second, second_counts = projector(app, settings)
    first.start()
    second.start()
    try:
        assert first.active and not second.active
        submit(app, 20)
        recorded = app.position()
        assert first.wait(recorded, timeout=10)
        assert second.wait(recorded, timeout=10)  # a standby's wait follows the store
        assert first_counts.applied == recorded and second_counts.applied == 0
        first.stop()
        wait_until(lambda: second.active, timeout=10)
        submit(app, 5)
        assert second.wait(app.position(), timeout=10)
        assert second_counts.applied == 5  # only what the first had not applied
        assert first_counts.applied == recorded
        with second.projection.view.reading() as db:
            assert len(db.all("SELECT id FROM {jobs}")) == 25
    finally:
        first.stop()
        second.stop()


def test_a_standby_catch_up_waits_for_the_active_projector(
    app: JobKeeper, settings: Settings
) -> None:
    first, _ = projector(app, settings)
    second, second_counts = projector(app, settings)
    first.start()
    second.start()
    try:
        submit(app, 3)
        assert second.catch_up(standby_timeout=10) == 0
        assert second.position == app.position() and second_counts.applied == 0
    finally:
        first.stop()
        second.stop()
