"""The backend: which Vertex AI its clients reach, where its jobs are seen; job names on the command line."""

from __future__ import annotations

import json
import os

import pytest

from scripts.commands.job_args import resolve_job_name
from scripts.errors import UserError
from scripts.vertex.backend import Backend


def job_service_client(location: str):
    return Backend.from_environment(os.environ).job_service_client(location)


@pytest.fixture
def no_emulator(monkeypatch):
    monkeypatch.delenv("VERTEX_AI_EMULATOR_HOST", raising=False)


def test_vertex_uses_the_regional_endpoint_with_application_default_credentials(
    no_emulator, monkeypatch, tmp_path
):
    # An "authorized user" credentials file, as `gcloud auth application-default login` writes;
    # loading it makes no network call.
    adc = tmp_path / "adc.json"
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "id",
                "client_secret": "secret",
                "refresh_token": "token",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    client = job_service_client("europe-west4")
    assert client.api_endpoint == "europe-west4-aiplatform.googleapis.com"


def test_missing_credentials_say_how_to_get_them(no_emulator, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(
        UserError, match="no Google Cloud credentials: run `gcloud auth application-default login`"
    ):
        job_service_client("us-central1")


def test_a_global_location_is_refused_with_what_to_set(no_emulator):
    with pytest.raises(UserError, match="tuning jobs run in a region, not 'global'"):
        job_service_client("global")


def test_job_names_full_or_bare_with_project_and_region():
    full = "projects/p-1/locations/us-east1/hyperparameterTuningJobs/42"
    assert str(resolve_job_name(full)) == full
    assert str(resolve_job_name("42", "p-2", "europe-west4")) == (
        "projects/p-2/locations/europe-west4/hyperparameterTuningJobs/42"
    )
    env = {"GOOGLE_CLOUD_PROJECT": "env-project", "GOOGLE_CLOUD_REGION": "asia-east1"}
    assert (
        str(resolve_job_name("7", env=env))
        == "projects/env-project/locations/asia-east1/hyperparameterTuningJobs/7"
    )
    with pytest.raises(UserError, match="needs --project and --region"):
        resolve_job_name("7")  # no flags, no environment
    with pytest.raises(UserError, match="is not a job"):
        resolve_job_name("projects/p/locations/l/customJobs/1")


def test_console_urls_of_a_job_and_a_trial_exist_on_vertex_only():
    vertex, emulator = Backend.vertex(), Backend.emulator_at("127.0.0.1:1")
    job = "projects/p-1/locations/us-east1/hyperparameterTuningJobs/42"
    assert vertex.console_url(job) == (
        "https://console.cloud.google.com/agent-platform/locations/us-east1/training/42?project=p-1"
    )
    assert vertex.trial_console_url("projects/123/locations/us-east1/customJobs/9") == (
        "https://console.cloud.google.com/agent-platform/locations/us-east1/training/9?project=123"
    )
    assert vertex.console_url("not a name") is None
    assert emulator.console_url(job) is None
    assert emulator.trial_console_url("projects/123/locations/us-east1/customJobs/9") is None


def test_the_backend_is_read_from_the_emulator_variable_once(monkeypatch):
    assert Backend.from_environment({"VERTEX_AI_EMULATOR_HOST": "127.0.0.1:8471"}) == Backend.emulator_at(
        "127.0.0.1:8471"
    )
    assert Backend.from_environment({}) == Backend.vertex()
    assert not Backend.from_environment({"VERTEX_AI_EMULATOR_HOST": ""}).is_emulator
