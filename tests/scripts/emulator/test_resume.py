"""Durability: SIGKILL the standalone emulator mid-study, start it again on the same state dir."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1 import JobState, ListHyperparameterTuningJobsRequest, Trial

from scripts.emulator.embedded import running_emulator
from scripts.emulator.store import Store, TrialRecord
from scripts.emulator.trials import process_start_time

from .conftest import PARENT, STANDIN_ENTRYPOINT, client_for, make_job, wait_until


def test_a_job_cancelled_just_before_a_crash_ends_cancelled_and_its_leftover_trial_is_killed(tmp_path):
    state_dir = tmp_path / "state"
    store = Store(state_dir)
    job = store.create_job(PARENT, make_job())
    job.state = JobState.JOB_STATE_CANCELLING
    store.save_job(job)
    leftover = subprocess.Popen(["sleep", "60"], start_new_session=True)
    trial = Trial(id="1", state=Trial.State.ACTIVE)
    store.save_trial(job.name, TrialRecord(trial, 0, leftover.pid, process_start_time(leftover.pid)))
    store.close()
    try:
        with running_emulator(state_dir, entrypoint=STANDIN_ENTRYPOINT) as address:
            client = client_for(address)
            wait_until(
                lambda: (
                    client.get_hyperparameter_tuning_job(name=job.name).state == JobState.JOB_STATE_CANCELLED
                )
            )
            ended = client.get_hyperparameter_tuning_job(name=job.name)
            client.transport.close()
        assert leftover.wait(timeout=10) == -signal.SIGKILL
    finally:
        if leftover.poll() is None:
            leftover.kill()
    assert ended.trials[0].state == Trial.State.INFEASIBLE
    assert "cancelled" in ended.trials[0].infeasible_reason


def _start(state_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts",
            "emulator",
            "--state-dir",
            str(state_dir),
            "--max-parallel",
            "2",
            "--entrypoint",
            shlex.join(STANDIN_ENTRYPOINT),
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    line = process.stdout.readline()
    assert line.startswith("export VERTEX_AI_EMULATOR_HOST="), line
    return process, line.strip().split("=", 1)[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.slow
def test_a_killed_emulator_resumes_the_same_job_without_duplicates(tmp_path):
    state_dir, log = tmp_path / "state", tmp_path / "emulator.log"
    process, address = _start(state_dir, log)
    try:
        client = client_for(address)
        job = make_job(
            args=["--steps=4", "--sleep=0.3"], max_trials=6, parallel=2, labels={"hpt-experiment": "r"}
        )
        name = client.create_hyperparameter_tuning_job(parent=PARENT, hyperparameter_tuning_job=job).name

        def mid_study() -> bool:
            trials = client.get_hyperparameter_tuning_job(name=name).trials
            done = [t for t in trials if t.state == Trial.State.SUCCEEDED]
            running = [t for t in trials if t.state == Trial.State.ACTIVE and t.measurements]
            return len(done) >= 2 and len(running) >= 1

        wait_until(mid_study, timeout=60)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    client.transport.close()

    store = Store(state_dir)
    before = {r.trial.id: r for r in store.trials(name)}
    store.close()
    finished_before = {i: r.trial for i, r in before.items() if r.trial.state == Trial.State.SUCCEEDED}
    orphans = [r.pid for r in before.values() if r.trial.state == Trial.State.ACTIVE]
    assert finished_before and orphans

    process, address = _start(state_dir, log)
    try:
        client = client_for(address)
        # The restarted emulator killed the trials its predecessor left running.
        wait_until(lambda: not any(_alive(pid) for pid in orphans), timeout=10)
        deadline = time.monotonic() + 90
        while (job := client.get_hyperparameter_tuning_job(name=name)).state != JobState.JOB_STATE_SUCCEEDED:
            assert job.state in (JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_PENDING), job.error
            assert time.monotonic() < deadline
            time.sleep(0.1)
        jobs = list(
            client.list_hyperparameter_tuning_jobs(
                request=ListHyperparameterTuningJobsRequest(parent=PARENT, filter='labels.hpt-experiment="r"')
            )
        )
        client.transport.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)

    assert [j.name for j in jobs] == [name]
    assert [t.id for t in job.trials] == ["1", "2", "3", "4", "5", "6"]
    assert all(t.state == Trial.State.SUCCEEDED for t in job.trials)
    for trial_id, trial in finished_before.items():
        kept = next(t for t in job.trials if t.id == trial_id)
        assert kept.end_time == trial.end_time and kept.parameters == trial.parameters
    for record in before.values():  # the interrupted trials ran again, same id, same parameters
        assert next(t for t in job.trials if t.id == record.trial.id).parameters == record.trial.parameters
    # The resumed study went on where it was: no later trial repeats an earlier trial's parameters.
    suggested = [tuple((p.parameter_id, p.value) for p in t.parameters) for t in job.trials]
    assert len(set(suggested)) == len(suggested), suggested
    assert process.returncode == 0
