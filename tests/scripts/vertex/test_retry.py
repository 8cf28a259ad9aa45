"""Retries say what they retry, when, why, and which attempt comes next: one line each."""

from __future__ import annotations

import re
import socket

import grpc
import pytest

from scripts import cli
from scripts.vertex import retry
from scripts.vertex.follow import get_job
from scripts.vertex.submit import submit
from tests.fakes.job_service import Fault

GET = "GetHyperparameterTuningJob"
CREATE = "CreateHyperparameterTuningJob"
LINE = re.compile(
    r"^retrying (?P<method>\w+) in (?P<wait>\d+\.\d) s \((?P<code>[A-Z_]+): (?P<why>.*); "
    r"attempt (?P<attempt>\d+) of (?P<of>\d+)\)$"
)


def test_each_retry_of_a_poll_is_one_line_naming_the_call_the_wait_the_cause_and_the_attempt(
    fake, client, compiled, policy, sleeps
):
    job = submit(client, compiled, notify=lambda message: None)
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
    # The line says the wait that follows it.
    assert [float(m["wait"]) for m in parsed] == [round(wait, 1) for wait in sleeps]


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
    submit(client, compiled, policy=policy, notify=messages.append)
    retries = [LINE.match(message) for message in messages if message.startswith("retrying")]
    assert [(m["method"], m["code"], m["attempt"]) for m in retries] == [
        ("ListHyperparameterTuningJobs", "RESOURCE_EXHAUSTED", "2"),
        (CREATE, "RESOURCE_EXHAUSTED", "2"),
    ]


def test_a_dead_emulator_address_shows_every_retry_before_the_error(monkeypatch, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", f"127.0.0.1:{port}")
    waits = []
    monkeypatch.setattr(retry, "_sleep", waits.append)

    status = cli.main(["status", "projects/p/locations/us-central1/hyperparameterTuningJobs/1"])
    err = capsys.readouterr().err.splitlines()

    assert status == 1
    retries = [LINE.match(line) for line in err[:-1]]
    assert all(retries) and len(retries) == len(waits) == retry.RetryPolicy().max_attempts - 1, err
    assert {m["method"] for m in retries} == {GET} and {m["code"] for m in retries} == {"UNAVAILABLE"}
    assert [int(m["attempt"]) for m in retries] == list(range(2, len(retries) + 2))
    assert err[-1].startswith("error: reading job") and f"127.0.0.1:{port}" in err[-1]
