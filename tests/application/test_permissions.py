"""Who may do what: owners and admins command jobs, admins create users; refusals record nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobkeeper.application.app import JobKeeper
from jobkeeper.domain.errors import ForbiddenError
from jobkeeper.settings import Settings
from tests.fakes import RecordingDispatcher


@pytest.fixture
def app(tmp_path: Path) -> JobKeeper:
    app = JobKeeper(Settings(data=tmp_path).store_env(), dispatcher=RecordingDispatcher())
    app.create_user(name="root", role="admin", by="system")
    app.create_user(name="owen", by="root")
    app.create_user(name="olga", by="root")
    return app


def job_of(app: JobKeeper, owner: str) -> int:
    return app.submit(kind="sleep", params={"seconds": 1}, owner=owner, by=owner).job.number


@pytest.mark.parametrize("command", ["stop", "cancel"])
@pytest.mark.parametrize(("who", "allowed"), [("owen", True), ("root", True), ("olga", False)])
def test_only_the_owner_or_an_admin_commands_a_job(
    app: JobKeeper, command: str, who: str, allowed: bool
) -> None:
    job_id = job_of(app, "owen")
    if allowed:
        assert getattr(app, command)(job_id, who).changed
    else:
        with pytest.raises(ForbiddenError, match="only the job's owner"):
            getattr(app, command)(job_id, who)
        assert len(app.history(job_id)) == 1  # nothing recorded


@pytest.mark.parametrize(("who", "allowed"), [("owen", True), ("root", True), ("olga", False)])
def test_resume_and_restart_follow_the_same_rule(app: JobKeeper, who: str, allowed: bool) -> None:
    job_id = job_of(app, "owen")
    app.stop(job_id, "owen")
    for command in ("resume", "stop", "cancel", "restart"):
        if allowed:
            assert getattr(app, command)(job_id, who).changed
        else:
            with pytest.raises(ForbiddenError):
                getattr(app, command)(job_id, who)
            getattr(app, command)(job_id, "owen")


def test_only_admins_create_users(app: JobKeeper) -> None:
    with pytest.raises(ForbiddenError):
        app.create_user(name="eve", by="owen")
    assert app.create_user(name="eve", by="root").name == "eve"


def test_only_admins_submit_for_someone_else(app: JobKeeper) -> None:
    with pytest.raises(ForbiddenError):
        app.submit(kind="sleep", params={"seconds": 1}, owner="olga", by="owen")
    assert app.submit(kind="sleep", params={"seconds": 1}, owner="olga", by="root").job.owner == "olga"


def test_users_manage_their_own_tokens_and_admins_everyones(app: JobKeeper) -> None:
    mine = app.issue_token("owen", by="owen")
    with pytest.raises(ForbiddenError):
        app.issue_token("owen", by="olga")
    with pytest.raises(ForbiddenError):
        app.revoke_token("owen", mine.token_id, by="olga")
    assert app.revoke_token("owen", mine.token_id, by="root")
