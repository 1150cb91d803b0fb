"""The application's caches without a store: good tokens, and its runs' jobs."""

from __future__ import annotations

from datetime import UTC, datetime

from jobkeeper.application.caches import LiveJobs, TokenCache
from jobkeeper.domain.job import Job

AT = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_good_token_is_believed_until_its_time_is_up() -> None:
    now = [100.0]
    cache: TokenCache[str] = TokenCache(lambda: now[0], ttl=1.0)
    cache.put("token", "ada", "user-ada", cache.generation)
    assert cache.get("token") == "ada"
    now[0] += 0.99
    assert cache.get("token") == "ada"
    now[0] += 0.01
    assert cache.get("token") is None


def test_a_change_to_a_user_forgets_that_users_tokens_only() -> None:
    cache: TokenCache[str] = TokenCache(lambda: 0.0)
    cache.put("a", "ada", "user-ada", cache.generation)
    cache.put("b", "bob", "user-bob", cache.generation)
    cache.forget({"user-ada"})
    assert cache.get("a") is None and cache.get("b") == "bob"


def test_a_check_that_began_before_a_change_does_not_put_its_answer_back() -> None:
    cache: TokenCache[str] = TokenCache(lambda: 0.0)
    began = cache.generation
    cache.forget({"user-ada"})  # a revocation lands while the check reads the store
    cache.put("a", "ada", "user-ada", began)
    assert cache.get("a") is None


def test_the_token_cache_starts_again_when_full() -> None:
    cache: TokenCache[str] = TokenCache(lambda: 0.0, size=2)
    for token in ("a", "b", "c"):
        cache.put(token, token, f"user-{token}", cache.generation)
    assert cache.get("c") == "c" and cache.get("a") is None


def job(number: int, started: bool = True) -> Job:
    made = Job.submit(
        number=number, owner="ada", kind="sleep", name="nap", params={"seconds": 1},
        not_before=None, deadline=None, by="ada", at=AT,
    )  # fmt: skip
    if started:
        made.start("run-1", "worker", AT)
    return made


def test_a_live_job_is_remembered_as_a_copy_of_its_own() -> None:
    live = LiveJobs()
    running = job(1)
    live.remember(running)
    copy = live.get(1)
    assert copy is not None and copy is not running and copy.version == running.version
    copy.stop("ada", AT)
    again = live.get(1)
    assert again is not None and again.status.value == "running"


def test_a_job_that_is_no_longer_live_is_dropped() -> None:
    live = LiveJobs()
    running = job(1)
    live.remember(running)
    running.succeed("run-1", {}, (), AT)
    live.remember(running)
    assert live.get(1) is None
    live.remember(job(2, started=False))  # queued: not live
    assert live.get(2) is None


def test_forgotten_and_overflowing_jobs_are_not_kept() -> None:
    live = LiveJobs(size=2)
    for number in (1, 2):
        live.remember(job(number))
    live.forget(1)
    assert live.get(1) is None
    live.remember(job(3))
    live.remember(job(4))  # full: starts again
    assert live.get(2) is None and live.get(4) is not None
