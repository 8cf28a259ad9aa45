"""What a finished job used: accelerator and machine hours and their estimated cost, by trial and in
total, in summary.json, summary.md and the pull-request comment, with the prices' source and date."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from google.cloud.aiplatform_v1 import (
    AcceleratorType,
    CustomJobSpec,
    HyperparameterTuningJob,
    JobState,
    MachineSpec,
    StudySpec,
    Trial,
    WorkerPoolSpec,
)

from scripts.results.files import write_summary
from scripts.results.markdown import render_summary
from scripts.results.plots import picture_names
from scripts.results.summary import summary
from scripts.vertex.backend import Backend
from tests.scripts.pricing.fixtures import RECORDED, SOURCE, use_price_table

START = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
NOW = START + dt.timedelta(hours=3)


@pytest.fixture(autouse=True)
def prices(monkeypatch, tmp_path):
    return use_price_table(monkeypatch, tmp_path)


def _trial(trial_id: str, minutes: int | None, state=Trial.State.SUCCEEDED) -> Trial:
    trial = Trial(id=trial_id, state=state, start_time=START)
    if minutes is not None:
        trial.end_time = START + dt.timedelta(minutes=minutes)
    return trial


def job(region: str = "us-central1") -> HyperparameterTuningJob:
    """A chief n1-standard-4 with 2 V100s and two workers n1-standard-8 with 1 T4 each: per trial-hour
    3 machines, 4 accelerators, $1 + 2 x $2 + 2 x ($2 + $0.5) = $10 at the test prices."""
    chief = WorkerPoolSpec(
        machine_spec=MachineSpec(
            machine_type="n1-standard-4",
            accelerator_type=AcceleratorType.NVIDIA_TESLA_V100,
            accelerator_count=2,
        ),
        replica_count=1,
    )
    workers = WorkerPoolSpec(
        machine_spec=MachineSpec(
            machine_type="n1-standard-8",
            accelerator_type=AcceleratorType.NVIDIA_TESLA_T4,
            accelerator_count=1,
        ),
        replica_count=2,
    )
    return HyperparameterTuningJob(
        name=f"projects/p/locations/{region}/hyperparameterTuningJobs/77",
        display_name="multi-abc",
        state=JobState.JOB_STATE_RUNNING,
        study_spec=StudySpec(
            metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=StudySpec.MetricSpec.GoalType.MAXIMIZE)]
        ),
        max_trial_count=4,
        # 30 min, 90 min, still running for 3 h (to NOW), not started
        trials=[
            _trial("1", 30),
            _trial("2", 90, Trial.State.INFEASIBLE),
            _trial("3", None, Trial.State.ACTIVE),
            Trial(id="4", state=Trial.State.REQUESTED),
        ],
        trial_job_spec=CustomJobSpec(worker_pool_specs=[chief, workers]),
        start_time=START,
    )


def test_summary_json_says_what_each_trial_and_the_job_used_and_cost():
    finished = job()
    data = summary(finished, backend=Backend.vertex().where(finished), now=NOW)
    by_id = {trial["id"]: trial for trial in data["trials"]}
    assert (by_id["1"]["accelerator_hours"], by_id["1"]["machine_hours"], by_id["1"]["cost"]) == (
        2.0,
        1.5,
        5.0,
    )
    assert (by_id["2"]["accelerator_hours"], by_id["2"]["machine_hours"], by_id["2"]["cost"]) == (
        6.0,
        4.5,
        15.0,
    )
    assert (by_id["3"]["accelerator_hours"], by_id["3"]["cost"]) == (12.0, 30.0)  # running: to now
    assert (by_id["4"]["accelerator_hours"], by_id["4"]["cost"]) == (0.0, 0.0)
    # 0.5 + 1.5 + 3 = 5 trial-hours
    assert (data["accelerator_hours"], data["machine_hours"], data["cost"]) == (20.0, 15.0, 50.0)
    estimate = data["cost_estimate"]
    assert estimate["estimate"] is True and estimate["billed"] is True
    assert (estimate["region"], estimate["currency"], estimate["per_trial_hour"]) == (
        "us-central1",
        "USD",
        10.0,
    )
    assert (estimate["source"], estimate["recorded"]) == (SOURCE, RECORDED)
    assert data["pools"] == [
        {"machine_type": "n1-standard-4", "accelerator_type": "NVIDIA_TESLA_V100", "accelerator_count": 2,
         "replica_count": 1},
        {"machine_type": "n1-standard-8", "accelerator_type": "NVIDIA_TESLA_T4", "accelerator_count": 1,
         "replica_count": 2},
    ]  # fmt: skip


def test_the_markdown_shows_the_usage_as_an_estimate_with_source_and_date():
    finished = job()
    markdown = render_summary(summary(finished, backend=Backend.vertex().where(finished), now=NOW))
    assert (
        "**Used** (estimate): 20.00 accelerator-hours, 15.00 machine-hours (1 × n1-standard-4 with 2 × "
        "NVIDIA_TESLA_V100 + 2 × n1-standard-8 with 1 × NVIDIA_TESLA_T4 per trial); estimated cost "
        f"**$50.00** at us-central1 on-demand list prices from {SOURCE}, recorded {RECORDED} "
        "(n1-standard-4 confirmed 2026-01-02; not confirmed against the source: NVIDIA_TESLA_V100, "
        "n1-standard-8, NVIDIA_TESLA_T4); no discounts, storage, network or start-up time."
    ) in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| trial |"))
    assert header.endswith("| time | accel-h | est. cost |")
    row = next(line for line in markdown.splitlines() if line.startswith("| 1 |"))
    assert row.endswith("| 30 min 00 s | 2.00 | $5.00 |")


def test_a_local_run_says_nothing_was_billed_and_writes_accelerator_hours_and_cost(tmp_path):
    local = job()
    local.trials = [_trial("1", 30)]
    local.state = JobState.JOB_STATE_SUCCEEDED
    paths = write_summary(local, tmp_path / "run", backend=Backend.emulator_at("127.0.0.1:1").where(local))
    data = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (data["accelerator_hours"], data["cost"]) == (2.0, 5.0)
    assert data["cost_estimate"]["billed"] is False
    markdown = (tmp_path / "run" / "summary.md").read_text()
    assert "Ran on the local emulator: nothing was billed" in markdown
    assert {path.name for path in paths} == {
        "summary.md",
        "summary.json",
        "best_params.json",
        *picture_names(),
    }


def test_a_region_without_prices_keeps_the_hours_and_says_the_cost_is_not_known():
    finished = job("europe-west4")
    data = summary(finished, backend=Backend.vertex().where(finished), now=NOW)
    assert (data["accelerator_hours"], data["cost"]) == (20.0, None)
    assert data["cost_estimate"]["not_known"] == "not known for europe-west4"
    assert all(trial["cost"] is None for trial in data["trials"])
    markdown = render_summary(data)
    assert (
        "cost not known for europe-west4 (`python -m scripts prices --refresh --region europe-west4`"
        in markdown
    )
    assert "est. cost" not in markdown
