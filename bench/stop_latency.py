"""Stop latency: from a stop request to the job being `stopped`, embedded or across processes.

Starts the real processes on loopback (`jobkeeper serve`, or in scaled mode `jobkeeper api` +
`jobkeeper worker` + `jobkeeper projector` on PostgreSQL and Redis), runs `sleep` jobs whose steps
last STEP seconds, stops each one mid-step through the API, and prints the distribution of the
time until GET /jobs/{id} shows `stopped`, as multiples of one step (the target is at most one
step plus 0.5 s across processes).

    python bench/stop_latency.py --mode scaled --stops 200 --step 0.05
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import requests
from services import percentile, running


def measure_stops(
    http: requests.Session, api: str, stops: int, step: float, parallel: int = 20
) -> list[float]:
    """Seconds from each stop request to the job reading `stopped`, over `stops` jobs.

    Runs `sleep` jobs of `step`-second steps, `parallel` at a time; each is stopped at a
    random moment inside a step, watched until stopped, then cancelled (bench/run.py calls
    this against its own `jobkeeper serve`, with or without a thousand other jobs running).
    """
    latencies: list[float] = []
    rng = random.Random(1)
    while len(latencies) < stops:
        batch = min(parallel, stops - len(latencies))
        body = {"kind": "sleep", "params": {"seconds": 3600, "step": step}}
        ids = [http.post(f"{api}/jobs", json=body, timeout=10).json()["id"] for _ in range(batch)]
        for job_id in ids:
            _wait_status(http, f"{api}/jobs/{job_id}", "running", 0.005)
        for job_id in ids:
            time.sleep(rng.uniform(0, step))  # land anywhere inside a step
            started = time.perf_counter()
            http.post(f"{api}/jobs/{job_id}/stop", timeout=10).raise_for_status()
            _wait_status(http, f"{api}/jobs/{job_id}", "stopped", 0.002)
            latencies.append(time.perf_counter() - started)
            http.post(f"{api}/jobs/{job_id}/cancel", timeout=10)
    return latencies


def _wait_status(http: requests.Session, url: str, status: str, poll: float) -> None:
    deadline = time.monotonic() + 120
    while http.get(url, timeout=10).json()["status"] != status:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not become {status} within 120 s")
        time.sleep(poll)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["embedded", "scaled"], default="embedded")
    parser.add_argument("--stops", type=int, default=200)
    parser.add_argument("--step", type=float, default=0.05)
    parser.add_argument("--parallel", type=int, default=20, help="jobs running at once")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="jobkeeper-bench-"))
    with running(args.mode, work, api_workers=1) as service:
        api = f"{service.url}/api/v1"
        latencies = measure_stops(service.session(), api, args.stops, args.step, args.parallel)
    steps = [value / args.step for value in latencies]
    print(f"mode={args.mode} stops={len(latencies)} step={args.step}s")
    print("             seconds    steps")
    for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        print(f"  {name:>5}  {percentile(latencies, p):9.4f}  {percentile(steps, p):7.2f}")
    print(f"  mean   {statistics.mean(latencies):9.4f}  {statistics.mean(steps):7.2f}")
    budget = args.step + 0.5
    within = sum(value <= budget for value in latencies)
    print(f"  within one step + 0.5 s ({budget:.3f} s): {within}/{len(latencies)}")


if __name__ == "__main__":
    main()
