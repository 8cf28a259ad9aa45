"""Fixtures for the Vertex backend tests: a fake JobService on loopback and a compiled experiment."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from google.api_core.retry import retry_unary
from google.cloud.aiplatform_v1 import (
    ContainerSpec,
    CustomJobSpec,
    GcsDestination,
    HyperparameterTuningJob,
    MachineSpec,
    StudySpec,
    WorkerPoolSpec,
)
from werkzeug import Request, Response

from scripts.experiments.compiler import CompiledExperiment
from scripts.jobs import labels
from scripts.vertex.backend import Backend
from scripts.vertex.calls import RetryPolicy
from scripts.vertex.submit import submit_job
from tests.fakes.job_service import FakeJobService

PROJECT = "demo-project"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


def codelab_job(goal: str = "MAXIMIZE", commit: str = "abc123") -> HyperparameterTuningJob:
    """The codelab's job: accuracy, learning_rate/momentum/num_units, 6 trials, 2 in parallel."""
    goal_type = StudySpec.MetricSpec.GoalType[goal]
    spec = StudySpec(
        metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=goal_type)],
        parameters=[
            StudySpec.ParameterSpec(
                parameter_id="learning_rate",
                double_value_spec=StudySpec.ParameterSpec.DoubleValueSpec(min_value=0.001, max_value=1),
                scale_type=StudySpec.ParameterSpec.ScaleType.UNIT_LOG_SCALE,
            ),
            StudySpec.ParameterSpec(
                parameter_id="num_units",
                discrete_value_spec=StudySpec.ParameterSpec.DiscreteValueSpec(values=[64, 128, 512]),
            ),
        ],
    )
    pool = WorkerPoolSpec(
        machine_spec=MachineSpec(
            machine_type="n1-standard-4", accelerator_type="NVIDIA_TESLA_V100", accelerator_count=2
        ),
        replica_count=1,
        container_spec=ContainerSpec(image_uri="us-central1-docker.pkg.dev/demo-project/hpt/trainer:abc123"),
    )
    return HyperparameterTuningJob(
        display_name="horses-humans",
        study_spec=spec,
        max_trial_count=6,
        parallel_trial_count=2,
        trial_job_spec=CustomJobSpec(
            worker_pool_specs=[pool],
            base_output_directory=GcsDestination(output_uri_prefix="gs://demo-bucket/horses-humans"),
        ),
        labels={
            labels.EXPERIMENT: "horses-humans",
            labels.SPEC_HASH: "0123456789abcdef",
            labels.COMMIT: commit,
            labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
        },
    )


def make_compiled(job: HyperparameterTuningJob | None = None) -> CompiledExperiment:
    return CompiledExperiment(
        "horses-humans", PROJECT, LOCATION, PARENT, job or codelab_job(), "0123456789abcdef"
    )


@pytest.fixture
def fake(monkeypatch):
    with FakeJobService() as service:
        monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", service.address)
        yield service


@pytest.fixture
def client(fake):
    return Backend.from_environment(os.environ).job_service_client(LOCATION)


@pytest.fixture
def compiled() -> CompiledExperiment:
    return make_compiled()


class RecordedSleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps(monkeypatch) -> RecordedSleeps:
    """Every wait between attempts, recorded instead of waited: the create loop's (the policy's
    `sleep`) and api_core's `Retry`'s. `Retry` takes no sleep of ours: it calls `time.sleep` of its
    own module, so that module's `time` is what stands in here (nothing runnable can)."""
    recorded = RecordedSleeps()
    monkeypatch.setattr(retry_unary, "time", SimpleNamespace(sleep=recorded, monotonic=time.monotonic))
    return recorded


@pytest.fixture
def policy(sleeps) -> RetryPolicy:
    """Real backoff arithmetic, no real waiting."""
    return RetryPolicy(sleep=sleeps)


@dataclass
class FakeRegistry:
    """Artifact Registry's Docker Registry v2 manifest lookup on loopback (`HPT_REGISTRY_URL`)."""

    url: str
    manifests: dict[str, str] = field(default_factory=dict)  # "PROJECT/REPO/IMAGE:TAG" -> digest
    lookups: list[str] = field(default_factory=list)

    def push(self, reference: str, digest: str) -> None:
        """Hold `host/PROJECT/REPO/IMAGE:TAG` (the host is the fake's whatever it says)."""
        self.manifests[reference.split("/", 1)[1]] = digest

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/v2/")
        self.lookups.append(path)
        name, _, tag = path.partition("/manifests/")
        digest = self.manifests.get(f"{name}:{tag}")
        if request.method != "HEAD" or digest is None:
            return Response(status=404)
        return Response(status=200, headers={"Docker-Content-Digest": digest})


@pytest.fixture
def registry(httpserver, monkeypatch) -> FakeRegistry:
    fake = FakeRegistry(url=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile(r"/v2/.+/manifests/[^/]+")).respond_with_handler(fake.handle)
    monkeypatch.setenv("HPT_REGISTRY_URL", fake.url)
    return fake


def submit(client, compiled, force=False, **options):
    """The job `submit_job` stands by (these tests look at the job, not at whether it was reused)."""
    return submit_job(client, compiled, force, **options).job
