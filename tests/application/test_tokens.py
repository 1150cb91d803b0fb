"""Bearer tokens: issued once, kept as digests, revocable, checked in constant time."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobkeeper.application.app import JobKeeper
from jobkeeper.application.caches import TOKEN_RECHECK_SECONDS
from jobkeeper.domain.errors import UserNotFoundError
from jobkeeper.domain.tokens import parse
from jobkeeper.settings import Settings
from tests.fakes import RecordingDispatcher, SetClock


@pytest.fixture
def app(tmp_path: Path) -> JobKeeper:
    app = JobKeeper(Settings(data=tmp_path).store_env(), dispatcher=RecordingDispatcher())
    app.create_user(name="ada_l.x", by="system")
    return app


def test_an_issued_token_authenticates_its_user(app: JobKeeper) -> None:
    issued = app.issue_token("ada_l.x", by="system", label="laptop")
    assert parse(issued.token) == ("ada_l.x", issued.token_id)
    user = app.authenticate(issued.token)
    assert user is not None and user.name == "ada_l.x"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # wrong secret
        lambda t: t.replace("jk_", "xx_", 1),
        lambda t: t.replace("ada_l.x", "bob", 1),
        lambda t: "",
        lambda t: "jk__",
        lambda t: "jk_" + "a" * 5000 + "_00_11",
    ],
)
def test_wrong_or_malformed_tokens_authenticate_nobody(app: JobKeeper, mangle) -> None:  # type: ignore[no-untyped-def]
    issued = app.issue_token("ada_l.x", by="system")
    assert app.authenticate(mangle(issued.token)) is None


def test_a_user_has_several_tokens_and_revokes_one(app: JobKeeper) -> None:
    first = app.issue_token("ada_l.x", by="system")
    second = app.issue_token("ada_l.x", by="ada_l.x")
    assert app.revoke_token("ada_l.x", first.token_id, by="ada_l.x") is True
    assert app.authenticate(first.token) is None
    assert app.authenticate(second.token) is not None
    assert app.revoke_token("ada_l.x", first.token_id, by="ada_l.x") is False


def test_a_token_in_use_stops_working_at_once_when_revoked_here(app: JobKeeper) -> None:
    issued = app.issue_token("ada_l.x", by="system")
    assert app.authenticate(issued.token) is not None  # now believed without a read
    app.revoke_token("ada_l.x", issued.token_id, by="ada_l.x")
    assert app.authenticate(issued.token) is None


def test_a_revocation_by_another_process_is_seen_within_the_recheck_time(
    app: JobKeeper, tmp_path: Path
) -> None:
    issued = app.issue_token("ada_l.x", by="system")
    clock = SetClock()
    timed = JobKeeper(Settings(data=tmp_path).store_env(), dispatcher=RecordingDispatcher(), clock=clock)
    assert timed.authenticate(issued.token) is not None
    app.revoke_token("ada_l.x", issued.token_id, by="system")  # another process's revocation
    assert timed.authenticate(issued.token) is not None  # believed until the recheck is due
    clock.advance(TOKEN_RECHECK_SECONDS)
    assert timed.authenticate(issued.token) is None
    timed.close()


def test_issue_and_revocation_are_events_with_who(app: JobKeeper) -> None:
    issued = app.issue_token("ada_l.x", by="system")
    app.revoke_token("ada_l.x", issued.token_id, by="ada_l.x")
    events = list(app.events.get("user-ada_l.x"))
    assert [(type(e).__name__, e.by) for e in events] == [
        ("Created", "system"), ("TokenIssued", "system"), ("TokenRevoked", "ada_l.x"),
    ]  # fmt: skip


def test_tokens_are_not_stored_in_plain_text(app: JobKeeper, tmp_path: Path) -> None:
    issued = app.issue_token("ada_l.x", by="system")
    secret = issued.token.rsplit("_", 1)[1]
    app.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("events.db*"))
    assert issued.token_id.encode() in stored  # the file is the one that holds the tokens
    assert issued.token.encode() not in stored and secret.encode() not in stored


def test_tokens_of_unknown_users_cannot_be_issued(app: JobKeeper) -> None:
    with pytest.raises(UserNotFoundError):
        app.issue_token("nobody", by="system")
