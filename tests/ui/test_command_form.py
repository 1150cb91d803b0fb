"""The submit form of the `command` kind: one choice per allowed command, then its fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.harness import Server
from tests.kinds.conftest import commands_toml
from tests.ui.conftest import ADMIN_TOKEN


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ui-command")
    commands = folder / "commands.toml"
    commands.write_text(commands_toml(folder))
    env = {"JOBKEEPER_ADMIN_TOKEN": ADMIN_TOKEN, "JOBKEEPER_CHECKPOINT_INTERVAL": "0.2",
           "JOBKEEPER_POLL_INTERVAL": "0.2", "JOBKEEPER_COMMANDS": str(commands)}  # fmt: skip
    started = Server(folder / "data", folder / "server.log", env)
    try:
        yield started.wait_healthy()
    finally:
        started.stop()


def test_a_command_is_chosen_then_its_params_filled_in(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page()
    page.goto("/submit?kind=command")
    choices = page.locator("#variant-choice option").all_inner_texts()
    assert choices == ["behave", "count", "slow", "spin", "stubborn"]
    assert page.locator("form.submit").count() == 0  # no fields before a command is chosen
    page.select_option("#variant-choice", "count")
    page.locator("form.kind-choice", has=page.locator("#variant-choice")).get_by_role(
        "button", name="Choose"
    ).click()
    page.wait_for_url("**/submit?kind=command&variant=count")
    assert page.locator("form.submit .hint").first.inner_text() == "Adds 1 to N, a number per step"
    assert page.locator("#f-command").count() == 0  # the choice is the command itself
    page.fill("#f-steps", "0")
    page.get_by_role("button", name="Submit").click()
    assert "steps" in page.locator("#form-error").inner_text()  # the kind's own check
    page.fill("#f-steps", "5")
    page.fill("#f-pause", "0.01")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    job = server.wait_status(job_id, "succeeded")
    assert job["params"]["command"] == "count" and job["params"]["steps"] == 5


@pytest.mark.parametrize(
    ("width", "dark"), [(1280, False), (1280, True), (360, False), (360, True)]
)
def test_a_parameter_with_allowed_values_is_a_list_to_pick_from(
    open_page: Callable[..., Any], server: Server, width: int, dark: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    page = open_page(width=width, dark=dark)
    page.goto("/submit?kind=command&variant=count")
    signal = page.locator("#f-signal")
    assert signal.evaluate("e => e.tagName") == "SELECT"
    assert signal.locator("option").all_inner_texts() == ["SIGUSR1"]
    assert signal.input_value() == "SIGUSR1"  # the schema's default
    page.goto("/submit?kind=command&variant=behave")
    what = page.locator("#f-what")
    assert what.evaluate("e => e.tagName") == "SELECT"
    assert what.locator("option").all_inner_texts()[1:] == [
        "args", "fail", "signal", "binary", "limits", "sleep", "orphan"
    ]  # fmt: skip
    what.select_option("sleep")
    assert what.input_value() == "sleep"
    shots = tmp_path_factory.getbasetemp() / "enum-shots"
    shots.mkdir(exist_ok=True)
    page.screenshot(
        path=str(shots / f"behave-{width}-{'dark' if dark else 'light'}.png"), full_page=True
    )
