"""`make tune` keeps the offline profile unless a profile is named; TUNE_ARGS only adds flags; it
ends with the comparison of the job it ran."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from scripts.emulator.embedded import running_emulator
from scripts.paths import REPO_ROOT
from tests.scripts.github.project import BASE_EXPERIMENTS, STANDIN

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _tune(*variables: str) -> list[str]:
    """The `scripts run` command `make tune VARIABLES...` would run (printed, not run: `make -n`)."""
    out = subprocess.run(
        ["make", "-n", "tune", *variables], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    (line,) = [line for line in out.splitlines() if " -m scripts run " in line]
    # The job's JSON (stdout) goes to a file that names the job for compare: `--json > FILE`.
    command = shlex.split(line.split(">")[0])[1:]
    assert command[-1] == "--json", line
    return command[:-1]


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


@pytest.mark.slow
def test_tune_ends_with_the_verdict_against_the_newest_job_at_another_commit(tmp_path):
    """Two `make tune` runs of one experiment at two commits (stand-in trials on an emulator): the
    first says there is no baseline, the second compares with the first."""
    experiments = tmp_path / "experiments.yaml"
    experiments.write_text(BASE_EXPERIMENTS)
    with running_emulator(tmp_path / "state", entrypoint=(sys.executable, str(STANDIN))) as address:
        env = {**os.environ, "VERTEX_AI_EMULATOR_HOST": address}

        def tune(commit: str) -> str:
            # -o: take the install as done (the suite runs in the installed environment).
            done = subprocess.run(
                ["make", "-s", "-o", ".venv/.installed", "tune", "EXPERIMENT=quick", "PROFILE="]
                + [f"TUNE_ARGS=--file {experiments} --commit {commit} --poll-interval 0.1"],
                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-2000:]
            return done.stdout

        first = tune("c1")
        assert first.lstrip().startswith("verdict: no baseline"), first
        second = tune("c2")
    assert second.lstrip().startswith("verdict: "), second
    assert "no baseline" not in second.splitlines()[0]
    (commits,) = [line.split()[1:] for line in second.splitlines() if line.startswith("commit ")]
    assert commits == ["c2", "c1"]
