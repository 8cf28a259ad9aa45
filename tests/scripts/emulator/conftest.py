"""Fixtures: an emulator on loopback running the stand-in trainer, and the real GAPIC client."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

from scripts.emulator.embedded import running_emulator

STANDIN = Path(__file__).resolve().parents[2] / "fakes" / "trainer_standin.py"
STANDIN_ENTRYPOINT = (sys.executable, str(STANDIN))
PARENT = "projects/test-project/locations/us-central1"

StudySpec = aiplatform_v1.StudySpec
ParameterSpec = StudySpec.ParameterSpec
ENDED = (
    aiplatform_v1.JobState.JOB_STATE_SUCCEEDED,
    aiplatform_v1.JobState.JOB_STATE_FAILED,
    aiplatform_v1.JobState.JOB_STATE_CANCELLED,
)


def client_for(address: str) -> aiplatform_v1.JobServiceClient:
    return aiplatform_v1.JobServiceClient(
        transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address))
    )


def double(parameter_id: str, low: float, high: float, scale=ParameterSpec.ScaleType.UNIT_LINEAR_SCALE):
    return ParameterSpec(
        parameter_id=parameter_id,
        scale_type=scale,
        double_value_spec=ParameterSpec.DoubleValueSpec(min_value=low, max_value=high),
    )


def discrete(parameter_id: str, values: list[float]):
    values_spec = ParameterSpec.DiscreteValueSpec(values=values)
    return ParameterSpec(parameter_id=parameter_id, discrete_value_spec=values_spec)


def categorical(parameter_id: str, values: list[str]):
    """Categorical values keep their order (grid search runs them in it); discrete ones must increase."""
    values_spec = ParameterSpec.CategoricalValueSpec(values=values)
    return ParameterSpec(parameter_id=parameter_id, categorical_value_spec=values_spec)


def make_job(
    *,
    args: list[str] = (),
    parameters: list | None = None,
    max_trials: int = 2,
    parallel: int = 1,
    max_failed: int = 0,
    goal=StudySpec.MetricSpec.GoalType.MAXIMIZE,
    labels: dict[str, str] | None = None,
    display_name: str = "test-job",
    **study: object,
) -> aiplatform_v1.HyperparameterTuningJob:
    """A job running the stand-in (the emulator's entrypoint) with `args` before the tuned flags."""
    return aiplatform_v1.HyperparameterTuningJob(
        display_name=display_name,
        labels=labels or {},
        max_trial_count=max_trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=max_failed,
        study_spec=StudySpec(
            metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=goal)],
            parameters=parameters or [double("base", 0.1, 0.9)],
            **study,
        ),
        trial_job_spec=aiplatform_v1.CustomJobSpec(
            worker_pool_specs=[
                aiplatform_v1.WorkerPoolSpec(
                    replica_count=1,
                    machine_spec=aiplatform_v1.MachineSpec(machine_type="n1-standard-4"),
                    container_spec=aiplatform_v1.ContainerSpec(
                        image_uri="us-central1-docker.pkg.dev/p/r/trainer:latest",
                        args=list(args),
                    ),
                )
            ],
        ),
    )


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.05)


@dataclass
class Emulator:
    address: str
    client: aiplatform_v1.JobServiceClient
    state_dir: Path
    records: Path  # where the stand-in writes trial-<id>.json with --record

    def submit(self, job: aiplatform_v1.HyperparameterTuningJob) -> aiplatform_v1.HyperparameterTuningJob:
        return self.client.create_hyperparameter_tuning_job(parent=PARENT, hyperparameter_tuning_job=job)

    def wait(self, name: str, timeout: float = 60.0) -> aiplatform_v1.HyperparameterTuningJob:
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.get_hyperparameter_tuning_job(name=name)
            if job.state in ENDED:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still {job.state.name} after {timeout} s")
            time.sleep(0.05)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    state_dir = tmp_path / "state"
    with running_emulator(
        state_dir, entrypoint=STANDIN_ENTRYPOINT, max_parallel=2, poll_interval=0.05, stop_grace_seconds=2.0
    ) as address:
        client = client_for(address)
        yield Emulator(address, client, state_dir, tmp_path / "records")
        client.transport.close()
