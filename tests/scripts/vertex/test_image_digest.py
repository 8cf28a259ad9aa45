"""Every job submitted names its image by digest: the tag is looked up in the registry at submit
time, and an image that cannot be looked up submits nothing. Through the real GAPIC client against
the fake JobService, and a fake registry on loopback (`HPT_REGISTRY_URL`)."""

from __future__ import annotations

import socket

import pytest

from scripts.errors import UserError
from scripts.vertex.submit import names_images_by_digest, submit_job
from tests.scripts.vertex.conftest import codelab_job, make_compiled, submit

CREATE = "CreateHyperparameterTuningJob"
TAGGED = "us-central1-docker.pkg.dev/demo-project/hpt/trainer:abc123"
DIGEST = "sha256:" + "5" * 64
PINNED = f"us-central1-docker.pkg.dev/demo-project/hpt/trainer@{DIGEST}"


def _sent_images(fake) -> list[str]:
    return [
        pool.container_spec.image_uri
        for request in fake.requests(CREATE)
        for pool in request.hyperparameter_tuning_job.trial_job_spec.worker_pool_specs
    ]


def test_the_job_sent_names_the_image_by_the_digest_the_registry_has_for_its_tag(
    fake, client, compiled, registry
):
    registry.push(TAGGED, DIGEST)
    messages: list[str] = []
    job = submit(client, compiled, notify=messages.append, emulator=fake.address, registry_url=registry.url)

    assert _sent_images(fake) == [PINNED]
    assert job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri == PINNED
    # The spec hash (and every identity label) is the compiled job's: the plan's hash is the job's.
    assert dict(job.labels) == dict(codelab_job().labels)
    # What was compiled is not changed under the caller.
    assert compiled.job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri == TAGGED
    assert any(TAGGED in message and PINNED in message for message in messages)

    # The same submission again finds the job it made: reused, nothing created.
    again = submit_job(
        client, make_compiled(), notify=lambda message: None, emulator=fake.address, registry_url=registry.url
    )
    assert again.reused and again.job.name == job.name and fake.count(CREATE) == 1


def test_every_worker_pool_is_named_by_digest(fake, client, registry):
    job = codelab_job()
    pools = job.trial_job_spec.worker_pool_specs
    pools.append(type(pools[0])(pools[0]))
    pools[1].container_spec.image_uri = "europe-docker.pkg.dev/demo-project/hpt/chief:v2"
    registry.push(TAGGED, DIGEST)
    registry.push("europe-docker.pkg.dev/demo-project/hpt/chief:v2", "sha256:" + "6" * 64)

    submit(client, make_compiled(job), notify=print, emulator=fake.address, registry_url=registry.url)
    assert _sent_images(fake) == [PINNED, "europe-docker.pkg.dev/demo-project/hpt/chief@sha256:" + "6" * 64]


def test_an_image_already_named_by_digest_is_sent_as_it_is_without_a_lookup(fake, client, registry):
    job = codelab_job()
    job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri = PINNED
    submit(client, make_compiled(job), notify=print, emulator=fake.address, registry_url=registry.url)
    assert _sent_images(fake) == [PINNED]
    assert registry.lookups == []


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (TAGGED, r"trainer:abc123 is not in the registry"),
        ("docker.io/attacker/miner:latest", r"not an Artifact Registry image"),
        ("us-central1-docker.pkg.dev/demo-project/hpt/trainer", r"not an Artifact Registry image"),
    ],
    ids=["not-pushed", "another-registry", "no-tag"],
)
def test_an_image_without_a_digest_submits_nothing(fake, client, registry, image, expected):
    job = codelab_job()
    job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri = image
    with pytest.raises(UserError, match=r"no digest, no job") as raised:
        submit(client, make_compiled(job), notify=print, emulator=fake.address, registry_url=registry.url)
    assert raised.match(expected)
    assert fake.count(CREATE) == 0 and not fake.jobs


def test_an_unreachable_registry_submits_nothing(fake, client, compiled):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = f"http://127.0.0.1:{port}"
    with pytest.raises(UserError, match=r"no digest, no job.*cannot reach us-central1-docker\.pkg\.dev"):
        submit(client, compiled, notify=lambda message: None, emulator=fake.address, registry_url=unreachable)
    assert fake.count(CREATE) == 0


def test_vertex_always_gets_digests_an_emulator_only_with_a_registry():
    assert names_images_by_digest(None, None) is True  # Vertex AI
    # The local backend runs no container and pulls no image: with no registry, the tag stays.
    assert names_images_by_digest("127.0.0.1:8470", None) is False
    assert names_images_by_digest("127.0.0.1:8470", "http://127.0.0.1:1") is True
