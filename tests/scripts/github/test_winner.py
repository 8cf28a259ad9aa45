"""The winner handed on: summary.json, best_params.json and the submitting step's `best-*` outputs
carry the best value, the best parameters as trainer flags and the best trial's model directory."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from google.cloud.aiplatform_v1 import Trial

from scripts.github.runner import Step
from scripts.github.winner import hand_on
from scripts.results.files import write_summary
from scripts.vertex.backend import Backend
from tests.fakes.job_service import make_trial
from tests.scripts.results.study_jobs import learning_rate_decides, study_job

JOB = "projects/p/locations/us-central1/hyperparameterTuningJobs/"


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
