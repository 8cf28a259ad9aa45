"""Fixtures for the image build: a small git repository, a fake Cloud Build, and a fake GCS + registry.

Cloud Storage and the Docker registry are real HTTP (pytest-httpserver) behind the real clients
(google-cloud-storage reached through STORAGE_EMULATOR_HOST, requests through HPT_REGISTRY_URL);
Cloud Build is a real gRPC server behind the real google-cloud-build client.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import google_crc32c
import pytest
from werkzeug import Request, Response

from tests.scripts.cloudbuild import fake_cloudbuild

REPO_ROOT = Path(__file__).resolve().parents[3]
BUCKET = "staging-bucket"
PROJECT = "demo-project"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A committed copy of the image's build inputs, with a trainer stub and things that must not ship."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Dockerfile", ".dockerignore", "cloudbuild.yaml"):
        shutil.copy(REPO_ROOT / name, repo / name)
    shutil.copytree(REPO_ROOT / "requirements", repo / "requirements")
    (repo / "trainer").mkdir()
    (repo / "trainer" / "__init__.py").write_text("")
    (repo / "trainer" / "task.py").write_text("print('training')\n")
    (repo / "experiments.yaml").write_text("experiments: {}\n")
    (repo / ".gitignore").write_text(".hpt/\ngha-creds-*.json\n__pycache__/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "inputs")
    # Present in the work tree, ignored by git, and never to be uploaded.
    (repo / "gha-creds-0123abcd.json").write_text('{"type": "external_account"}')
    (repo / ".hpt").mkdir()
    (repo / ".hpt" / "store.sqlite").write_bytes(b"SQLite format 3\0")
    (repo / "trainer" / "__pycache__").mkdir()
    (repo / "trainer" / "__pycache__" / "task.cpython-311.pyc").write_bytes(b"\0" * 16)
    return repo


def git(repo: Path, *args: str) -> str:
    return _git(repo, *args)


@dataclass
class FakeGoogleHttp:
    """Cloud Storage uploads and Docker registry manifests, on one local HTTP server."""

    url: str
    objects: dict[str, bytes] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    upload_attempts: int = 0
    manifests: dict[str, str] = field(default_factory=dict)  # tag -> digest
    manifest_heads: list[dict[str, str]] = field(default_factory=list)

    def handle_upload(self, request: Request) -> Response:
        self.upload_attempts += 1
        assert request.args.get("uploadType") == "multipart"
        message = email.message_from_bytes(
            b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.get_data(),
            policy=email.policy.HTTP,
        )
        metadata_part, media_part = message.get_payload()
        metadata = json.loads(metadata_part.get_payload())
        data = media_part.get_payload(decode=True)
        if "crc32c" in metadata:
            assert metadata["crc32c"] == base64.b64encode(google_crc32c.Checksum(data).digest()).decode()
        name = metadata["name"]
        if request.args.get("ifGenerationMatch") == "0" and name in self.objects:
            return Response(
                json.dumps({"error": {"code": 412, "message": "conditionNotMet"}}),
                status=412,
                content_type="application/json",
            )
        self.put_object(name, data)
        return Response(json.dumps(self._metadata(name)), content_type="application/json")

    def put_object(self, name: str, data: bytes) -> None:
        """Store an object as a new generation (as an upload, or anyone else writing the bucket, does)."""
        self.objects[name] = data
        self.generations[name] = self.generations.get(name, 1000) + 1

    def _metadata(self, name: str) -> dict[str, str]:
        data = self.objects[name]
        return {
            "kind": "storage#object",
            "name": name,
            "bucket": BUCKET,
            "generation": str(self.generations[name]),
            "size": str(len(data)),
            "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
            "crc32c": base64.b64encode(google_crc32c.Checksum(data).digest()).decode(),
            "contentType": "application/gzip",
        }

    def handle_object_get(self, request: Request) -> Response:
        name = request.path.split(f"/b/{BUCKET}/o/", 1)[1]
        if name not in self.objects:
            return Response(json.dumps({"error": {"code": 404, "message": "Not Found"}}), status=404)
        return Response(json.dumps(self._metadata(name)), content_type="application/json")

    def handle_manifest(self, request: Request) -> Response:
        self.manifest_heads.append(dict(request.headers))
        tag = request.path.rsplit("/", 1)[-1]
        if tag in self.manifests:
            return Response(status=200, headers={"Docker-Content-Digest": self.manifests[tag]})
        return Response(status=404)


@pytest.fixture
def google_http(httpserver, monkeypatch) -> FakeGoogleHttp:
    fake = FakeGoogleHttp(url=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(f"/upload/storage/v1/b/{BUCKET}/o", method="POST").respond_with_handler(
        fake.handle_upload
    )
    httpserver.expect_request(re.compile(r"/v2/.+/manifests/[^/]+"), method="HEAD").respond_with_handler(
        fake.handle_manifest
    )
    httpserver.expect_request(re.compile(f"/storage/v1/b/{BUCKET}/o/.+"), method="GET").respond_with_handler(
        fake.handle_object_get
    )
    # google-cloud-storage also reads the bucket's metadata, in the background.
    httpserver.expect_request(f"/storage/v1/b/{BUCKET}", method="GET").respond_with_json(
        {"kind": "storage#bucket", "name": BUCKET, "location": "US-CENTRAL1"}
    )
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake.url)
    monkeypatch.setenv("HPT_REGISTRY_URL", fake.url)
    return fake


@pytest.fixture
def cloud_build(monkeypatch) -> Iterator[fake_cloudbuild.FakeCloudBuild]:
    """A fake Cloud Build whose builds succeed after two polls, unless a test sets another script."""
    Status = fake_cloudbuild.Status
    steps = ("check-substitutions", "pull-cache", "build", "smoke-test")
    fake = fake_cloudbuild.FakeCloudBuild(
        fake_cloudbuild.Script(
            states=[
                (Status.QUEUED, {}),
                (
                    Status.WORKING,
                    {
                        "check-substitutions": Status.SUCCESS,
                        "pull-cache": Status.SUCCESS,
                        "build": Status.WORKING,
                    },
                ),
                (Status.SUCCESS, dict.fromkeys(steps, Status.SUCCESS)),
            ]
        )
    )
    server, address = fake_cloudbuild.serve(fake)
    monkeypatch.setenv("CLOUD_BUILD_EMULATOR_HOST", address)
    yield fake
    server.stop(grace=None)


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path) -> None:
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_REGION",
        "HPT_ARTIFACT_REPOSITORY",
        "HPT_IMAGE",
        "HPT_STAGING_BUCKET",
        "GITHUB_REPOSITORY",
        "CLOUD_BUILD_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        "HPT_REGISTRY_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))


def outputs(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "github_output"
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines())
