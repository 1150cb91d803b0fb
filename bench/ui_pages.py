"""The web app's pages at 10,000 and 1,000,000 jobs: time to first render, and bytes moved.

Both stores start from one store of 10,000 jobs written through the engine
(`bench/stores.py`: real events, the views caught up by the service's own projector). The
big store is that store grown to 1,000,000 jobs in SQLite itself, in seconds rather than the
engine's many minutes: the stored events of its finished jobs are copied under new job ids
(`INSERT ... SELECT` on `stored_events`), their rows in the jobs and logs views likewise, and
the views' tracking position is moved past the copies so the projector does not apply them
again. Every table and index then holds a hundred times the rows, which is what the pages'
queries feel; the copied jobs keep their original's `number` inside their events, so they are
ballast that the benchmark lists but never opens.

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
import time
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
LINE_ID_STRIDE = 10**13  # log line ids of copy k are the original's + k × this (ids stay unique)
BUDGET = 250 * 1024  # the first page load's budget in bytes


def grow(data: Path, jobs: int, base: int) -> None:
    """Grow the store in `data` (of `base` jobs) to `jobs` jobs by copying its finished jobs."""
    events = sqlite3.connect(data / "events.db")
    views = sqlite3.connect(data / "views.db")
    finished = [row[0] for row in views.execute(
        "SELECT id FROM view_jobs WHERE phase = 'finished' ORDER BY id")]  # fmt: skip
    copies, extra = divmod(jobs - base, len(finished))
    views.execute("CREATE TEMP TABLE source (id INTEGER PRIMARY KEY)")
    events.execute("CREATE TEMP TABLE source (id TEXT PRIMARY KEY)")
    number = base
    started = time.perf_counter()
    for k in range(1, copies + 2):
        chosen = finished if k <= copies else finished[:extra]
        if not chosen:
            break
        offset = number - min(chosen) + 1
        views.execute("DELETE FROM source")
        events.execute("DELETE FROM source")
        views.executemany("INSERT INTO source VALUES (?)", [(i,) for i in chosen])
        events.executemany("INSERT INTO source VALUES (?)", [(f"job-{i}",) for i in chosen])
        # Ids of copy k: original + offset, so they run on from the last job, newest last.
        events.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "SELECT 'job-' || (CAST(substr(originator_id, 5) AS INTEGER) + ?), "
            "originator_version, topic, state FROM stored_events "
            "WHERE originator_id IN (SELECT id FROM source)", (offset,))  # fmt: skip
        columns = [row[1] for row in views.execute("PRAGMA table_info(view_jobs)")]
        values = ", ".join("id + ?" if c == "id" else c for c in columns)
        views.execute(
            f"INSERT INTO view_jobs ({', '.join(columns)}) SELECT {values} FROM view_jobs "
            "WHERE id IN (SELECT id FROM source)", (offset,))  # fmt: skip
        views.execute(
            "INSERT INTO view_logs (id, job_id, line, at, text) SELECT id + ?, job_id + ?, line, "
            "at, text FROM view_logs WHERE job_id IN (SELECT id FROM source)",
            (k * LINE_ID_STRIDE, offset),
        )
        number += len(chosen)
        events.commit()
        views.commit()
        if k % 10 == 0:
            print(f"  grown to {number:,} jobs ({time.perf_counter() - started:.0f} s)", flush=True)
    last = events.execute("SELECT max(rowid) FROM stored_events").fetchone()[0]
    views.execute("UPDATE tracking SET notification_id = ?", (last,))
    views.commit()
    for db in (events, views):
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    print(f"  {number:,} jobs in {time.perf_counter() - started:.0f} s", flush=True)


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
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "jobkeeper-bench")
    parser.add_argument("--big", type=int, default=BIG_JOBS)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    base = ensure_store(BASE_JOBS, args.cache)
    work = Path(tempfile.mkdtemp(prefix="ui-pages-"))
    try:
        small = base.copy_to(work / "small")
        big = base.copy_to(work / "big")
        print(f"growing a copy of the {BASE_JOBS:,}-job store to {args.big:,} jobs", flush=True)
        grow(big, args.big, BASE_JOBS)
        views = sqlite3.connect(small / "views.db")
        job_id = views.execute(
            "SELECT id FROM view_jobs WHERE status = 'succeeded' AND id > ? ORDER BY id LIMIT 1",
            (BASE_JOBS // 2,),
        ).fetchone()[0]
        views.close()
        pages = {"jobs page (/jobs)": "/jobs", f"job page (/jobs/{job_id})": f"/jobs/{job_id}"}
        results: dict[str, dict[str, Any]] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for label, data, jobs in (("10k", small, BASE_JOBS), ("1M", big, args.big)):
                service = jobkeeper_serve(data, work / f"{label}.log").start(timeout=300)
                try:
                    state = signed_in(service.url, browser)
                    for name, path in pages.items():
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
