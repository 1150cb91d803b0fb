"""The `jobkeeper` client commands end to end, against a real `jobkeeper serve` on a free port."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Server, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("cli")
    running = Server(folder / "data", folder / "server.log").wait_healthy()
    yield running
    running.stop()
    print(running.output())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config" / "jobkeeper.json"


def admin_token(server: Server) -> str:
    return (server.data / "admin-token").read_text().strip()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this machine's JOBKEEPER_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBKEEPER_")}
    return {**env, "NO_COLOR": "1", **extra}


def jk(
    server: Server | None,
    *args: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `jobkeeper ARGS` (piped, so plain output) against `server` as admin unless told."""
    base = clean_env(JOBKEEPER_CONFIG=os.devnull)
    if server is not None:
        base |= {"JOBKEEPER_URL": server.url, "JOBKEEPER_TOKEN": token or admin_token(server)}
    return subprocess.run(
        [sys.executable, "-m", "jobkeeper", *args],
        capture_output=True, text=True, timeout=timeout, input=stdin, env={**base, **(env or {})},
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def refused(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """Assert the command ended with `code` and one line on stderr holding `words`."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert line.count("\n") == 0, result.stderr
    assert all(word in line for word in words), line
    return line


def submit(server: Server, kind: str, *params: str) -> int:
    args = [arg for param in params for arg in ("-p", param)]
    return int(ok(jk(server, "submit", kind, *args)).strip())


# Where and who.


def test_a_local_serve_with_defaults_needs_no_setup(server: Server) -> None:
    env = clean_env(JOBKEEPER_PORT=str(server.port), JOBKEEPER_DATA=str(server.data),
                    JOBKEEPER_CONFIG=os.devnull)  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "jobkeeper", "kinds", "-o", "json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert "sleep" in {kind["name"] for kind in as_json(result)}


def test_login_checks_the_token_and_keeps_it_for_its_owner_only(
    server: Server, config: Path
) -> None:
    env = {"JOBKEEPER_CONFIG": str(config)}
    bad = jk(None, "login", server.url, "--token", "jk_wrong", env=env)
    refused(bad, 6, "401")
    assert not config.exists()
    ok(jk(None, "--profile", "here", "login", server.url, "--token", admin_token(server), env=env))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["profiles"]["here"]["url"] == server.url
    listed = jk(None, "users", "-o", "json", "--profile", "here", env=env)
    assert "admin" in {user["name"] for user in as_json(listed)}
    unknown = jk(None, "jobs", "--profile", "elsewhere", env=env)
    refused(unknown, 2, "elsewhere", "login")


def test_login_asks_for_the_token_when_not_given(server: Server, config: Path) -> None:
    env = {"JOBKEEPER_CONFIG": str(config)}
    ok(jk(None, "login", server.url, env=env, stdin=admin_token(server) + "\n"))
    assert json.loads(config.read_text())["profiles"]["default"]["token"] == admin_token(server)
    assert as_json(jk(None, "jobs", "-o", "json", env=env)) is not None


def test_a_wrong_token_exits_6_with_one_line(server: Server) -> None:
    refused(jk(server, "jobs", token="jk_not_a_token"), 6, "401", "--token")


def test_an_unreachable_server_exits_8_naming_its_url() -> None:
    for args in (["jobs"], ["watch", "1"], ["logs", "1", "-f"], ["wait", "1"]):
        result = jk(None, "--url", "http://127.0.0.1:9", *args, env={"JOBKEEPER_TOKEN": "x"})
        refused(result, 8, "http://127.0.0.1:9")


# Submitting and listing.


def test_submit_prints_the_id_and_takes_params_from_flags_and_a_file(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=0.2", "step=0.1")
    assert server.job(job_id)["params"] == {"seconds": 0.2, "step": 0.1}
    job = as_json(jk(server, "submit", "sleep", "--params-file", "-", "-p", "step=0.05",
                     "--name", "nap", "-o", "json", stdin='{"seconds": 0.1, "step": 1}'))  # fmt: skip
    assert (job["name"], job["params"]) == ("nap", {"seconds": 0.1, "step": 0.05})


def test_submit_with_the_same_idempotency_key_gives_the_same_job(server: Server) -> None:
    args = ("submit", "sleep", "-p", "seconds=0.1", "--idempotency-key", "cli-test-key-1")
    assert ok(jk(server, *args)) == ok(jk(server, *args))
    refused(
        jk(server, "submit", "sleep", "-p", "seconds=0.2", "--idempotency-key", "cli-test-key-1"), 2
    )


def test_submit_for_another_owner_not_before_a_time_and_with_a_deadline(server: Server) -> None:
    ok(jk(server, "users", "add", "erin"))
    job = as_json(jk(server, "submit", "sleep", "-p", "seconds=1", "--owner", "erin",
                     "--not-before", "2099-01-01T00:00:00Z", "--deadline", "2099-01-02T00:00:00Z",
                     "-o", "json"))  # fmt: skip
    assert (job["owner"], job["status"]) == ("erin", "queued")
    assert job["not_before"].startswith("2099-01-01") and job["deadline"].startswith("2099-01-02")
    refused(jk(server, "submit", "sleep", "-p", "seconds=1", "--not-before", "soon"), 2, "not_before")
    ok(jk(server, "cancel", str(job["id"])))


def test_submit_refuses_bad_input_with_a_usage_status(server: Server, tmp_path: Path) -> None:
    refused(jk(server, "submit", "no-such-kind"), 2, "no-such-kind")
    refused(jk(server, "submit", "sleep", "-p", "seconds"), 2, "key=value")
    refused(jk(server, "submit", "sleep", "-p", "seconds=-1"), 2, "seconds")
    (tmp_path / "list.json").write_text("[1, 2]")
    refused(
        jk(server, "submit", "sleep", "--params-file", str(tmp_path / "list.json")), 2, "object"
    )
    refused(jk(server, "submit", "sleep", "--wait", "--follow"), 2, "--wait")


def test_submit_wait_exits_by_how_the_job_ended(server: Server) -> None:
    done = jk(
        server, "submit", "sleep", "-p", "seconds=0.2", "-p", "step=0.1", "--wait", "-o", "json"
    )
    assert as_json(done)["status"] == "succeeded"
    failed = jk(server, "submit", "fail", "-p", "after_steps=1", "--wait")
    assert failed.returncode == 1 and failed.stdout.split()[1] == "failed", failed


def test_jobs_lists_newest_first_with_filters_and_pages(server: Server) -> None:
    ids = [submit(server, "sleep", "seconds=0.1", "step=0.1") for _ in range(3)]
    for job_id in ids:
        server.wait_status(job_id, "succeeded")
    everything = as_json(jk(server, "jobs", "--all", "--limit", "1", "-o", "json"))
    assert [job["id"] for job in everything] == server.ids("/jobs?limit=1000")
    assert len(everything) >= 3
    two = as_json(jk(server, "jobs", "--limit", "2", "-o", "json"))
    assert [job["id"] for job in two] == sorted(ids, reverse=True)[:2]
    kinds = {
        job["kind"] for job in as_json(jk(server, "jobs", "--kind", "fail", "--all", "-o", "json"))
    }
    assert kinds <= {"fail"}
    statuses = as_json(
        jk(server, "jobs", "--status", "failed", "--status", "cancelled", "-o", "json")
    )
    assert {job["status"] for job in statuses} <= {"failed", "cancelled"}
    finished = as_json(jk(server, "jobs", "--finished", "--all", "-o", "json"))
    assert set(ids) <= {job["id"] for job in finished}
    table = ok(jk(server, "jobs", "--limit", "1")).splitlines()
    assert table[0].split("\t")[:2] == [str(max(ids)), "succeeded"]


def test_show_and_history_of_a_job(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=0.2", "step=0.1")
    server.wait_status(job_id, "succeeded")
    assert as_json(jk(server, "show", str(job_id), "-o", "json")) == server.job(job_id)
    first = as_json(jk(server, "show", str(job_id), "--at", "1", "-o", "json"))
    assert (first["status"], first["version"]) == ("queued", 1)
    assert "status\tsucceeded" in ok(jk(server, "show", str(job_id)))
    history = as_json(jk(server, "history", str(job_id), "-o", "json"))
    assert history == server.history(job_id)
    assert ok(jk(server, "history", str(job_id))).splitlines()[0].split("\t")[:2] == [
        "1",
        "Submitted",
    ]
    paged = as_json(jk(server, "history", str(job_id), "--page-size", "1", "-o", "json"))
    assert paged == history and len(history) >= 3  # a page each
    newest = as_json(
        jk(server, "history", str(job_id), "--newest-first", "--page-size", "1", "-o", "json")
    )
    assert newest == history[::-1]
    types = as_json(
        jk(
            server,
            "history",
            str(job_id),
            "--type",
            "Submitted",
            "--type",
            "Succeeded",
            "-o",
            "json",
        )
    )
    assert [entry["type"] for entry in types] == ["Submitted", "Succeeded"]
    refused(jk(server, "history", str(job_id), "--type", "Nonsense"), 2, "Nonsense")
    refused(jk(server, "show", "999999"), 5, "999999")
    refused(jk(server, "history", "999999"), 5, "999999")


def test_history_export_streams_the_whole_history_with_hashes(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=0.2", "step=0.1")
    server.wait_status(job_id, "succeeded")
    history = server.history(job_id)
    lines = ok(jk(server, "history", str(job_id), "--export", "ndjson")).splitlines()
    assert [json.loads(line) for line in lines] == history
    assert all(len(entry["hash"]) == 64 for entry in history)
    rows = ok(jk(server, "history", str(job_id), "--export", "csv")).splitlines()
    assert rows[0] == "version,type,at,by,hash,data"
    assert [row.split(",")[4] for row in rows[1:]] == [entry["hash"] for entry in history]
    refused(jk(server, "history", "999999", "--export", "csv"), 5, "999999")
    refused(jk(server, "history", str(job_id), "--export", "csv", "--newest-first"), 2, "--export")
    refused(jk(server, "history", str(job_id), "--export", "xml"), 2, "xml")


# Commands on jobs.


def test_commands_print_a_line_per_job_and_name_the_status_when_refused(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=60", "step=0.1")
    server.wait_progress(job_id)
    refused(jk(server, "restart", str(job_id)), 7, "running", "stop, cancel")
    stopped = jk(server, "stop", str(job_id), str(job_id))
    assert ok(stopped).splitlines()[0].startswith(f"job {job_id}: stop recorded")
    server.wait_status(job_id, "stopped")
    again = ok(jk(server, "stop", str(job_id)))
    assert again.strip() == f"job {job_id}: already stopped"
    resumed = as_json(jk(server, "resume", str(job_id), "-o", "json"))
    assert resumed[0]["done"] and resumed[0]["job"]["status"] in ("queued", "running")
    both = jk(server, "cancel", str(job_id), "999999", "-o", "json")
    assert both.returncode == 5
    cancelled = json.loads(both.stdout)
    assert cancelled[0]["done"] and not cancelled[1]["done"] and "999999" in cancelled[1]["error"]
    server.wait_status(job_id, "cancelled")
    refused(jk(server, "resume", "999999"), 5, "999999")
    refused(jk(server, "resume", str(job_id)), 7, "cancelled", "restart")
    both = jk(server, "restart", "999999", str(job_id))
    assert both.returncode == 5 and both.stdout.startswith(f"job {job_id}: restart recorded")


def test_commands_on_someone_elses_job_exit_6(server: Server) -> None:
    added = as_json(jk(server, "users", "add", "bob", "-o", "json"))
    bob = added["token"]["token"]
    job_id = submit(server, "sleep", "seconds=0.1", "step=0.1")
    refused(jk(server, "cancel", str(job_id), token=bob), 6, str(job_id))


# Following.


def test_wait_exits_by_status_and_times_out_with_124(server: Server) -> None:
    done = submit(server, "sleep", "seconds=0.1", "step=0.1")
    failed = submit(server, "fail", "after_steps=0")
    long = submit(server, "sleep", "seconds=120", "step=0.1")
    assert ok(jk(server, "wait", str(done))).split() == [str(done), "succeeded"]
    assert jk(server, "wait", str(done), str(failed)).returncode == 1
    timed = jk(server, "wait", str(long), "--timeout", "0.5", "-o", "json")
    assert timed.returncode == 124 and json.loads(timed.stdout)[0]["id"] == long
    ok(jk(server, "stop", str(long)))
    assert jk(server, "wait", str(long), str(done)).returncode == 4
    ok(jk(server, "cancel", str(long)))
    assert jk(server, "wait", str(done), str(long)).returncode == 3


def test_logs_pages_tails_and_lists_every_job(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=0.2", "step=0.1")
    server.wait_status(job_id, "succeeded")
    lines = as_json(jk(server, "logs", str(job_id), "-o", "json"))
    assert [line["text"] for line in lines] == ["sleeping 0.2 of 0.2 seconds", "slept 0.2 seconds"]
    assert (
        ok(jk(server, "logs", str(job_id), "--tail", "1")).split("\t")[1].strip()
        == "slept 0.2 seconds"
    )
    every = as_json(jk(server, "logs", "--all", "-o", "json"))
    assert {line["id"] for line in lines} <= {line["id"] for line in every}
    refused(jk(server, "logs"), 2, "--all")
    refused(jk(server, "logs", "999999"), 5, "999999")


def test_logs_follow_ends_when_the_job_ends(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=2", "step=0.1")
    server.wait_progress(job_id)
    followed = jk(server, "logs", str(job_id), "-f", timeout=30)
    texts = [line.split("\t")[1] for line in ok(followed).splitlines()]
    assert texts == ["sleeping 2 of 2 seconds", "slept 2 seconds"]
    assert server.job(job_id)["status"] == "succeeded"
    tail = jk(server, "logs", str(job_id), "-f", "--tail", "1", "-o", "json", timeout=30)
    assert [json.loads(line)["text"] for line in ok(tail).splitlines()] == ["slept 2 seconds"]


def test_watch_ends_with_4_when_someone_else_stops_the_job(server: Server) -> None:
    job_id = submit(server, "sleep", "seconds=60", "step=0.1")
    server.wait_progress(job_id)
    watching = subprocess.Popen(
        [sys.executable, "-m", "jobkeeper", "watch", str(job_id), "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(JOBKEEPER_URL=server.url, JOBKEEPER_TOKEN=admin_token(server),
                      JOBKEEPER_CONFIG=os.devnull),
    )  # fmt: skip
    assert watching.stdout is not None
    first = json.loads(watching.stdout.readline())  # it is watching now
    assert first["event"] == "status" and first["data"]["status"] == "running"
    server.post(f"/jobs/{job_id}/stop")
    assert watching.wait(30) == 4
    events = [json.loads(line) for line in watching.stdout.read().splitlines()]
    assert events[-1]["event"] == "status" and events[-1]["data"]["status"] == "stopped"
    assert {event["event"] for event in events} <= {"status", "progress", "log"}
    plain = jk(server, "watch", str(job_id))
    assert plain.returncode == 4 and plain.stdout.split("\t")[:2] == ["status", "stopped"]
    server.post(f"/jobs/{job_id}/cancel")
    assert jk(server, "watch", str(job_id)).returncode == 3
    refused(jk(server, "watch", "999999"), 5, "999999")
    refused(jk(server, "logs", "999999", "-f"), 5, "999999")


@pytest.mark.parametrize("command", [["watch"], ["logs", "-f"]], ids=["watch", "logs-f"])
def test_ctrl_c_while_following_leaves_the_job_alone_and_exits_130(
    server: Server, command: list[str]
) -> None:
    job_id = submit(server, "sleep", "seconds=60", "step=0.1")
    server.wait_progress(job_id)
    watching = subprocess.Popen(
        [sys.executable, "-m", "jobkeeper", command[0], str(job_id), *command[1:], "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(JOBKEEPER_URL=server.url, JOBKEEPER_TOKEN=admin_token(server),
                      JOBKEEPER_CONFIG=os.devnull),
    )  # fmt: skip
    assert watching.stdout is not None
    watching.stdout.readline()
    watching.send_signal(signal.SIGINT)
    assert watching.wait(30) == 130
    assert watching.stderr is not None and "Traceback" not in watching.stderr.read()
    assert server.job(job_id)["status"] == "running"
    server.post(f"/jobs/{job_id}/cancel")


def test_submit_follow_watches_until_the_end(server: Server) -> None:
    result = jk(server, "submit", "sleep", "-p", "seconds=0.3", "-p", "step=0.1", "--follow")
    assert result.returncode == 0, result
    assert result.stdout.splitlines()[-1].split("\t")[:2] == ["status", "succeeded"]


# Who and what.


def test_kinds_users_and_tokens_over_the_api(server: Server) -> None:
    kinds = {kind["name"]: kind for kind in as_json(jk(server, "kinds", "-o", "json"))}
    assert "seconds" in kinds["sleep"]["params_schema"]["properties"]
    assert any(
        line.startswith("sleep\tseconds (number), step=1.0")
        for line in ok(jk(server, "kinds")).splitlines()
    )
    added = ok(jk(server, "users", "add", "carol", "--surname", "Shaw"))
    carol = added.strip()
    assert carol.startswith("jk_")
    users = {user["name"]: user for user in as_json(jk(server, "users", "-o", "json"))}
    assert users["carol"]["surname"] == "Shaw"
    refused(jk(server, "users", "add", "dave", token=carol), 6)
    issued = as_json(
        jk(server, "tokens", "issue", "--user", "carol", "--label", "ci", "-o", "json")
    )
    listed = as_json(jk(server, "tokens", "--user", "carol", "-o", "json"))
    assert issued["token_id"] in {token["token_id"] for token in listed}
    assert ok(jk(server, "jobs", "--limit", "1", token=issued["token"])) is not None
    ok(jk(server, "tokens", "revoke", issued["token_id"], "--user", "carol"))
    wait_for(lambda: jk(server, "jobs", token=issued["token"]).returncode == 6, 10, "revoked")
    refused(jk(server, "tokens", "revoke", "nope", "--user", "carol"), 5)
    refused(jk(server, "tokens"), 2, "--user")


def test_every_command_has_help_with_an_example(server: Server) -> None:
    commands = ["submit", "jobs", "show", "history", "stop", "resume", "cancel", "restart",
                "logs", "watch", "wait", "kinds", "users", "tokens", "login", "views"]  # fmt: skip
    for command in commands:
        shown = ok(jk(None, command, "--help"))
        assert "Example" in shown and f"jobkeeper {command}" in shown, command
    assert "124" in ok(jk(None, "--help"))
    refused(jk(None, "wait"), 2, "ID")
    refused(jk(None, "jobs", "--limit", "zero"), 2, "--limit")


def on_a_terminal(server: Server, *args: str, **env: str) -> str:
    """What `jobkeeper ARGS` writes to a terminal (a pseudo-terminal of 120 columns)."""
    import pty

    leader, follower = pty.openpty()
    environment = clean_env(JOBKEEPER_URL=server.url, JOBKEEPER_TOKEN=admin_token(server),
                            JOBKEEPER_CONFIG=os.devnull, TERM="xterm-256color", COLUMNS="120")  # fmt: skip
    environment.pop("NO_COLOR")
    process = subprocess.Popen(
        [sys.executable, "-m", "jobkeeper", *args],
        stdin=follower, stdout=follower, stderr=follower, env={**environment, **env},
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed: the command is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(30) == 0
    return b"".join(chunks).decode(errors="replace")


def test_tables_are_coloured_on_a_terminal_unless_no_color_and_never_when_piped(
    server: Server,
) -> None:
    job_id = submit(server, "sleep", "seconds=0.1", "step=0.1")
    server.wait_status(job_id, "succeeded")
    coloured = on_a_terminal(server, "jobs", "--limit", "3")
    assert "\x1b[32m" in coloured and "succeeded" in coloured and "STATUS" in coloured
    plain = on_a_terminal(server, "jobs", "--limit", "3", NO_COLOR="1")
    assert "\x1b[3" not in plain and "succeeded" in plain
    piped = ok(jk(server, "jobs", "--limit", "3", env={"TERM": "xterm-256color"}))
    assert "\x1b" not in piped and "STATUS" not in piped
