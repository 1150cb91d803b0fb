"""The web app's pages at 10,000 and 1,000,000 jobs: time to first render, and bytes moved.

Both stores are built by `bench/stores.py` and cached between runs: real events written in
bulk through the engine (Job aggregates driven by their own commands, a thousand jobs saved
per transaction through the recorder, their stories overlapping as in a live service), then
the views caught up by the service's own projector. On this machine the 10,000-job store takes
a few seconds and the 1,000,000-job one a few minutes, once.

For each store a real `jobkeeper serve` is started and Debian's Chromium (Playwright) loads,
signed in, the jobs page (`/jobs`, the newest 50 of all jobs) and the page of a finished job
from the engine-built part (the same job in both stores), `--loads` times each in a fresh
browser context (a first visit: nothing cached). Time to first render is the page's
first-contentful-paint (median and p90); bytes are everything the browser received for the
page (document, CSS, script, icon), from the resource timing of the page itself. The figures
are ratios of the big store's to the small one's, measured in the same run.

    python bench/ui_pages.py [--loads 15] [--cache /tmp/jobkeeper-bench]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ADMIN_TOKEN, jobkeeper_serve
from bench.stores import ensure_store

BASE_JOBS = 10_000
BIG_JOBS = 1_000_000
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
BUDGET = 250 * 1024  # the first page load's budget in bytes


def signed_in(url: str, browser: Any) -> Any:
    """The browser state of a session signed in through the sign-in page (its cookie)."""
    context = browser.new_context(base_url=url)
    page = context.new_page()
    page.goto("/sign-in")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs/running")
    state = context.storage_state()
    context.close()
    return state


def measure(url: str, path: str, loads: int, browser: Any, state: Any) -> dict[str, Any]:
    """First-contentful-paint and bytes of `loads` first visits to `path`, signed in."""
    paints, sizes, documents = [], [], []
    for _ in range(loads):
        fresh = browser.new_context(base_url=url, storage_state=state)  # nothing cached
        page = fresh.new_page()
        page.goto(path, wait_until="load")
        painted = "() => performance.getEntriesByName('first-contentful-paint').length"
        while not page.evaluate(painted):  # (wait_for_function would eval: the CSP forbids it)
            page.wait_for_timeout(20)
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const paint = performance.getEntriesByName('first-contentful-paint')[0];
            const resources = performance.getEntriesByType('resource');
            return {
                paint: paint.startTime,
                document: nav.transferSize,
                total: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
            };
        }""")
        paints.append(timing["paint"])
        sizes.append(timing["total"])
        documents.append(timing["document"])
        fresh.close()
    paints.sort()
    return {
        "fcp_median_ms": statistics.median(paints),
        "fcp_p90_ms": paints[int(0.9 * (len(paints) - 1))],
        "bytes": max(sizes),
        "document_bytes": max(documents),
    }


def middle_job(data: Path, jobs: int) -> int:
    """A succeeded job from the middle of the store (each has the same story: submitted,
    started, a progress report with three log lines, succeeded)."""
    views = sqlite3.connect(data / "views.db")
    try:
        row = views.execute(
            "SELECT id FROM view_jobs WHERE status = 'succeeded' AND id > ? ORDER BY id LIMIT 1",
            (jobs // 2,),
        ).fetchone()
    finally:
        views.close()
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "jobkeeper-bench")
    parser.add_argument("--big", type=int, default=BIG_JOBS)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="ui-pages-"))
    try:
        stores = []
        for label, jobs in (("10k", BASE_JOBS), ("1M", args.big)):
            data = ensure_store(jobs, args.cache).copy_to(work / label)
            stores.append((label, data, jobs, middle_job(data, jobs)))
        pages = {"jobs page": "/jobs", "job page": "/jobs/{job}"}
        results: dict[str, dict[str, Any]] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for label, data, jobs, job in stores:
                service = jobkeeper_serve(data, work / f"{label}.log").start(timeout=600)
                try:
                    state = signed_in(service.url, browser)
                    for name, template in pages.items():
                        path = template.format(job=job)
                        measure(service.url, path, 2, browser, state)  # warm the server up
                        results[f"{name} @ {jobs:,}"] = measure(
                            service.url, path, args.loads, browser, state
                        )
                finally:
                    service.stop()
            browser.close()
        print(f"\n{args.loads} first visits per page; machine shared and loaded (2 cores)\n")
        print("| page | jobs | FCP median ms | FCP p90 ms | bytes (all) | document bytes |")
        print("| --- | --- | --- | --- | --- | --- |")
        for key, r in results.items():
            name, jobs = key.split(" @ ")
            print(f"| {name} | {jobs} | {r['fcp_median_ms']:.0f} | {r['fcp_p90_ms']:.0f} | "
                  f"{r['bytes']:,} | {r['document_bytes']:,} |")  # fmt: skip
        print("\n| page | FCP median 1M / 10k | FCP p90 1M / 10k | bytes vs 250 KB budget |")
        print("| --- | --- | --- | --- |")
        for name in pages:
            a, b = results[f"{name} @ {BASE_JOBS:,}"], results[f"{name} @ {args.big:,}"]
            print(f"| {name} | {b['fcp_median_ms'] / a['fcp_median_ms']:.2f}× | "
                  f"{b['fcp_p90_ms'] / a['fcp_p90_ms']:.2f}× | "
                  f"{max(a['bytes'], b['bytes']) / BUDGET:.0%} |")  # fmt: skip
        print(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
