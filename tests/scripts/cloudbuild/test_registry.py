"""The registry lookup's answers other than found / not found, on a real local HTTP server."""

from __future__ import annotations

import socket

import pytest

from scripts.cloudbuild import registry

NAME = registry.ImageName("europe-west4", "proj", "repo", "trainer")


def test_the_lookup_is_the_registry_v2_manifest_head(httpserver):
    httpserver.expect_request("/v2/proj/repo/trainer/manifests/inputs-1", method="HEAD").respond_with_data(
        "", headers={"Docker-Content-Digest": "sha256:" + "c" * 64}
    )
    assert registry.find_digest(NAME, "inputs-1", httpserver.url_for("")) == "sha256:" + "c" * 64
    assert NAME.manifest_url("t") == "https://europe-west4-docker.pkg.dev/v2/proj/repo/trainer/manifests/t"
    assert NAME.reference("t") == "europe-west4-docker.pkg.dev/proj/repo/trainer:t"


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (403, {}, r"not allowed to read .*trainer:inputs-1 \(HTTP 403\).*roles/artifactregistry\.reader"),
        (500, {}, r"answered HTTP 500"),
        (200, {}, r"sent no manifest digest"),
        # Whatever a registry says ends up in a job's image: only a whole sha256 digest is taken.
        (200, {"Docker-Content-Digest": "sha256:abc@evil"}, r"sent no manifest digest"),
    ],
)
def test_other_answers_are_explained(httpserver, status, headers, message):
    httpserver.expect_request("/v2/proj/repo/trainer/manifests/inputs-1", method="HEAD").respond_with_data(
        "", status=status, headers=headers
    )
    with pytest.raises(registry.RegistryError, match=message):
        registry.find_digest(NAME, "inputs-1", httpserver.url_for(""))


def test_an_unreachable_registry_is_named():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(registry.RegistryError, match=r"cannot reach europe-west4-docker\.pkg\.dev"):
        registry.find_digest(NAME, "inputs-1", f"http://127.0.0.1:{port}")


def test_a_tagged_reference_becomes_the_same_image_by_digest(httpserver):
    httpserver.expect_request("/v2/proj/repo/team/trainer/manifests/v1.2", method="HEAD").respond_with_data(
        "", headers={"Docker-Content-Digest": "sha256:" + "e" * 64}
    )
    tagged = "europe-west4-docker.pkg.dev/proj/repo/team/trainer:v1.2"
    assert registry.digest_reference(tagged, httpserver.url_for("")) == (
        "europe-west4-docker.pkg.dev/proj/repo/team/trainer@sha256:" + "e" * 64
    )
    pinned = "europe-west4-docker.pkg.dev/proj/repo/trainer@sha256:" + "f" * 64
    assert registry.digest_reference(pinned) == pinned  # no lookup: nothing else is expected


@pytest.mark.parametrize(
    "reference",
    [
        "docker.io/library/python:3.11",
        "europe-west4-docker.pkg.dev/proj/repo/trainer",  # no tag: Docker would read `latest`
        "europe-west4-docker.pkg.dev/proj/repo/trainer:$(id)",
        "europe-west4-docker.pkg.dev/proj/repo/trainer@sha256:short",
    ],
)
def test_a_reference_that_is_not_an_artifact_registry_tag_has_no_digest(reference):
    with pytest.raises(registry.RegistryError, match="not an Artifact Registry image"):
        registry.digest_reference(reference)
