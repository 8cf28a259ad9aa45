"""Retries (api_core's `Retry`) say what they retry, why, and which attempt comes next: one line
each; a call that keeps failing ends with the one-line error its last failure explains."""

from __future__ import annotations

import re
import socket

import grpc
import pytest

from scripts import cli
from scripts.errors import UserError
from scripts.vertex import calls
from scripts.vertex.service import cancel_job, get_job
from tests.fakes.job_service import Fault
from tests.scripts.vertex.conftest import submit

GET = "GetHyperparameterTuningJob"
CREATE = "CreateHyperparameterTuningJob"
LINE = re.compile(
    r"^retrying (?P<method>\w+) \((?P<code>[A-Z_]+): (?P<why>.*); attempt (?P<attempt>\d+) of (?P<of>\d+)\)$"
)


def test_each_retry_of_a_poll_is_one_line_naming_the_call_the_cause_and_the_attempt(
    fake, client, compiled, policy, sleeps
):
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    fake.fail(
        GET, Fault(grpc.StatusCode.UNAVAILABLE, "backend down"), Fault(grpc.StatusCode.INTERNAL, "oops")
    )
    lines = []
    policy.notify = lines.append

    assert get_job(client, job.name, policy).name == job.name
    assert len(lines) == 2 == len(sleeps)
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [m["method"] for m in parsed] == [GET, GET]
    assert [m["code"] for m in parsed] == ["UNAVAILABLE", "INTERNAL"]
    assert parsed[0]["why"] == "backend down"
    assert [(m["attempt"], m["of"]) for m in parsed] == [("2", "6"), ("3", "6")]
    # api_core's backoff: each wait at most a delay doubling from 1 s.
    assert 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0


def test_a_call_that_keeps_failing_ends_after_the_last_attempt_with_its_one_line_error(
    fake, client, compiled, policy, sleeps
):
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    fake.fail(GET, *[Fault(grpc.StatusCode.UNAVAILABLE, "backend down")] * 10)
    lines = []
    policy.notify = lines.append

    with pytest.raises(UserError) as raised:
        get_job(client, job.name, policy)
    assert str(raised.value) == (
        f"reading job {job.name}: Vertex AI did not answer after several retries: try again later "
        "(UNAVAILABLE: backend down)"
    )
    assert fake.count(GET) == policy.max_attempts == len(lines) + 1 == len(sleeps) + 1


def test_a_permanent_error_of_a_cancel_is_one_line_at_once(fake, client, policy, sleeps):
    name = "projects/demo-project/locations/us-central1/hyperparameterTuningJobs/1"
    fake.fail("CancelHyperparameterTuningJob", Fault(grpc.StatusCode.PERMISSION_DENIED, "no cancel for you"))
    with pytest.raises(UserError) as raised:
        cancel_job(client, name, policy)
    assert str(raised.value) == (
        f"cancelling job {name}: permission denied: grant the identity in use (Application Default "
        "Credentials, or the workload identity of the workflow) `roles/aiplatform.user` on project "
        "demo-project (PERMISSION_DENIED: no cancel for you)"
    )
    assert fake.count("CancelHyperparameterTuningJob") == 1 and sleeps == []


def test_a_gapic_call_takes_the_policy_as_its_retry(fake, client, compiled, policy, sleeps):
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    fake.fail(
        GET, Fault(grpc.StatusCode.DEADLINE_EXCEEDED, "slow"), Fault(grpc.StatusCode.UNAVAILABLE, "down")
    )
    lines = []
    policy.notify = lines.append

    got = client.get_hyperparameter_tuning_job(
        name=job.name, retry=policy.retry(GET), timeout=calls.CALL_TIMEOUT
    )
    assert got.name == job.name and fake.count(GET) == 3 and len(sleeps) == 2
    assert [LINE.match(line)["code"] for line in lines] == ["DEADLINE_EXCEEDED", "UNAVAILABLE"]


def test_a_rejected_call_is_not_retried_and_says_nothing(fake, client, policy, sleeps):
    lines = []
    policy.notify = lines.append
    with pytest.raises(Exception, match="not found"):
        get_job(client, "projects/p/locations/us-central1/hyperparameterTuningJobs/404", policy)
    assert lines == [] and sleeps == []


def test_a_retried_create_and_lookup_say_which_call_they_repeat(fake, client, compiled, policy):
    fake.fail("ListHyperparameterTuningJobs", Fault(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota"))
    fake.fail(CREATE, Fault(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota"))
    messages = []
    submit(client, compiled, policy=policy, notify=messages.append, emulator=fake.address)
    retries = [LINE.match(message) for message in messages if message.startswith("retrying")]
    assert [(m["method"], m["code"], m["attempt"]) for m in retries] == [
        ("ListHyperparameterTuningJobs", "RESOURCE_EXHAUSTED", "2"),
        (CREATE, "RESOURCE_EXHAUSTED", "2"),
    ]


def test_a_dead_emulator_address_shows_every_retry_before_the_error(monkeypatch, capsys, sleeps):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", f"127.0.0.1:{port}")

    status = cli.main(["status", "projects/p/locations/us-central1/hyperparameterTuningJobs/1"])
    err = capsys.readouterr().err.splitlines()

    assert status == 1
    retries = [LINE.match(line) for line in err[:-1]]
    assert all(retries) and len(retries) == len(sleeps) == calls.RetryPolicy().max_attempts - 1, err
    assert {m["method"] for m in retries} == {GET} and {m["code"] for m in retries} == {"UNAVAILABLE"}
    assert [int(m["attempt"]) for m in retries] == list(range(2, len(retries) + 2))
    assert err[-1].startswith("error: reading job") and f"127.0.0.1:{port}" in err[-1]
