"""`doctor` checks the TensorBoard an experiment streams to, through the real TensorboardServiceClient
against the loopback fake (`fake_google.World.tensorboards`)."""

from __future__ import annotations

import pytest

from scripts.paths import EXPERIMENTS_FILE
from tests.scripts.doctor.conftest import line
from tests.scripts.doctor.fake_google import CALLER, PROJECT, REGION, TENSORBOARD, TRIAL_ACCOUNT

EXPERIMENT = "horses-humans"
ACCOUNT_LINE = "  service_account: ${HPT_TRIAL_SERVICE_ACCOUNT:-}\n"


def report(out: str) -> str:
    """The tensorboard line, its columns closed up."""
    return " ".join(line(out, "tensorboard").split())


@pytest.fixture
def streaming(tmp_path, monkeypatch):
    """The shipped file with `tensorboard: ID` in defaults (trials run as TRIAL_ACCOUNT): its path."""

    def write(value: str) -> str:
        text = EXPERIMENTS_FILE.read_text()
        assert ACCOUNT_LINE in text
        path = tmp_path / "experiments.yaml"
        path.write_text(text.replace(ACCOUNT_LINE, f"{ACCOUNT_LINE}  tensorboard: '{value}'\n"))
        return str(path)

    monkeypatch.setenv("HPT_TRIAL_SERVICE_ACCOUNT", TRIAL_ACCOUNT)
    return write


def test_an_instance_that_exists_passes(google, world, doctor, streaming):
    code, out = doctor(EXPERIMENT, "--file", streaming("1234567890"))
    assert code == 0, out
    assert report(out) == f"✓ tensorboard {TENSORBOARD} (hpt) exists; trials of {EXPERIMENT} stream to it"
    (asked,) = world.called("GetTensorboard")
    assert asked.name == TENSORBOARD  # the bare ID, completed with the experiment's project and region


def test_an_instance_that_does_not_exist_fails_with_the_create_command(google, world, doctor, streaming):
    code, out = doctor(EXPERIMENT, "--file", streaming("999"))
    assert code == 5
    assert (
        report(out)
        == f"✗ tensorboard no TensorBoard instance 999 in {PROJECT} / {REGION} (named by {EXPERIMENT})"
    )
    assert f"$ gcloud ai tensorboards create --display-name=hpt --project={PROJECT} --region={REGION}" in out


def test_an_instance_the_caller_may_not_read_fails_with_the_role_to_grant(google, world, doctor, streaming):
    world.tensorboards_visible = False
    code, out = doctor(EXPERIMENT, "--file", streaming("1234567890"))
    assert code == 5
    assert report(out).endswith(
        f"{TENSORBOARD} (named by {EXPERIMENT}) does not exist, or service account {CALLER} may not read it "
        "(aiplatform.tensorboards.get)"
    )
    assert (
        f"gcloud projects add-iam-policy-binding {PROJECT} --member=serviceAccount:{CALLER} "
        "--role=roles/aiplatform.viewer"
    ) in out


def test_no_line_and_no_call_when_no_experiment_names_one(google, world, doctor):
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    assert "tensorboard" not in out
    assert world.called("GetTensorboard") == []


def test_without_credentials_the_check_is_skipped_naming_who_needs_it(google, doctor, streaming, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    code, out = doctor(EXPERIMENT, "--file", streaming("1234567890"))
    assert code == 5
    assert report(out) == f"– tensorboard skipped: no usable credentials (named by {EXPERIMENT})"


def test_on_google_cloud_the_instance_is_asked_at_its_regions_endpoint():
    from google.auth.credentials import AnonymousCredentials

    from scripts.doctor.clients import Clients, Endpoints

    client = Clients(Endpoints(), AnonymousCredentials()).tensorboards("europe-west4")
    assert client.api_endpoint == "europe-west4-aiplatform.googleapis.com"
