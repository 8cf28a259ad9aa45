"""`python -m scripts build` end to end through the real clients: google-cloud-build against a fake
Cloud Build gRPC server, google-cloud-storage and the registry lookup against a local HTTP server."""

from __future__ import annotations

import io
import tarfile

import pytest
import yaml
from google.cloud.devtools import cloudbuild_v1
from google.protobuf import json_format

from scripts import cli, images
from scripts.cloudbuild import archive, registry
from tests.scripts.cloudbuild.conftest import (
    BUCKET,
    PROJECT,
    _no_ambient_settings,  # noqa: F401 (autouse: no ambient settings)
    git,
    outputs,
)
from tests.scripts.cloudbuild.fake_cloudbuild import Script, Status, pushed_build

IMAGE = f"us-central1-docker.pkg.dev/{PROJECT}/hpt/trainer"


def build(repo, *extra: str) -> int:
    return cli.main(
        [
            "build",
            "--project",
            PROJECT,
            "--bucket",
            f"gs://{BUCKET}",
            "--source",
            str(repo),
            "--poll-interval",
            "0.01",
            *extra,
        ]
    )


def test_a_successful_build_uploads_the_filtered_source_submits_cloudbuild_yaml_and_reports_the_digest(
    git_repo, google_http, cloud_build, capsys, tmp_path
):
    assert build(git_repo) == 0
    out, err = capsys.readouterr()
    tag = images.content_tag("HEAD", git_repo)
    commit = git(git_repo, "rev-parse", "HEAD")

    # The request: our project and region, cloudbuild.yaml's steps and images, our source and tags.
    (request,) = cloud_build.create_requests
    assert request.project_id == PROJECT
    assert request.parent == f"projects/{PROJECT}/locations/us-central1"
    config = yaml.safe_load((git_repo / "cloudbuild.yaml").read_text())
    sent = request.build
    assert [step.id for step in sent.steps] == [step["id"] for step in config["steps"]]
    assert [list(step.args) for step in sent.steps] == [step["args"] for step in config["steps"]]
    assert list(sent.images) == config["images"]
    assert sent.options.machine_type.name == config["options"]["machineType"]
    assert sent.timeout.total_seconds() == 3600
    assert dict(sent.substitutions) == {
        "_REGION": "us-central1",
        "_REPOSITORY": "hpt",
        "_IMAGE": "trainer",
        "_CONTENT_TAG": tag,
        "_SOURCE_URL": "",
        "_CACHE_FROM": "",  # no earlier build of this project: no layer cache
        "COMMIT_SHA": commit,
    }
    assert tag in sent.tags
    assert sent.source.storage_source.bucket == BUCKET
    # The build reads the generation that was uploaded, not whatever the name holds later.
    assert (
        sent.source.storage_source.generation == google_http.generations[sent.source.storage_source.object_]
    )

    # Byte for byte: the request equals one built straight from the YAML with protobuf's own parser.
    expected = cloudbuild_v1.CreateBuildRequest.meta.pb()
    json_format.ParseDict(
        {
            "projectId": PROJECT,
            "parent": f"projects/{PROJECT}/locations/us-central1",
            "build": {
                **config,
                "substitutions": {**config["substitutions"], **dict(sent.substitutions)},
                "source": {
                    "storageSource": {
                        "bucket": BUCKET,
                        "object": sent.source.storage_source.object_,
                        "generation": str(sent.source.storage_source.generation),
                    }
                },
                "tags": ["hpt-trainer", tag],
            },
        },
        expected,
    )
    received = cloudbuild_v1.CreateBuildRequest.pb(request)
    assert received.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)

    # The uploaded archive is the object the build reads, and holds only what the image needs.
    data = google_http.objects[sent.source.storage_source.object_]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = sorted(tar.getnames())
    assert "Dockerfile" in members and "trainer/task.py" in members and "requirements/trainer.txt" in members
    unwanted = [
        m for m in members if "gha-creds" in m or ".pyc" in m or m.startswith((".hpt", ".git/", "tests"))
    ]
    assert unwanted == []
    assert "experiments.yaml" not in members

    # The log URL is printed before the build's progress, and the outputs name image and digest.
    assert "logs at https://console.cloud.google.com/cloud-build/builds" in err
    assert err.index("logs at") < err.index("SUCCESS")
    pushed = {image.name: image.digest for image in cloud_build.builds["build-1"].results.images}
    digest = pushed[f"{IMAGE}:{tag}"]
    assert out.strip() == f"{IMAGE}:{tag}@{digest}"
    assert outputs(tmp_path) == {
        "build-id": "build-1",
        "log-url": cloud_build.builds["build-1"].log_url,
        "image": f"{IMAGE}:{tag}",
        "digest": digest,
        "built": "true",
    }
    assert cloud_build.operation_polls >= 2  # followed through GetOperation


def test_a_passing_unavailable_answer_while_following_does_not_stop_the_command(
    git_repo, google_http, cloud_build, capsys
):
    cloud_build.unavailable_polls = 2
    assert build(git_repo) == 0
    assert cloud_build.unavailable_polls == 0 and "SUCCESS" in capsys.readouterr().err


@pytest.mark.parametrize(
    "operation_error",
    ["Build failed; check build logs for details", None],
    ids=["with-operation-error", "without-operation-error"],
)
def test_a_failed_build_exits_nonzero_naming_the_failing_step(
    git_repo, google_http, cloud_build, capsys, tmp_path, operation_error
):
    cloud_build.script = Script(
        states=[
            (Status.WORKING, {"check-substitutions": Status.SUCCESS, "build": Status.WORKING}),
            (
                Status.FAILURE,
                {
                    "check-substitutions": Status.SUCCESS,
                    "pull-cache": Status.SUCCESS,
                    "build": Status.SUCCESS,
                    "smoke-test": Status.FAILURE,
                },
            ),
        ],
        operation_error=operation_error,
        failure_detail='Build step failure: step "smoke-test" exited 1',
    )

    assert build(git_repo) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: build build-1 ended FAILURE at step 'smoke-test' (FAILURE)")
    assert 'step "smoke-test" exited 1' in last and "logs: https://" in last
    assert "Traceback" not in err
    assert "digest" not in outputs(tmp_path)


@pytest.mark.parametrize(
    ("build_status", "step_status", "expected"),
    [
        (Status.TIMEOUT, Status.TIMEOUT, "ended TIMEOUT at step 'build' (TIMEOUT)"),
        (Status.CANCELLED, Status.CANCELLED, "ended CANCELLED at step 'build' (CANCELLED)"),
        # A build stopped from outside can leave its running step WORKING: that step is named.
        (Status.CANCELLED, Status.WORKING, "ended CANCELLED at step 'build' (WORKING)"),
        (
            Status.INTERNAL_ERROR,
            Status.INTERNAL_ERROR,
            "ended INTERNAL_ERROR at step 'build' (INTERNAL_ERROR)",
        ),
    ],
)
def test_a_build_that_ends_otherwise_names_its_status_and_the_step_it_stopped_in(
    git_repo, google_http, cloud_build, capsys, build_status, step_status, expected
):
    cloud_build.script = Script(
        states=[
            (Status.WORKING, {"build": Status.WORKING}),
            (
                build_status,
                {"check-substitutions": Status.SUCCESS, "pull-cache": Status.SUCCESS, "build": step_status},
            ),
        ],
        operation_error=f"Build {build_status.name.lower()}",
    )

    assert build(git_repo) == 1
    assert expected in capsys.readouterr().err


def pushed_by(build_id: str, tag: str, digest: str, status: Status = Status.SUCCESS) -> cloudbuild_v1.Build:
    """A build of this project on record that pushed `IMAGE:tag` as `digest` (when it succeeded)."""
    return pushed_build(build_id, PROJECT, f"{IMAGE}:{tag}", digest, status)


def test_an_existing_content_tag_skips_the_build_and_reports_the_pushed_digest(
    git_repo, google_http, cloud_build, capsys, tmp_path
):
    tag = images.content_tag("HEAD", git_repo)
    google_http.manifests[tag] = "sha256:" + "b" * 64
    cloud_build.add_listed(pushed_by("built-1", tag, "sha256:" + "b" * 64))

    assert build(git_repo) == 0
    out, err = capsys.readouterr()
    assert "already exists" in err and "pushed by build built-1" in err
    assert out.strip() == f"{IMAGE}:{tag}@sha256:{'b' * 64}"
    assert outputs(tmp_path)["built"] == "false"
    assert cloud_build.create_requests == [] and google_http.upload_attempts == 0
    # The registry is asked with every manifest type a pushed image can have.
    assert google_http.manifest_heads[-1]["Accept"] == registry.MANIFEST_TYPES

    assert build(git_repo, "--force") == 0
    assert len(cloud_build.create_requests) == 1


def test_a_rerun_after_success_builds_nothing_and_uploads_nothing(git_repo, google_http, cloud_build, capsys):
    tag = images.content_tag("HEAD", git_repo)

    # The fake registry learns of the image when the fake build pushes it.
    def push(done) -> None:
        google_http.manifests[tag] = done.results.images[1].digest

    cloud_build.script.on_success = push

    assert build(git_repo) == 0
    assert build(git_repo) == 0
    assert len(cloud_build.create_requests) == 1
    assert google_http.upload_attempts == 1


def test_a_build_of_the_same_inputs_that_is_running_is_followed_not_duplicated(
    git_repo, google_http, cloud_build, capsys
):
    tag = images.content_tag("HEAD", git_repo)
    image = f"{IMAGE}:{tag}"
    cloud_build.add_listed(
        cloudbuild_v1.Build(
            id="running-1",
            project_id=PROJECT,
            status=Status.WORKING,
            tags=["hpt-trainer", tag],
            images=[image],
            log_url="https://console.cloud.google.com/cloud-build/builds/running-1",
            steps=[cloudbuild_v1.BuildStep(id="build", name="gcr.io/cloud-builders/docker")],
        )
    )

    assert build(git_repo) == 0
    out, err = capsys.readouterr()
    assert "running-1" in err and "already" in err
    assert cloud_build.create_requests == [] and google_http.upload_attempts == 0
    assert cloud_build.list_requests[0].filter == f'tags="{tag}"'
    assert {request.name for request in cloud_build.get_build_requests} == {
        f"projects/{PROJECT}/locations/us-central1/builds/running-1"
    }
    assert out.startswith(image + "@sha256:")


def test_no_wait_returns_once_the_build_is_created(git_repo, google_http, cloud_build, capsys, tmp_path):
    assert build(git_repo, "--no-wait") == 0
    assert "logs at https://" in capsys.readouterr().err
    assert cloud_build.operation_polls == 0
    assert outputs(tmp_path)["build-id"] == "build-1"


def test_uncommitted_changes_to_build_inputs_are_refused_before_anything_is_sent(
    git_repo, google_http, cloud_build, capsys
):
    (git_repo / "trainer" / "task.py").write_text("print('changed')\n")
    assert build(git_repo) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: uncommitted changes in the image's inputs (trainer/task.py)")
    assert cloud_build.create_requests == [] and google_http.upload_attempts == 0


def test_missing_settings_are_named(git_repo, capsys):
    assert cli.main(["build", "--source", str(git_repo)]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: missing --project (or $GOOGLE_CLOUD_PROJECT) and --bucket (or $HPT_STAGING_BUCKET)"
    )


def test_a_misspelt_cloudbuild_field_fails_before_upload(git_repo, google_http, cloud_build, capsys):
    config = git_repo / "cloudbuild.yaml"
    config.write_text(config.read_text().replace("machineType:", "machine_typo:"))
    git(git_repo, "commit", "-q", "-am", "typo")
    assert build(git_repo) == 1
    err = capsys.readouterr().err
    line = 1 + next(n for n, text in enumerate(config.read_text().splitlines()) if "machine_typo" in text)
    assert err.startswith(f"error: {config.resolve()}:{line}:3: unknown field 'machine_typo'")
    assert len(err.strip().splitlines()) == 1
    assert google_http.upload_attempts == 0 and cloud_build.create_requests == []


def test_without_google_credentials_the_command_says_how_to_get_them(
    git_repo, google_http, capsys, monkeypatch, tmp_path
):
    # No emulator for Cloud Build, and Application Default Credentials that point nowhere.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    assert build(git_repo) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no Google credentials: run `gcloud auth application-default login`")
    assert google_http.upload_attempts == 0


@pytest.mark.parametrize(
    "record",
    [
        None,  # pushed by hand (or by anything but a build of this project)
        ("failed-1", "sha256:" + "b" * 64, Status.FAILURE),
        ("other-1", "sha256:" + "c" * 64, Status.SUCCESS),  # the tag was moved after the build
    ],
    ids=["no-build", "failed-build", "other-digest"],
)
def test_an_existing_content_tag_no_successful_build_pushed_is_refused(
    git_repo, google_http, cloud_build, capsys, tmp_path, record
):
    tag = images.content_tag("HEAD", git_repo)
    google_http.manifests[tag] = "sha256:" + "b" * 64
    if record is not None:
        build_id, digest, status = record
        cloud_build.add_listed(pushed_by(build_id, tag, digest, status))

    assert build(git_repo) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {IMAGE}:{tag} exists (sha256:bbbbbbbbbbbb") and "not trusted" in err
    assert "no successful Cloud Build of this project pushed it" in err
    assert cloud_build.create_requests == [] and google_http.upload_attempts == 0
    assert "digest" not in outputs(tmp_path)


def _source_name(repo) -> str:
    return f"hpt-build-source/{archive.build_archive(repo).sha256[:32]}.tar.gz"


def test_a_source_object_of_that_name_with_other_bytes_is_refused(git_repo, google_http, cloud_build, capsys):
    name = _source_name(git_repo)
    google_http.put_object(name, b"someone else's build source")

    assert build(git_repo) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: gs://{BUCKET}/{name} exists with other content")
    assert cloud_build.create_requests == []
    assert google_http.objects[name] == b"someone else's build source"


def test_a_source_object_with_the_same_bytes_is_built_from_at_the_generation_checked(
    git_repo, google_http, cloud_build
):
    name = _source_name(git_repo)
    google_http.put_object(name, archive.build_archive(git_repo).data)
    checked = google_http.generations[name]

    assert build(git_repo) == 0
    (request,) = cloud_build.create_requests
    source = request.build.source.storage_source
    assert (source.object_, source.generation) == (name, checked)


def test_the_layer_cache_is_the_newest_image_a_successful_build_pushed_by_digest(
    git_repo, google_http, cloud_build
):
    cloud_build.add_listed(pushed_by("old-ok", "inputs-" + "1" * 16, "sha256:" + "1" * 64))
    cloud_build.add_listed(
        pushed_by("new-failed", "inputs-" + "2" * 16, "sha256:" + "2" * 64, Status.FAILURE)
    )

    assert build(git_repo) == 0
    (request,) = cloud_build.create_requests
    assert request.build.substitutions["_CACHE_FROM"] == f"{IMAGE}@sha256:" + "1" * 64
