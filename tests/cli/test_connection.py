"""Where the client commands find the server and the token."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from jobkeeper.cli.connection import resolve, save_profile
from jobkeeper.cli.exits import USAGE, CliError
from jobkeeper.settings import ADMIN_TOKEN_FILE


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("URL", "TOKEN", "PROFILE", "HOST", "PORT", "ADMIN_TOKEN"):
        monkeypatch.delenv(f"JOBKEEPER_{name}", raising=False)
    monkeypatch.setenv("JOBKEEPER_CONFIG", str(tmp_path / "config" / "config.json"))
    data = tmp_path / "data"
    data.mkdir()
    (data / ADMIN_TOKEN_FILE).write_text("jk_local_admin\n")
    monkeypatch.setenv("JOBKEEPER_DATA", str(data))
    return data


def test_a_local_serve_with_defaults_is_found_with_its_admin_token() -> None:
    found = resolve(None, None, None)
    assert (found.url, found.token, found.local_admin) == (
        "http://127.0.0.1:8000",
        "jk_local_admin",
        True,
    )


def test_the_local_port_follows_jobkeeper_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBKEEPER_PORT", "8123")
    monkeypatch.setenv("JOBKEEPER_HOST", "0.0.0.0")
    assert resolve(None, None, None).url == "http://127.0.0.1:8123"


def test_flags_win_over_the_environment_over_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("default", "http://saved:1", "jk_saved")
    assert resolve(None, None, None).token == "jk_saved"
    monkeypatch.setenv("JOBKEEPER_URL", "http://env:2")
    monkeypatch.setenv("JOBKEEPER_TOKEN", "jk_env")
    assert resolve(None, None, None) == resolve("http://env:2/", None, None)
    assert (resolve(None, None, None).url, resolve(None, None, None).token) == (
        "http://env:2",
        "jk_env",
    )
    chosen = resolve("flag:3", "jk_flag", None)
    assert (chosen.url, chosen.token) == ("http://flag:3", "jk_flag")


def test_no_token_goes_to_a_server_it_was_not_saved_for() -> None:
    save_profile("default", "http://saved:1", "jk_saved")
    elsewhere = resolve("http://other:1", None, None)
    assert elsewhere.token == ""  # neither the profile's nor the local admin's
    assert resolve("http://localhost:8000", None, None).token == "jk_local_admin"


def test_named_profiles_and_an_unknown_one(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("staging", "http://staging:8000", "jk_staging")
    assert resolve(None, None, "staging").token == "jk_staging"
    monkeypatch.setenv("JOBKEEPER_PROFILE", "staging")
    assert resolve(None, None, None).url == "http://staging:8000"
    with pytest.raises(CliError, match="no profile 'prod'") as refused:
        resolve(None, None, "prod")
    assert refused.value.code == USAGE


def test_the_config_file_is_its_owners_only(tmp_path: Path) -> None:
    path = save_profile("default", "http://saved:1", "jk_saved")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_what_is_not_a_server_url_is_a_usage_error() -> None:
    for url in ("ftp://host", "http://"):
        with pytest.raises(CliError) as refused:
            resolve(url, "t", None)
        assert refused.value.code == USAGE
