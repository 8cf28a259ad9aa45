"""`scheduling` as Vertex AI honours it: a timeout ends a trial, a failed worker restarts the
trial's replicas when asked to, and an opt-in simulated spot preemption restarts them."""

from __future__ import annotations

import json

from google.cloud.aiplatform_v1 import GcsDestination, JobState, Scheduling, Trial
from google.protobuf import duration_pb2

from scripts.emulator.embedded import running_emulator

from .conftest import PARENT, STANDIN_ENTRYPOINT, client_for, make_job, wait_until


def test_a_trial_past_its_timeout_is_stopped_and_fails_as_on_vertex(emulator):
    job = make_job(args=["--steps=200", "--sleep=0.05"], max_trials=1)
    job.trial_job_spec.scheduling = Scheduling(timeout=duration_pb2.Duration(seconds=1))
    job = emulator.wait(emulator.submit(job).name, timeout=30)
    (trial,) = job.trials
    assert trial.state == Trial.State.INFEASIBLE
    assert trial.infeasible_reason.startswith("failed: the trial ran longer than scheduling.timeout (1s)")
    assert 1 <= len(trial.measurements) < 200  # what it reported before the timeout is kept
    assert job.state == JobState.JOB_STATE_FAILED


def test_without_restart_a_failed_replica_fails_the_trial(emulator, tmp_path):
    job = make_job(args=["--steps=3", f"--fail_once={tmp_path / 'marks'}"], max_trials=1)
    job = emulator.wait(emulator.submit(job).name)
    assert job.trials[0].state == Trial.State.INFEASIBLE
    assert "exited with status 3" in job.trials[0].infeasible_reason


def test_restart_job_on_worker_restart_restarts_the_failed_trials_replicas(emulator, tmp_path):
    job = make_job(args=["--steps=3", f"--fail_once={tmp_path / 'marks'}"], max_trials=1)
    job.trial_job_spec.scheduling = Scheduling(restart_job_on_worker_restart=True)
    job = emulator.wait(emulator.submit(job).name)
    (trial,) = job.trials
    assert trial.state == Trial.State.SUCCEEDED, trial.infeasible_reason
    assert [m.step_count for m in trial.measurements] == [1, 1, 2, 3]  # a first run, then a whole one
    log = emulator.state_dir / "jobs" / job.name.rsplit("/", 1)[-1] / "trials" / "1" / "trial.log"
    assert (
        "restarting the trial's replicas (restart_job_on_worker_restart), restart 1 of 3" in log.read_text()
    )


def test_simulated_spot_preemption_restarts_the_trial_which_resumes_from_its_checkpoint(tmp_path):
    job = make_job(
        args=["--steps=12", "--sleep=0.15", "--checkpoint", f"--record={tmp_path / 'r'}"], max_trials=1
    )
    job.trial_job_spec.scheduling = Scheduling(strategy=Scheduling.Strategy.SPOT)
    job.trial_job_spec.base_output_directory = GcsDestination(output_uri_prefix="gs://bucket/spot")
    with running_emulator(
        tmp_path / "state",
        entrypoint=STANDIN_ENTRYPOINT,
        poll_interval=0.05,
        stop_grace_seconds=2.0,
        preempt_after=0.8,
    ) as address:
        client = client_for(address)
        name = client.create_hyperparameter_tuning_job(parent=PARENT, hyperparameter_tuning_job=job).name
        wait_until(
            lambda: client.get_hyperparameter_tuning_job(name=name).state.name.endswith("SUCCEEDED"), 30
        )
        done = client.get_hyperparameter_tuning_job(name=name)
        client.transport.close()
    (trial,) = done.trials
    steps = [m.step_count for m in trial.measurements]
    assert trial.state == Trial.State.SUCCEEDED, (done.error.message, trial.infeasible_reason)
    assert steps[-1] == 12 and sorted(set(steps)) == list(range(1, 13))  # resumed, nothing lost
    record = json.loads((tmp_path / "r" / "trial-1.json").read_text())
    assert record["resumed_at"] > 1  # the restarted run started after its checkpoint
    log = (tmp_path / "state" / "jobs" / "1" / "trials" / "1" / "trial.log").read_text()
    assert "simulated spot preemption after 0.8s" in log
