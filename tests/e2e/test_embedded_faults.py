"""The embedded service when its data folder's disk fills up or its SQLite files cannot be
written: 503 with Retry-After and a message saying so, nothing recorded is lost, reads go
on, and it takes writes again once space (or write access) is back.

The data folder is a small ext4 file system in a loop file, so the disk really fills up,
and `chattr +i` makes the files unwritable even for root (whom file modes do not stop).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.e2e.harness import TERMINAL, Server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DISK_MB = 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A freshly made ext4 file system of DISK_MB megabytes, mounted from a loop file."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("mkfs.ext4", "chattr", "mount")):
        service_missing("a loop-mounted file system (needs root, mkfs.ext4, chattr)",
                        PermissionError("not root or tools missing"))  # fmt: skip
    image, mountpoint = tmp_path / "disk.img", tmp_path / "disk"
    mountpoint.mkdir()
    with image.open("wb") as file:
        file.truncate(DISK_MB * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        service_missing("a loop-mounted file system", OSError(mounted.stderr.strip()))
    try:
        yield mountpoint
    finally:
        subprocess.run(["chattr", "-R", "-i", str(mountpoint)], capture_output=True)
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


@pytest.fixture
def server(small_disk: Path, tmp_path: Path) -> Iterator[Server]:
    running = Server(small_disk / "data", tmp_path / "serve.log")
    try:
        yield running.wait_healthy()
    finally:
        running.stop()
        print(running.output()[-3000:])


def submit(server: Server) -> Any:
    body = {"kind": "sleep", "params": {"seconds": 0.1, "step": 0.05}}
    return server.http.post(f"{server.url}/api/v1/jobs", json=body, timeout=20)


def refused_submits(server: Server, accepted: list[int], tries: int = 300) -> Any:
    """Submit until one is refused; the ones accepted meanwhile go into `accepted`."""
    for _ in range(tries):
        response = submit(server)
        if response.status_code != 201:
            return response
        accepted.append(int(response.json()["id"]))
    raise AssertionError(f"{tries} submits were all accepted")


def assert_all_kept(server: Server, accepted: list[int]) -> None:
    """Every job whose submit was answered 201 ran to its end, and the views list it."""
    for job_id in accepted:
        job = server.wait_status(job_id, *TERMINAL, timeout=60)
        assert job["status"] == "succeeded", job
        assert server.history(job_id)[0]["type"] == "Submitted"
    listed = lambda: set(accepted) <= set(server.ids("/jobs?limit=1000"))  # noqa: E731
    wait_for(listed, 60, "the views list every accepted job")
    assert "unexpected error" not in server.output()


def test_a_full_disk_answers_503_loses_nothing_and_recovers(
    server: Server, small_disk: Path
) -> None:
    accepted = [int(submit(server).json()["id"]) for _ in range(5)]
    for job_id in accepted:
        server.wait_status(job_id, "succeeded", timeout=60)
    filler = small_disk / "filler"
    fill(filler)
    refused = refused_submits(server, accepted)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert "disk is full" in refused.json()["description"], refused.json()
    command = server.http.post(f"{server.url}/api/v1/jobs/{accepted[0]}/restart", timeout=20)
    assert command.status_code == 503, command.text
    assert server.job(accepted[0])["status"] == "succeeded"  # reads go on, nothing changed
    assert server.http.get(f"{server.url}/healthz", timeout=20).status_code == 200
    filler.unlink()
    response = wait_for(lambda: (r := submit(server)).status_code == 201 and r, 30, "a submit")
    accepted.append(int(response.json()["id"]))
    assert_all_kept(server, accepted)
    assert server.job(accepted[0])["attempt"] == 1  # the refused restart recorded nothing


def test_data_files_that_cannot_be_written_answer_503_and_recover(
    server: Server, small_disk: Path
) -> None:
    accepted = [int(submit(server).json()["id"]) for _ in range(5)]
    for job_id in accepted:
        server.wait_status(job_id, "succeeded", timeout=60)
    files = [str(p) for p in (small_disk / "data").glob("*.db*")]
    subprocess.run(["chattr", "+i", *files], check=True)
    try:
        refused = refused_submits(server, accepted, tries=20)
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert "cannot be written" in refused.json()["description"], refused.json()
        assert server.job(accepted[0])["status"] == "succeeded"
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    response = wait_for(lambda: (r := submit(server)).status_code == 201 and r, 30, "a submit")
    accepted.append(int(response.json()["id"]))
    assert_all_kept(server, accepted)


def fill(path: Path) -> None:
    """Write `path` until the disk has no room left."""
    with path.open("wb", buffering=0) as file:
        for size in (1024 * 1024, 4096, 512):
            block = b"\0" * size
            while True:
                try:
                    file.write(block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, error
                    break
