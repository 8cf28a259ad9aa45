"""The submitting job's follow (`scripts.github.follow_flow`): how soon it looks again, against the fake
GitHub and the fake JobService on loopback, with the waits recorded instead of slept; and the winner
handed on: summary.json, best_params.json and the submitting step's `best-*` outputs carry the best
value, the best parameters as trainer flags and the best trial's model directory."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1 import JobState, Trial

from scripts.errors import UserError
from scripts.github.api import GitHubClient
from scripts.github.follow_flow import FIRST_INTERVAL, follow_and_report, hand_on
from scripts.github.runner import Step
from scripts.results.files import write_summary
from scripts.vertex.backend import Backend
from tests.fakes.job_service import Script, make_trial
from tests.scripts.github.verdict_jobs import HIGH, MAIN, tuning_job
from tests.scripts.results.study_jobs import learning_rate_decides, study_job

JOB = "projects/p/locations/us-central1/hyperparameterTuningJobs/"


def _waits(fake, github, tmp_path, env: dict[str, str]) -> list[float]:
    """The waits between polls while main's job (its trials appearing one read at a time) runs."""
    job = fake.add_job(
        tuning_job(1, MAIN, [], state=JobState.JOB_STATE_PENDING),
        Script(trials=list(tuning_job(0, MAIN, HIGH).trials)),
    )
    client = GitHubClient(github.repository, github.token, github.base_url, comment_settle_seconds=0)
    waits: list[float] = []
    pending = follow_and_report(
        [job.name], Backend.emulator_at(fake.address, tmp_path / "state"), lambda: client, 3, Step(env),
        sleep=waits.append, clock=lambda: sum(waits),
    )  # fmt: skip
    assert pending == []
    return waits


def test_polls_start_at_the_first_interval_and_at_the_variables_seconds_when_set(fake, repo, tmp_path):
    assert _waits(fake, repo, tmp_path, {})[0] == FIRST_INTERVAL
    quick = _waits(fake, repo, tmp_path, {"HPT_FOLLOW_FIRST_POLL_SECONDS": "0.2"})
    assert quick[0] == 0.2 and max(quick) < FIRST_INTERVAL  # the trials keep changing: no growth past it


def test_a_first_poll_that_is_no_number_is_refused_by_name(fake, repo, tmp_path):
    with pytest.raises(UserError, match="HPT_FOLLOW_FIRST_POLL_SECONDS='soon' is not a number of seconds"):
        _waits(fake, repo, tmp_path, {"HPT_FOLLOW_FIRST_POLL_SECONDS": "soon"})


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_summary_json_carries_the_winner_as_best_params_json_does(tmp_path):
    emulator = Backend.emulator_at("127.0.0.1:1", tmp_path / "state")
    job = learning_rate_decides()
    write_summary(job, tmp_path / "run", backend=emulator.where(job))
    best = json.loads((tmp_path / "run" / "best_params.json").read_text())
    data = json.loads((tmp_path / "run" / "summary.json").read_text())

    assert data["best_params"] == best
    assert data["best_params"]["flags"][-1] == "--num_units=128"
    assert data["best_params"]["model_dir"].endswith("/8/model/")
    assert data["best_params"]["value"] == data["best_trial"]["value"]


def test_the_step_outputs_hand_on_the_first_winner_as_flags_a_shell_can_take(tmp_path):
    results = tmp_path / "results"
    job = learning_rate_decides()
    job.name = JOB + "4242"
    emulator = Backend.emulator_at("127.0.0.1:1", tmp_path / "state")
    write_summary(job, results / "4242", backend=emulator.where(job))
    failed = study_job([make_trial("1", {"learning_rate": 0.01}, None, state=Trial.State.INFEASIBLE)])
    failed.name = JOB + "4141"
    write_summary(failed, results / "4141", backend=Backend.vertex().where(failed))
    output = tmp_path / "github_output"
    step = Step({"GITHUB_OUTPUT": str(output), "HPT_RESULTS_DIR": str(results)})

    # The first job had no best trial, the one not followed to its end has no files: the second wins.
    best = hand_on([JOB + "4141", JOB + "999", JOB + "4242"], step)

    found = _outputs(output)
    expected = json.loads((results / "4242" / "best_params.json").read_text())
    assert best == expected
    assert found["best-job"] == JOB + "4242"
    assert float(found["best-value"]) == expected["value"]
    assert shlex.split(found["best-flags"]) == expected["flags"]
    assert found["best-flags"].startswith("--learning_rate=") and "--num_units=128" in found["best-flags"]
    assert found["best-model-dir"] == expected["model_dir"]
    assert json.loads(found["best-parameters"]) == expected["parameters"]


def test_nothing_is_handed_on_without_a_result(tmp_path):
    output = tmp_path / "github_output"
    assert (
        hand_on([JOB + "1"], Step({"GITHUB_OUTPUT": str(output), "HPT_RESULTS_DIR": str(tmp_path)})) is None
    )
    assert hand_on([JOB + "1"], Step({"GITHUB_OUTPUT": str(output)})) is None
    assert not output.exists()
