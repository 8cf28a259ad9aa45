"""One wiring point: the CLI reads the process environment once and hands what it built down.

The commands and everything below them take the environment (and the backend, the GitHub client,
the step's outputs) from the `Wiring` the CLI built; nothing else in the product reads `os.environ`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from scripts import cli
from scripts.github.api import GitHubError
from scripts.github.runner import Step
from scripts.paths import REPO_ROOT
from scripts.wiring import Wiring
from tests.scripts.experiments.helpers import EXPERIMENT, HEADER

# The wiring point; the emulator's trial launcher, which passes its environment on to the trainer
# it starts; the trainer's own door to the environment Vertex AI gives a trial.
READERS = {"scripts/wiring.py", "scripts/emulator/trials.py", "trainer/environment.py"}


def _product_modules() -> dict[str, ast.Module]:
    return {
        path.relative_to(REPO_ROOT).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for package in ("scripts", "trainer")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    }


def _reads_process_environment(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and node.attr in {"environ", "getenv"}
        for node in ast.walk(tree)
    )


def _names(tree: ast.Module, *names: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in names:
            return True
        if isinstance(node, ast.Name) and node.id in names:
            return True
        if isinstance(node, ast.alias) and node.name in names:
            return True
    return False


def test_only_the_wiring_point_reads_the_process_environment():
    readers = {name for name, tree in _product_modules().items() if _reads_process_environment(tree)}
    assert readers == READERS


def test_only_the_contract_and_the_backend_choice_name_the_emulator_variable():
    naming = {
        name
        for name, tree in _product_modules().items()
        if _names(tree, "VERTEX_AI_EMULATOR_HOST", "EMULATOR_HOST_ENV")
    }
    assert naming == {"scripts/emulator/contract.py", "scripts/vertex/backend.py"}


def _bucket_file(tmp_path: Path) -> Path:
    """An experiments file whose staging bucket (so its jobs' output directory) is `$HPT_STAGING_BUCKET`."""
    file = tmp_path / "experiments.yaml"
    file.write_text(HEADER.replace("gs://my-bucket", "${HPT_STAGING_BUCKET}") + EXPERIMENT)
    return file


def _output_directory(printed: str) -> str:
    return json.loads(printed)["trialJobSpec"]["baseOutputDirectory"]["outputUriPrefix"]


def test_a_command_reads_the_environment_it_is_wired_with(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HPT_STAGING_BUCKET", "gs://from-the-process")
    wiring = Wiring({"HPT_STAGING_BUCKET": "gs://from-the-wiring"})
    file = _bucket_file(tmp_path)

    assert cli.main(["plan", "exp", "--file", str(file), "--commit", "a" * 40], wiring=wiring) == 0

    assert _output_directory(capsys.readouterr().out).startswith("gs://from-the-wiring/hpt/exp/")


def test_without_a_wiring_the_cli_takes_the_process_environment_as_it_is_when_it_runs(
    tmp_path, monkeypatch, capsys
):
    file = _bucket_file(tmp_path)
    monkeypatch.setenv("HPT_STAGING_BUCKET", "gs://set-just-before")
    assert cli.main(["plan", "exp", "--file", str(file), "--commit", "a" * 40]) == 0
    assert _output_directory(capsys.readouterr().out).startswith("gs://set-just-before/hpt/exp/")


def test_the_wiring_builds_the_backend_from_its_environment(tmp_path):
    local = Wiring({"VERTEX_AI_EMULATOR_HOST": "127.0.0.1:8470", "HPT_STATE_DIR": str(tmp_path)})
    assert local.backend.emulator == "127.0.0.1:8470"
    assert local.backend.local_state_dir == local.state_dir == tmp_path.resolve()
    assert local.backend is local.backend  # built once
    vertex = Wiring({"HPT_REGISTRY_URL": "http://127.0.0.1:5000"})
    assert not vertex.backend.is_emulator and vertex.backend.registry_url == "http://127.0.0.1:5000"
    assert vertex.state_dir == (REPO_ROOT / ".hpt").resolve()


def test_the_github_client_comes_from_the_wirings_environment():
    with pytest.raises(GitHubError, match="GITHUB_TOKEN is not set"):
        Wiring({"GITHUB_REPOSITORY": "octo/repo"}).github()
    env = {
        "GITHUB_REPOSITORY": "octo/repo",
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": "http://127.0.0.1:1",
        "HPT_COMMENT_AUTHOR": "hpt-bot",
        "HPT_COMMENT_SETTLE_SECONDS": "0",
    }
    client = Wiring(env).github()
    assert (client.repository, client.api_url) == ("octo/repo", "http://127.0.0.1:1")
    assert (client.comment_author, client.comment_settle_seconds) == ("hpt-bot", 0.0)
    defaults = Wiring({"GITHUB_REPOSITORY": "octo/repo", "GITHUB_TOKEN": "t"}).github()
    assert (defaults.comment_author, defaults.comment_settle_seconds) == ("github-actions[bot]", 2.0)


def test_a_steps_annotations_follow_its_environment_not_the_process_one(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    Step({"GITHUB_ACTIONS": "true"}).notice("a\nb")
    Step({}).warning("plain")
    assert capsys.readouterr().err == "::notice::a%0Ab\nplain\n"


def test_the_one_reporter_escapes_each_line_for_where_it_is_read(capsys):
    """`say` writes progress and errors to stderr, a line at a time: plain text as it is; a control
    character shown as its escape on a terminal; in a runner's log, no line starts a workflow command."""
    hostile = "job 1\n  ::stop-commands::x\x1b[2J ##[add-mask]y"
    Wiring({}).say(hostile)
    terminal = capsys.readouterr()
    assert terminal.out == ""
    assert terminal.err == "job 1\n  ::stop-commands::x\\x1b[2J ##[add-mask]y\n"
    Wiring({"GITHUB_ACTIONS": "true"}).say(hostile)
    log = capsys.readouterr().err.splitlines()
    assert log[0] == "job 1"
    assert "::" not in log[1] and "##[" not in log[1] and "\x1b" not in log[1]
    assert log[1].replace("\u200b", "") == "  ::stop-commands::x\\x1b[2J ##[add-mask]y"


def test_a_steps_outputs_go_to_its_own_output_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "process-output"))
    Step({"GITHUB_OUTPUT": str(tmp_path / "step-output")}).set_output("jobs", "a b")
    assert (tmp_path / "step-output").read_text() == "jobs=a b\n"
    assert not (tmp_path / "process-output").exists()
