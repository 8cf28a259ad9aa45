"""`promote --backend local`: the real command, the real GAPIC clients, the real emulator.

Each test runs short tuning jobs whose trials are the stand-in trainer saving a model where the
real trainer does (`tests/fakes/model_saving_standin.py`), then promotes them through
`python -m scripts promote` and reads the Model Registry back with a `ModelServiceClient`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.model_service.transports import ModelServiceGrpcTransport

from scripts import cli
from scripts.emulator.embedded import running_emulator
from scripts.jobs import labels
from tests.scripts.emulator.conftest import PARENT, Emulator, categorical, client_for, make_job

SAVING_STANDIN = Path(__file__).resolve().parents[2] / "fakes" / "model_saving_standin.py"
BUCKET = "gs://test-bucket/cnn"
MODEL = f"{PARENT}/models/cnn"


@dataclass
class Registry(Emulator):
    models: aiplatform_v1.ModelServiceClient = None

    def run_job(self, *, commit: str = "c1", args: tuple[str, ...] = (), **job):
        """Submit a job of experiment `cnn` at `commit`, its outputs under BUCKET/<commit>, and wait."""
        spec = make_job(
            args=[*args, "--record", str(self.records / commit)],
            display_name="cnn",
            labels={
                labels.EXPERIMENT: "cnn",
                labels.SPEC_HASH: "0123456789abcdef",
                labels.COMMIT: commit,
                labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
            },
            **job,
        )
        spec.trial_job_spec.base_output_directory.output_uri_prefix = f"{BUCKET}/{commit}"
        done = self.wait(self.submit(spec).name)
        assert done.state.name == "JOB_STATE_SUCCEEDED", done.error
        return done

    def versions(self) -> list[aiplatform_v1.Model]:
        return list(self.models.list_model_versions(name=MODEL))


@pytest.fixture
def registry(tmp_path, monkeypatch) -> Iterator[Registry]:
    state_dir = tmp_path / "state"
    with running_emulator(
        state_dir, entrypoint=(sys.executable, str(SAVING_STANDIN)), max_parallel=2, poll_interval=0.05
    ) as address:
        monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", address)
        models = aiplatform_v1.ModelServiceClient(
            transport=ModelServiceGrpcTransport(channel=grpc.insecure_channel(address))
        )
        yield Registry(address, client_for(address), state_dir, tmp_path / "records", models)


def promote(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["promote", *args, "--backend", "local"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_best_trial_is_registered_once_with_the_jobs_labels_and_again_nothing(registry, capsys):
    job = registry.run_job(
        parameters=[categorical("base", ["0.2", "0.7", "0.4"])], max_trials=3, algorithm="GRID_SEARCH"
    )
    best = max(job.trials, key=lambda trial: trial.final_measurement.metrics[0].value)
    job_id = job.name.rsplit("/", 1)[-1]

    status, out, err = promote(capsys, job.name)
    assert status == 0, err
    assert out.startswith(f"registered {MODEL}@1: trial {best.id} of {job.name}, accuracy 0.7\n")

    [version] = registry.versions()
    assert version.version_id == "1" and list(version.version_aliases) == ["default"]
    assert dict(version.labels) == {
        "hpt-experiment": "cnn",
        "hpt-spec-hash": "0123456789abcdef",
        "hpt-commit": "c1",
        "managed-by": "vertex-hpt-actions",
        "hpt-job": job_id,
        "hpt-trial": best.id,
    }
    assert version.display_name == "cnn"
    assert version.description.startswith(f"accuracy 0.7 (maximize) of trial {best.id} of {job.name}")
    assert version.container_spec.image_uri == "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
    # The artifacts are what that trial's trainer was told to save to, and each trial had its own.
    assert version.artifact_uri == f"{BUCKET}/c1/{best.id}/model"
    model_dirs = {
        record["env"]["CLOUD_ML_TRIAL_ID"]: record["env"]["AIP_MODEL_DIR"]
        for record in (
            json.loads(path.read_text()) for path in (registry.records / "c1").glob("trial-*.json")
        )
    }
    assert len(set(model_dirs.values())) == 3
    assert model_dirs[best.id] == f"{registry.state_dir / 'gcs/test-bucket/cnn/c1' / best.id / 'model'}/"

    status, out, err = promote(capsys, job.name)
    assert status == 0, err
    assert out.splitlines()[0] == f"already promoted: {MODEL}@1 holds trial {best.id} of {job.name}"
    assert len(registry.versions()) == 1

    # A bare id finds the local job; --format json prints the version.
    status, out, err = promote(capsys, job_id, "--format", "json")
    assert status == 0, err
    assert json.loads(out)["versionId"] == "1" and err.startswith("already promoted:")


def test_a_trial_that_did_not_succeed_or_does_not_exist_is_refused(registry, capsys):
    job = registry.run_job(
        parameters=[categorical("exit_code", ["0", "3"])], max_trials=2, max_failed=2, algorithm="GRID_SEARCH"
    )
    failed = next(trial for trial in job.trials if trial.state.name == "INFEASIBLE")

    status, _, err = promote(capsys, job.name, "--trial", failed.id)
    assert status == 1
    assert f"error: trial {failed.id} of {job.name} did not succeed (INFEASIBLE, failed: " in err
    assert "only a SUCCEEDED trial with a final 'accuracy' can be promoted" in err

    status, _, err = promote(capsys, job.name, "--trial", "9")
    assert status == 1 and f"{job.name} has no trial 9 (its trials: 1, 2)" in err
    status, _, err = promote(capsys, "99")
    assert status == 1 and "no job 99 in the local backend" in err
    with pytest.raises(exceptions.NotFound):
        registry.versions()


def test_a_second_job_is_version_2_of_the_same_model_and_the_alias_moves(registry, capsys):
    first = registry.run_job(commit="c1", max_trials=1)
    second = registry.run_job(commit="c2", max_trials=1)

    assert promote(capsys, first.name, "--alias", "production")[0] == 0
    status, out, err = promote(capsys, second.name, "--alias", "production")
    assert status == 0, err
    assert out.startswith(f"registered {MODEL}@2: trial 1 of {second.name}")

    one, two = registry.versions()
    assert (one.version_id, list(one.version_aliases)) == ("1", ["default"])
    assert (two.version_id, list(two.version_aliases)) == ("2", ["production"])
    assert two.labels["hpt-commit"] == "c2" and two.labels["hpt-job"] == second.name.rsplit("/", 1)[-1]
    assert registry.models.get_model(name=f"{MODEL}@production").version_id == "2"

    # Promoting the first job again registers nothing, and gives its version the alias back.
    status, out, err = promote(capsys, first.name, "--alias", "production")
    assert status == 0, err
    assert out.startswith(
        f"already promoted: {MODEL}@1 holds trial 1 of {first.name}; alias production moved to it"
    )
    assert [list(version.version_aliases) for version in registry.versions()] == [
        ["default", "production"],
        [],
    ]


def test_a_keras_model_is_refused_for_the_tensorflow_container_with_the_fix(registry, capsys):
    job = registry.run_job(args=("--export_format=keras",), max_trials=1)  # model.keras

    status, _, err = promote(capsys, job.name)
    assert status == 1
    assert "is not a SavedModel (model.keras)" in err
    assert "drop `--export_format=keras` from the experiment's `trainer.args`" in err
    with pytest.raises(exceptions.NotFound):
        registry.versions()

    # A container that serves it is the user's call.
    status, out, err = promote(capsys, job.name, "--serving-image", "us-docker.pkg.dev/p/r/keras-server:1")
    assert status == 0, err
    assert registry.versions()[0].container_spec.image_uri == "us-docker.pkg.dev/p/r/keras-server:1"


@pytest.mark.slow
def test_the_real_trainers_saved_model_of_a_local_codelab_run_is_registered_once(repo_root, tmp_path):
    """The issue's target, with the real trainer: its SavedModel is where promote looks, in the form
    the default container serves, saved in the trainer's default format."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in {"VERTEX_AI_EMULATOR_HOST", "GITHUB_SHA"}}
    env.update({"HPT_STATE_DIR": str(tmp_path / "state"), "GOOGLE_CLOUD_PROJECT": "demo-project"})
    trainer = (
        "trainer={args: [--data=synthetic, --synthetic_examples=64, --image_size=32, --epochs=1, "
        "--batch_size=16]}"
    )
    command = [sys.executable, "-m", "scripts"]
    run = [*command, "run", "horses-humans", "--backend", "local", "--commit", "e2e", "--json"]
    run += ["--set", "max_trial_count=1", "--set", "parallel_trial_count=1", "--set", trainer]
    done = subprocess.run(run, cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    job = json.loads(done.stdout)["name"]

    promote_job = [*command, "promote", job, "--backend", "local"]
    first = subprocess.run(promote_job, cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-3000:]
    model = "projects/demo-project/locations/us-central1/models/horses-humans"
    assert first.stdout.startswith(f"registered {model}@1: trial 1 of {job}, accuracy ")
    assert "hpt-commit=e2e" in first.stdout and "hpt-experiment=horses-humans" in first.stdout

    again = subprocess.run(promote_job, cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.startswith(f"already promoted: {model}@1 holds trial 1 of {job}")
