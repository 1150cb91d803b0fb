"""Settings from the environment and from flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobkeeper.settings import Settings, SettingsError


def test_defaults_are_the_embedded_service() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.data) == ("127.0.0.1", 8000, Path("jobkeeper-data"))
    assert settings.broker_url == "memory://" and settings.embedded_broker
    assert settings.store_env()["SQLITE_DBNAME"] == str(Path("jobkeeper-data") / "events.db")
    assert settings.views_env()["SQLITE_DBNAME"] == str(Path("jobkeeper-data") / "views.db")


def test_every_setting_reads_its_variable() -> None:
    settings = Settings.from_env(
        {
            "JOBKEEPER_DATA": "/srv/jk", "JOBKEEPER_PORT": "9000", "JOBKEEPER_MAX_RUNNING": "4",
            "JOBKEEPER_CHECKPOINT_INTERVAL": "0.5", "JOBKEEPER_BROKER_URL": "redis://r:6379/1",
            "JOBKEEPER_WORKER_TIMEOUT": "12", "JOBKEEPER_QUEUE": "team-a",
            "JOBKEEPER_SNAPSHOT_INTERVAL": "250",
        }
    )  # fmt: skip
    assert settings.data == Path("/srv/jk") and isinstance(settings.data, Path)
    assert (settings.port, settings.max_running, settings.checkpoint_interval) == (9000, 4, 0.5)
    assert (settings.worker_timeout, settings.queue) == (12.0, "team-a")
    assert settings.snapshot_interval == 250
    assert not settings.embedded_broker


def test_flags_win_over_the_environment_even_when_it_is_bad() -> None:
    settings = Settings.from_env({"JOBKEEPER_PORT": "abc"}, port=8123)
    assert settings.port == 8123


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"JOBKEEPER_PORT": "abc"}, "JOBKEEPER_PORT='abc' is not a valid int"),
        ({"JOBKEEPER_MAX_RUNNING": "0"}, "JOBKEEPER_MAX_RUNNING must be a positive number"),
        ({"JOBKEEPER_POLL_INTERVAL": "-1"}, "JOBKEEPER_POLL_INTERVAL must be more than 0"),
        ({"JOBKEEPER_BROKER_URL": "kafka://k"}, "is not supported"),
        ({"JOBKEEPER_DATABASE_URL": "mysql://db/x"}, "is not supported"),
        ({"JOBKEEPER_DATABASE_URL": "postgresql:///nohost"}, "must name a host and a database"),
        ({"JOBKEEPER_QUEUE": "a b"}, "JOBKEEPER_QUEUE may hold"),
        ({"JOBKEEPER_SNAPSHOT_INTERVAL": "-5"}, "JOBKEEPER_SNAPSHOT_INTERVAL must be 0"),
        ({"JOBKEEPER_SNAPSHOT_INTERVAL": "ten"}, "JOBKEEPER_SNAPSHOT_INTERVAL='ten' is not"),
        ({"JOBKEEPER_DB_POOL_SIZE": "0"}, "JOBKEEPER_DB_POOL_SIZE must be a positive number"),
        ({"JOBKEEPER_DB_MAX_OVERFLOW": "-1"}, "JOBKEEPER_DB_MAX_OVERFLOW 0 or more"),
    ],
)
def test_bad_values_say_what_to_fix(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=None) as raised:
        Settings.from_env(env)
    assert fragment in str(raised.value)


def test_database_urls_select_the_store() -> None:
    pg = Settings(database_url="postgresql://u:p%40ss@db.example:6543/jobs?schema=team").store_env()
    assert (pg["POSTGRES_HOST"], pg["POSTGRES_PORT"], pg["POSTGRES_DBNAME"]) == ("db.example", "6543", "jobs")
    assert (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_SCHEMA"]) == ("u", "p@ss", "team")
    assert (pg["POSTGRES_POOL_SIZE"], pg["POSTGRES_MAX_OVERFLOW"]) == ("4", "16")
    sized = Settings.from_env({
        "JOBKEEPER_DATABASE_URL": "postgresql://db.example/jobs",
        "JOBKEEPER_DB_POOL_SIZE": "2", "JOBKEEPER_DB_MAX_OVERFLOW": "0",
    })  # fmt: skip
    for env in (sized.store_env(), sized.views_env()):
        assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("2", "0")
    lite = Settings(database_url="sqlite:///var/jk/events.db")
    assert lite.store_env()["SQLITE_DBNAME"] == "/var/jk/events.db"
    assert lite.views_env()["SQLITE_DBNAME"] == "/var/jk/events-views.db"


def test_a_started_process_settles_its_memory_for_the_collector() -> None:
    import gc

    from jobkeeper.server import GC_THRESHOLDS, settle_memory

    before = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
