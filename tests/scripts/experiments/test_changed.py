"""`changed` and the plan's "changes" section, on a throwaway git repository built here."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from scripts import cli
from scripts.errors import UserError
from scripts.experiments.changes import changes_between

from .helpers import HEADER

BASE = (
    HEADER
    + """\
experiments:
  kept:
    metric: {id: accuracy, goal: maximize}
    parameters:
      lr: {type: double, min: 0.001, max: 1, scale: log}
    max_trial_count: 4
    worker_pools: [{machine_type: n1-standard-4}]
  tuned:
    metric: {id: accuracy, goal: maximize}
    parameters:
      lr: {type: double, min: 0.001, max: 1, scale: log}
    max_trial_count: 4
    worker_pools: [{machine_type: n1-standard-4}]
  dropped:
    metric: {id: loss, goal: minimize}
    parameters:
      units: {type: discrete, values: [8, 16]}
    max_trial_count: 2
    worker_pools: [{machine_type: n1-standard-4}]
"""
)

# `kept` is rewritten in another style and order with a new description and label: still the same job.
HEAD = (
    HEADER
    + """\
experiments:
  new-one:
    metric: {id: accuracy, goal: maximize}
    parameters:
      lr: {type: double, min: 0.01, max: 1}
    max_trial_count: 2
    worker_pools: [{machine_type: n1-standard-4}]
  tuned:
    metric: {id: accuracy, goal: maximize}
    parameters:
      lr: {type: double, min: 0.001, max: 0.5, scale: log}
    max_trial_count: 8
    worker_pools: [{machine_type: n1-standard-4}]
  kept:
    description: the same study, written differently
    labels: {owner: someone}
    worker_pools:
      - machine_type: n1-standard-4
    max_trial_count: 4
    parameters:
      lr:
        scale: log
        max: 1.0
        min: 0.001
        type: double
    metric:
      goal: maximize
      id: accuracy
"""
)


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "README").write_text("no experiments yet\n")
    git(tmp_path, "add", "README")
    git(tmp_path, "commit", "-q", "-m", "empty")
    git(tmp_path, "tag", "empty")
    (tmp_path / "experiments.yaml").write_text(BASE)
    git(tmp_path, "add", "experiments.yaml")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "tag", "base")
    (tmp_path / "experiments.yaml").write_text(HEAD)
    git(tmp_path, "commit", "-q", "-am", "head")
    git(tmp_path, "tag", "head")
    return tmp_path


def test_compares_compiled_specs_not_text(repo):
    changes = changes_between("base", "head", repo / "experiments.yaml", {})
    assert changes.added == ["new-one"]
    assert list(changes.changed) == ["tuned"]
    assert changes.removed == ["dropped"]
    assert changes.unchanged == ["kept"]
    assert changes.to_submit == ["new-one", "tuned"]  # removed experiments are never submitted
    assert changes.changed["tuned"] == [
        "studySpec.parameters[0].doubleValueSpec.maxValue: 1.0 -> 0.5",
        "maxTrialCount: 4 -> 8",
    ]


def test_head_defaults_to_the_working_tree(repo):
    (repo / "experiments.yaml").write_text(BASE.replace("max_trial_count: 2", "max_trial_count: 3"))
    changes = changes_between("base", None, repo / "experiments.yaml", {})
    assert (changes.head, list(changes.changed), changes.added, changes.removed) == (
        "working tree",
        ["dropped"],
        [],
        [],
    )


def test_a_revision_without_the_file_makes_everything_added(repo):
    changes = changes_between("empty", "base", repo / "experiments.yaml", {})
    assert changes.added == ["kept", "tuned", "dropped"]


def test_an_unknown_revision_is_a_user_error(repo):
    with pytest.raises(UserError, match="unknown git revision 'no-such-branch'"):
        changes_between("no-such-branch", None, repo / "experiments.yaml", {})


def test_changed_command_json_for_workflows(repo, capsys):
    file = str(repo / "experiments.yaml")
    assert cli.main(["changed", "--base", "base", "--head", "head", "--file", file, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["to_submit"] == ["new-one", "tuned"]
    assert report["removed"] == ["dropped"] and report["unchanged"] == ["kept"]
    assert report["base"] == "base" and report["head"] == "head"


def test_changed_command_text(repo, capsys):
    file = str(repo / "experiments.yaml")
    assert cli.main(["changed", "--base", "base", "--head", "head", "--file", file]) == 0
    out = capsys.readouterr().out
    assert "  added      new-one" in out
    assert "  changed    tuned" in out and "maxTrialCount: 4 -> 8" in out
    assert "  removed    dropped (not submitted" in out


def test_changed_command_reports_an_invalid_revision_file_by_revision(repo, capsys):
    (repo / "experiments.yaml").write_text(HEAD.replace("max_trial_count: 8", "max_trial_count: eight"))
    git(repo, "commit", "-q", "-am", "broken")
    assert (
        cli.main(["changed", "--base", "base", "--head", "HEAD", "--file", str(repo / "experiments.yaml")])
        == 1
    )
    assert "HEAD:experiments.yaml:" in capsys.readouterr().err


def test_plan_markdown_says_what_changed_against_the_base(repo, capsys):
    file = str(repo / "experiments.yaml")
    assert (
        cli.main(
            [
                "plan",
                "tuned",
                "--file",
                file,
                "--format",
                "markdown",
                "--base",
                "base",
                "--commit",
                "c" * 40,
                "--set",
                "parallel_trial_count=2",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "#### Changes compared to `base`" in text
    assert "maxTrialCount: 4 -> 8" in text
    assert "parallelTrialCount" not in text.split("#### Changes")[1]  # same override on both sides
    assert cli.main(["plan", "kept", "--file", file, "--format", "markdown", "--base", "base"]) == 0
    assert "No change to the compiled job" in capsys.readouterr().out
    assert cli.main(["plan", "new-one", "--file", file, "--format", "markdown", "--base", "base"]) == 0
    assert "New experiment" in capsys.readouterr().out
