"""`python -m scripts compare` end to end: jobs run by `run --backend local` on the emulator with the
stand-in trainer, compared as a user would, the baseline found by the jobs' labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.scripts.github.project import BASE_EXPERIMENTS, REPO_ROOT, emulator

pytestmark = pytest.mark.slow

# The stand-in reports its `base` parameter as the accuracy: a narrow range per job decides
# which job is better, beyond any doubt a test could have.
EXPERIMENTS = BASE_EXPERIMENTS.replace("max_trial_count: 2", "max_trial_count: 4")
LOW = "parameters.base={type: double, min: 0.1, max: 0.2}"
HIGH = "parameters.base={type: double, min: 0.8, max: 0.9}"
COMMIT_A, COMMIT_B = "a" * 40, "b" * 40
# `run` polls the emulator at these intervals (its local default starts at 1 s and grows to 5 s):
# each run here waits for its job, and the trials of the stand-in end within a second.
FAST_POLLS = ("--poll-interval", "0.1", "--max-poll-interval", "0.2")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "scripts", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """An emulator running the stand-in, the environment that reaches it, a `run` helper, and each
    job `run` printed (its `--json`: the job at its end, trials and all), by name."""
    root = tmp_path_factory.mktemp("compare")
    experiments = root / "experiments.yaml"
    experiments.write_text(EXPERIMENTS)
    with emulator(REPO_ROOT, root / "state") as address:
        clean = {k: v for k, v in os.environ.items() if k not in {"GITHUB_SHA", "GITHUB_REPOSITORY"}}
        env = {**clean, "VERTEX_AI_EMULATOR_HOST": address, "GOOGLE_CLOUD_PROJECT": "demo-project"}
        printed: dict[str, str] = {}

        def run(commit: str, base: str, *extra: str) -> str:
            done = _cli(
                env, "run", "quick", "--backend", "local", "--file", str(experiments),
                "--commit", commit, "--set", base, "--json", *FAST_POLLS, *extra,
            )  # fmt: skip
            job = json.loads(done.stdout)
            assert job["state"] == "JOB_STATE_SUCCEEDED"
            printed[job["name"]] = done.stdout
            return job["name"]

        yield env, run, printed


def _compare(env: dict[str, str], *args: str) -> dict:
    return json.loads(_cli(env, "compare", *args, "--backend", "local", "--format", "json").stdout)


def test_compare_finds_its_baseline_by_experiment_and_commit_and_gives_a_verdict(local):
    env, run, _printed = local
    first = run(COMMIT_A, LOW)

    alone = _compare(env, first)
    assert alone["verdict"] == "no baseline" and alone["delta"] is None and alone["baseline"] is None
    assert alone["job"]["job"] == first and alone["job"]["commit"] == COMMIT_A
    assert "No SUCCEEDED job of experiment 'quick'" in alone["method"]

    second = run(COMMIT_B, HIGH)
    # Another job at the second commit, newer than both: never the baseline of its own commit.
    third = run(COMMIT_B, HIGH, "--seed", "3")

    data = _compare(env, third)
    assert data["verdict"] == "better"
    assert data["baseline"]["job"] == first and data["baseline"]["commit"] == COMMIT_A
    assert data["job"]["job"] == third and data["job"]["commit"] == COMMIT_B
    assert 0.8 <= data["job"]["best_value"] <= 0.9 and 0.1 <= data["baseline"]["best_value"] <= 0.2
    assert data["delta"] == pytest.approx(data["job"]["best_value"] - data["baseline"]["best_value"])
    assert set(data["job"]["best_parameters"]) == {"base"}
    assert data["evidence"]["p_value"] < data["evidence"]["threshold"]
    assert data["method"].startswith("Precedence test")
    assert data["evidence"]["job_trials_above_baseline_best"] == 4
    assert data["job"]["accelerator_hours"] is not None and data["job"]["completed_trials"] == 4

    # A named BASELINE is used as it is, even at the same commit; bare ids work locally.
    against = _compare(env, first, second.rsplit("/", 1)[-1])
    assert against["verdict"] == "worse" and against["baseline"]["job"] == second
    same = _compare(env, third, second)
    assert same["verdict"] in {"no clear difference", "better", "worse"}  # whatever the seeds gave
    assert same["baseline"]["commit"] == same["job"]["commit"] == COMMIT_B


def test_table_and_markdown_show_the_verdict_the_method_and_both_sides(local):
    env, run, _printed = local
    low, high = run(COMMIT_A, LOW), run(COMMIT_B, HIGH)
    table = _cli(env, "compare", high, low, "--backend", "local").stdout
    assert table.startswith("verdict: better")
    assert (
        "method: Precedence test" in table
        and "4 of this job's trials beat the baseline's best" in table
        and "best accuracy" in table
        and COMMIT_A[:12] in table
    )
    markdown = _cli(env, "compare", high, low, "--backend", "local", "--format", "markdown").stdout
    assert markdown.startswith("**Verdict: better**")
    assert "| | this job | baseline |" in markdown and "not billed" in markdown


def test_an_unknown_local_job_is_named_in_a_clear_error(local):
    env, _run, _printed = local
    done = subprocess.run(
        [sys.executable, "-m", "scripts", "compare", "999", "--backend", "local"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "no job 999 in the local backend" in done.stderr


def test_compare_names_the_confirmation_runs_and_then_judges_their_paired_trials(local):
    """Two trainers judged from their searches alone: the table's hint names the `run` lines that
    confirm each side's best configuration with both commits' trainers; run as printed, compare
    leaves those jobs out of the baseline lookup and judges the paired trials. Each commit names
    its own image (as two trainers would); the stand-in behind both is one program, so every pair
    ties."""
    import shlex

    env, run, _printed = local
    commit_c, commit_d = "c" * 40, "d" * 40

    def image(commit: str) -> list[str]:
        return ["--set", f"image={{uri: 'us-central1-docker.pkg.dev/demo-project/hpt/trainer:{commit[:7]}'}}"]

    baseline, job = run(commit_c, LOW, *image(commit_c)), run(commit_d, HIGH, *image(commit_d))
    hinted = _cli(env, "compare", job, "--backend", "local")
    assert hinted.stdout.startswith("verdict: better") and "method: Precedence test" in hinted.stdout
    assert "train each best configuration again with both trainers" in hinted.stderr
    lines = [
        shlex.split(line)
        for line in hinted.stderr.splitlines()
        if line.startswith("    python -m scripts run")
    ]
    assert len(lines) == 4 and {line[line.index("--commit") + 1] for line in lines} == {commit_c, commit_d}
    confirmed = []
    for line in lines:  # as printed, plus this test's file, image and fast polls (the `run` helper)
        commit = line[line.index("--commit") + 1]
        confirmed.append(run(commit, LOW, *line[line.index("--commit") + 2 :], *image(commit)))

    data = _compare(env, job)
    assert data["baseline"]["job"] == baseline  # never a newer confirmation job at its commit
    assert data["method_name"] == "paired-confirmation" and data["verdict"] == "no clear difference"
    assert data["evidence"]["pairs"] == 12 and data["evidence"]["pairs_that_differ"] == 0
    assert sorted(data["evidence"]["confirmation_jobs"]) == sorted(confirmed)
    assert "python -m scripts run" not in _cli(env, "compare", job, "--backend", "local").stderr
