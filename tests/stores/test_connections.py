"""A closed runtime gives back every database connection it opened: a process that opens
and closes runtimes (the tests, an operator's commands) must not pile up PostgreSQL sessions
until the server refuses new ones."""

from __future__ import annotations

from pathlib import Path

from jobkeeper.bootstrap import Runtime
from tests.conftest import SCALED_MARKS, backend_settings, fast_settings

pytestmark = SCALED_MARKS


def test_a_closed_runtime_closes_the_pools_of_its_event_and_view_stores(tmp_path: Path) -> None:
    with backend_settings("scaled") as settings:
        runtime = Runtime(fast_settings(tmp_path / "data", **settings))
        runtime.start()
        pools = {
            "events": runtime.app.recorder.datastore.pool,
            "views": runtime.view_store.datastore.pool,
        }
        assert not any(pool.closed for pool in pools.values())
        runtime.close()
        assert {name: pool.closed for name, pool in pools.items()} == {
            "events": True,
            "views": True,
        }
