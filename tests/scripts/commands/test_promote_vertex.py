"""`promote --backend vertex`: exactly the Model Registry requests Vertex AI receives.

The real command and the real GAPIC clients, sent by `VERTEX_AI_EMULATOR_HOST` to an in-process
fake (`tests/fakes/model_service.py`) that keeps every request.
"""

from __future__ import annotations

import pytest
from google.cloud.aiplatform_v1 import (
    JobState,
    ListModelVersionsRequest,
    Model,
    ModelContainerSpec,
    Trial,
    UploadModelRequest,
)

from scripts import cli
from scripts.registry import serving
from tests.fakes.job_service import make_trial
from tests.fakes.model_service import FakeVertexRegistry
from tests.scripts.vertex.conftest import PARENT, codelab_job

JOB = f"{PARENT}/hyperparameterTuningJobs/1000"
MODEL = f"{PARENT}/models/horses-humans"
IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"


def finished_job(name: str = JOB, commit: str = "abc123", export: str | None = None):
    job = codelab_job(commit=commit)
    job.name = name
    job.state = JobState.JOB_STATE_SUCCEEDED
    if export:
        job.trial_job_spec.worker_pool_specs[0].container_spec.args = [
            "--epochs=10",
            f"--export_format={export}",
        ]
    job.trials = [
        make_trial("1", {"learning_rate": 0.01, "num_units": 64}, 0.81),
        make_trial("2", {"learning_rate": 0.0421, "num_units": 128}, 0.93),
        make_trial("3", {"learning_rate": 0.5, "num_units": 512}, None, state=Trial.State.INFEASIBLE),
    ]
    return job


@pytest.fixture
def fake(monkeypatch):
    with FakeVertexRegistry() as registry:
        monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", registry.address)
        yield registry


def promote(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["promote", *args, "--backend", "vertex"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_first_promotion_uploads_the_experiments_model_and_a_later_job_a_version_of_it(fake, capsys):
    fake.add_job(finished_job())
    status, out, err = promote(capsys, JOB, "--alias", "production")
    assert status == 0, err

    [lookup] = fake.requests("ListModelVersions")
    assert lookup == ListModelVersionsRequest(
        name=MODEL, filter='labels.hpt-job="1000" AND labels.hpt-trial="2"'
    )
    description = (
        f"accuracy 0.93 (maximize) of trial 2 of {JOB} (experiment horses-humans, commit abc123): "
        "learning_rate=0.0421, num_units=128"
    )
    [upload] = fake.requests("UploadModel")
    assert upload == UploadModelRequest(
        parent=PARENT,
        model_id="horses-humans",
        model=Model(
            display_name="horses-humans",
            description=description,
            version_description=description,
            artifact_uri="gs://demo-bucket/horses-humans/2/model",
            container_spec=ModelContainerSpec(image_uri=IMAGE),
            labels={
                "hpt-experiment": "horses-humans",
                "hpt-spec-hash": "0123456789abcdef",
                "hpt-commit": "abc123",
                "managed-by": "vertex-hpt-actions",
                "hpt-job": "1000",
                "hpt-trial": "2",
            },
            version_aliases=["production"],
        ),
    )
    assert out.startswith(f"registered {MODEL}@1: trial 2 of {JOB}, accuracy 0.93\n")

    # Another job of the experiment: a version of the same model, found by its parent_model.
    second = f"{PARENT}/hyperparameterTuningJobs/1001"
    fake.add_job(finished_job(second, commit="def456"))
    assert promote(capsys, second)[0] == 0
    upload = fake.requests("UploadModel")[-1]
    assert upload.parent == PARENT and upload.parent_model == MODEL and upload.model_id == ""
    assert upload.model.labels["hpt-job"] == "1001" and upload.model.labels["hpt-commit"] == "def456"
    assert list(upload.model.version_aliases) == []


def test_a_trial_promoted_before_uploads_nothing(fake, capsys):
    fake.add_job(finished_job())
    assert promote(capsys, JOB)[0] == 0
    status, out, err = promote(capsys, JOB, "--format", "json")
    assert status == 0, err
    assert len(fake.requests("UploadModel")) == 1
    assert err.startswith(f"already promoted: {MODEL}@1 holds trial 2 of {JOB}")
    assert '"versionId": "1"' in out


def test_a_model_the_container_cannot_serve_is_refused_before_any_upload(fake, capsys):
    fake.add_job(finished_job(export="keras"))  # not the trainer's default (a SavedModel)
    status, _, err = promote(capsys, JOB)
    assert status == 1
    assert "trial 2's trainer saved `model.keras` (`--export_format keras`), not a SavedModel" in err
    assert "drop `--export_format=keras` from the experiment's `trainer.args`" in err
    assert fake.requests("ListModelVersions") == [] and fake.requests("UploadModel") == []

    status, _, err = promote(capsys, JOB, "--serving-image", "us-docker.pkg.dev/p/r/keras-server:1")
    assert status == 0, err
    assert (
        fake.requests("UploadModel")[0].model.container_spec.image_uri
        == "us-docker.pkg.dev/p/r/keras-server:1"
    )


def test_the_default_container_comes_from_the_multi_region_nearest_the_job():
    assert serving.default_serving_image("us-central1") == IMAGE
    assert serving.default_serving_image("europe-west4").startswith(
        "europe-docker.pkg.dev/vertex-ai/prediction/"
    )
    assert serving.default_serving_image("asia-northeast1").startswith("asia-docker.pkg.dev/")
    assert serving.default_serving_image("me-west1").startswith("us-docker.pkg.dev/")


def test_what_the_trainer_saves_is_read_from_the_trainers_own_flags():
    from trainer import flags

    assert flags.build_parser().get_default("export_format") == serving.TRAINER_EXPORT_DEFAULT
    assert serving.SAVED_MODEL_FORMAT in flags.EXPORT_FORMATS


def test_on_vertex_the_model_service_is_the_jobs_regional_endpoint(monkeypatch, tmp_path):
    import json

    from scripts.vertex.backend import Backend

    monkeypatch.delenv("VERTEX_AI_EMULATOR_HOST", raising=False)
    adc = tmp_path / "adc.json"  # `gcloud auth application-default login`'s file; loading it calls nothing
    adc.write_text(
        json.dumps({"type": "authorized_user", "client_id": "i", "client_secret": "s", "refresh_token": "t"})
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    assert (
        Backend.vertex().model_service_client("europe-west4").api_endpoint
        == "europe-west4-aiplatform.googleapis.com"
    )
