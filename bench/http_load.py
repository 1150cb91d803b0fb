"""The API under wrk: the ceiling, then each endpoint of one store, at a fixed connection count.

Each scenario runs a short warm-up, then a bounded measured run. Reads come first (they
change nothing), then the commands, then submits (which add queued jobs to the store copy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    FAR_FUTURE,
    Profiler,
    Service,
    WrkResult,
    ceiling_serve,
    jobkeeper_serve,
    lua_script,
    rss_mib,
    run_wrk,
)
from stores import Store

API = "/api/v1"


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    lua: str
    config: Callable[[Store], dict[str, Any]]
    kind: str  # "read", "submit" or "command"


READS = (
    Scenario("detail", "GET /jobs/{id}", "get",
             lambda s: {"path": f"{API}/jobs/{{id}}"}, "read"),
    Scenario("running", "GET /jobs/running", "get",
             lambda s: {"path": f"{API}/jobs/running"}, "read"),
    Scenario("last_ten", "GET /users/{name}/jobs", "get",
             lambda s: {"path": f"{API}/users/{{user}}/jobs"}, "read"),
    Scenario("logs", "GET /jobs/{id}/logs", "get",
             lambda s: {"path": f"{API}/jobs/{{id}}/logs"}, "read"),
)  # fmt: skip
COMMANDS = Scenario(
    "command", "POST /jobs/{id}/stop|resume", "commands",
    lambda s: {"prefix": f"{API}/jobs/", "threads": 1}, "command",
)  # fmt: skip
SUBMIT = Scenario(
    "submit", "POST /jobs", "submit",
    lambda s: {"path": f"{API}/jobs", "not_before": FAR_FUTURE}, "submit",
)  # fmt: skip
SCENARIOS = (*READS, COMMANDS, SUBMIT)


@dataclass(frozen=True)
class Load:
    connections: int
    seconds: float
    warmup: float


@dataclass
class SizeResults:
    """The ceiling and every endpoint, measured around one store."""

    store: Store
    ceiling: WrkResult
    endpoints: dict[str, WrkResult]
    idle_rss_mb: float


def measure_ceiling(work: Path, load: Load) -> WrkResult:
    """GET /hello on the bare Falcon app, on jobkeeper's gunicorn settings."""
    with ceiling_serve(work / "ceiling.log").start() as service:
        config = {"token": service.token(), "path": "/hello", "jobs": 1, "users": ["-"]}
        script = lua_script("get", config, work)
        run_wrk(service.url, script, connections=load.connections, seconds=load.warmup)
        return run_wrk(service.url, script, connections=load.connections, seconds=load.seconds)


def measure_store(
    store: Store, work: Path, load: Load, profiler: Profiler, log: Callable[[str], None]
) -> SizeResults:
    """The ceiling, then every scenario against `jobkeeper serve` on a copy of `store`."""
    log(f"  ceiling (bare Falcon on the same gunicorn settings), {load.connections} connections")
    ceiling = measure_ceiling(work, load)
    log(f"    {ceiling.rps:,.0f} req/s")
    data = store.copy_to(work / f"data-{store.jobs}")
    results: dict[str, WrkResult] = {}
    with jobkeeper_serve(data, work / f"serve-{store.jobs}.log").start() as service:
        pid = service.worker_pid()
        idle = rss_mib(pid) * 1.048576
        for scenario in SCENARIOS:
            results[scenario.key] = _run(service, store, scenario, work, load, profiler, pid)
            result = results[scenario.key]
            log(
                f"  {scenario.label:<28} {result.rps:8,.0f} req/s  p50 {result.p50_ms:7.1f} ms"
                f"  p99 {result.p99_ms:7.1f} ms  statuses {result.statuses}"
            )
    return SizeResults(store=store, ceiling=ceiling, endpoints=results, idle_rss_mb=idle)


def _run(
    service: Service,
    store: Store,
    scenario: Scenario,
    work: Path,
    load: Load,
    profiler: Profiler,
    pid: int,
) -> WrkResult:
    config = {
        "token": service.token(),
        "jobs": store.jobs,
        "users": store.users,
        **scenario.config(store),
    }
    if scenario.kind == "command":
        # Warm up on a fifth of the command set, measure on the rest: each job sees its
        # commands strictly alternate, starting from stopped (see lua/commands.lua).
        cut = len(store.command_ids) // 5
        warm = lua_script(scenario.lua, {**config, "ids": store.command_ids[:cut]}, work, "warm")
        script = lua_script(scenario.lua, {**config, "ids": store.command_ids[cut:]}, work)
    else:
        warm = script = lua_script(scenario.lua, config, work)
    run_wrk(service.url, warm, connections=load.connections, seconds=load.warmup)
    profiler.start(pid, f"{scenario.key}-{store.jobs}", load.seconds)
    try:
        return run_wrk(service.url, script, connections=load.connections, seconds=load.seconds)
    finally:
        profiler.stop()
