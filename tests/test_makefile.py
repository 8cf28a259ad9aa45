"""`make tune` keeps the offline profile unless a profile is named; TUNE_ARGS only adds flags."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from scripts.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _tune(*variables: str) -> list[str]:
    """The `scripts run` command `make tune VARIABLES...` would run (printed, not run: `make -n`)."""
    out = subprocess.run(
        ["make", "-n", "tune", *variables], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    (line,) = [line for line in out.splitlines() if " -m scripts run " in line]
    return shlex.split(line)[1:]


def test_tune_runs_the_default_experiment_offline():
    assert _tune() == ["-m", "scripts", "run", "horses-humans", "--backend", "local", "--profile", "offline"]


def test_tune_args_add_flags_and_keep_the_offline_profile():
    assert _tune("TUNE_ARGS=--force --set max_trial_count=2")[-5:] == [
        "--profile",
        "offline",
        "--force",
        "--set",
        "max_trial_count=2",
    ]


def test_a_named_profile_replaces_offline_and_an_empty_one_means_none():
    assert _tune("PROFILE=fast", "EXPERIMENT=horses-humans-grid", "SEED=3")[3:] == [
        "horses-humans-grid",
        "--backend",
        "local",
        "--profile",
        "fast",
        "--seed",
        "3",
    ]
    assert "--profile" not in _tune("PROFILE=")
