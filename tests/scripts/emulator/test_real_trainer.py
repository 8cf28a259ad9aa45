"""The emulator with the real trainer: one multi-worker trial, trained over loopback (slow)."""

from __future__ import annotations

import time

import pytest
from google.cloud.aiplatform_v1 import JobState, Trial, WorkerPoolSpec

from scripts.emulator.embedded import running_emulator

from .conftest import ENDED, PARENT, client_for, discrete, make_job

pytestmark = pytest.mark.slow

TINY = ["--data=synthetic", "--synthetic_examples=64", "--image_size=32", "--epochs=2", "--batch_size=16"]


def test_a_chief_and_two_workers_train_one_trial_together(tmp_path):
    parameters = [
        discrete("learning_rate", [0.01]),  # one value each (a double range needs min < max)
        discrete("momentum", [0.5]),
        discrete("num_units", [16]),
    ]
    job = make_job(args=TINY, max_trials=1, parameters=parameters)
    workers = WorkerPoolSpec(job.trial_job_spec.worker_pool_specs[0], replica_count=2)
    job.trial_job_spec.worker_pool_specs.append(workers)

    with running_emulator(tmp_path / "state", max_parallel=2) as address:  # `python -m trainer.task`
        client = client_for(address)
        name = client.create_hyperparameter_tuning_job(parent=PARENT, hyperparameter_tuning_job=job).name
        while (job := client.get_hyperparameter_tuning_job(name=name)).state not in ENDED:
            time.sleep(0.5)
        client.transport.close()

    trial = job.trials[0]
    trial_dir = tmp_path / "state" / "jobs" / "1" / "trials" / "1"
    assert job.state == JobState.JOB_STATE_SUCCEEDED, (trial_dir / "trial.log").read_text()[-3000:]
    assert trial.state == Trial.State.SUCCEEDED
    assert [m.step_count for m in trial.measurements] == [1, 2]  # one report per epoch, from the chief
    assert 0.0 <= trial.final_measurement.metrics[0].value <= 1.0
    for worker in ("workerpool1-0", "workerpool1-1"):
        assert "Traceback" not in (trial_dir / f"{worker}.log").read_text()
