"""Fixtures: a Google Cloud project made of loopback fakes, and the environment that points doctor at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scripts import cli
from tests.scripts.doctor.fake_google import BUCKET, CALLER, PROJECT, PROVIDER, FakeGoogle, World, serve_http

# Variables of the developer's or CI's own machine that would change what doctor sees.
_CLEARED = (
    "GOOGLE_CLOUD_REGION",
    "HPT_ARTIFACT_REPOSITORY",
    "HPT_IMAGE",
    "HPT_TRIAL_SERVICE_ACCOUNT",
    "GITHUB_SHA",
    "GITHUB_STEP_SUMMARY",
    "CLOUD_BUILD_EMULATOR_HOST",
    "VERTEX_AI_EMULATOR_HOST",
    "GCP_DEPLOYER_SERVICE_ACCOUNT",
    "GCP_WORKLOAD_IDENTITY_PROVIDER",
    "HPT_ENVIRONMENT",
)


def write_service_account_key(path: Path, token_uri: str) -> Path:
    """A service account key file, with a fresh RSA key, whose token endpoint is `token_uri`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "0" * 40,
                "private_key": pem,
                "client_email": CALLER,
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def google(world: World, httpserver, tmp_path: Path, monkeypatch) -> Iterator[FakeGoogle]:
    """The fakes running, and the environment of a configured fork pointing at them."""
    serve_http(httpserver, world)
    key = write_service_account_key(tmp_path / "key.json", httpserver.url_for("/token"))
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    with FakeGoogle(world) as fake:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
        monkeypatch.setenv("HPT_STAGING_BUCKET", f"gs://{BUCKET}")
        monkeypatch.setenv("HPT_DOCTOR_EMULATOR_HOST", fake.address)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", httpserver.url_for("").rstrip("/"))
        monkeypatch.setenv("HPT_REGISTRY_URL", httpserver.url_for("").rstrip("/"))
        monkeypatch.setenv("HPT_DOCTOR_IAM_URL", httpserver.url_for("").rstrip("/"))
        monkeypatch.setenv("GCP_WORKLOAD_IDENTITY_PROVIDER", PROVIDER)
        yield fake


@pytest.fixture
def doctor(capsys):
    """Run `python -m scripts doctor ARGS` in-process: (exit status, stdout)."""

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["doctor", *args])
        captured = capsys.readouterr()
        return code, captured.out

    return run


def line(out: str, name: str) -> str:
    """The report line of check `name` (its mark, name and detail)."""
    for text in out.splitlines():
        if text[2:].startswith(name + " "):
            return text
    raise AssertionError(f"no line for {name!r} in:\n{out}")
