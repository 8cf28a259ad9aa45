"""Submitting exactly once, through the real GAPIC client, against a fake JobService on loopback."""

from __future__ import annotations

import grpc
import pytest
from google.cloud.aiplatform_v1 import (
    CreateHyperparameterTuningJobRequest,
    JobState,
    ListHyperparameterTuningJobsRequest,
)

from scripts.errors import UserError
from scripts.jobs import labels
from tests.fakes.job_service import Fault
from tests.scripts.vertex.conftest import PARENT, codelab_job, make_compiled, submit

CREATE = "CreateHyperparameterTuningJob"
LIST = "ListHyperparameterTuningJobs"
IDENTITY_FILTER = (
    'labels.hpt-experiment="horses-humans" AND labels.hpt-spec-hash="0123456789abcdef" '
    'AND labels.hpt-commit="abc123"'
)


def test_first_submit_looks_up_by_identity_then_creates_the_compiled_job_byte_for_byte(
    fake, client, compiled
):
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)

    assert job.name == f"{PARENT}/hyperparameterTuningJobs/1000"
    assert job.state == JobState.JOB_STATE_PENDING
    # After the create, the same look-up again: a concurrent submitter's job would show there.
    assert [method for method, _, _ in fake.calls] == [LIST, CREATE, LIST]
    expected_list = ListHyperparameterTuningJobsRequest(parent=PARENT, filter=IDENTITY_FILTER)
    assert fake.raw_requests(LIST) == [ListHyperparameterTuningJobsRequest.serialize(expected_list)] * 2
    expected_create = CreateHyperparameterTuningJobRequest(
        parent=PARENT, hyperparameter_tuning_job=codelab_job()
    )
    assert fake.raw_requests(CREATE) == [CreateHyperparameterTuningJobRequest.serialize(expected_create)]


def test_a_second_submit_reuses_the_job_instead_of_creating_another(fake, client, compiled):
    messages = []
    first = submit(client, compiled, notify=messages.append, emulator=fake.address)
    second = submit(client, make_compiled(), notify=messages.append, emulator=fake.address)

    assert second.name == first.name
    assert fake.count(CREATE) == 1 and len(fake.jobs) == 1
    assert "reusing" in messages[-1] and "--force" in messages[-1]


def test_a_changed_commit_is_a_different_submission(fake, client, compiled):
    submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    submit(
        client,
        make_compiled(codelab_job(commit="def456")),
        notify=lambda message: None,
        emulator=fake.address,
    )
    assert len(fake.jobs) == 2


@pytest.mark.parametrize("state", ["JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"])
def test_a_failed_or_cancelled_job_is_not_reused(fake, client, compiled, state):
    old = codelab_job()
    old.name = f"{PARENT}/hyperparameterTuningJobs/77"
    old.state = JobState[state]
    fake.add_job(old)

    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    assert job.name != old.name
    assert fake.count(CREATE) == 1


def test_force_submits_anew_even_when_a_job_exists(fake, client, compiled):
    first = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    second = submit(client, compiled, force=True, notify=lambda message: None, emulator=fake.address)
    assert second.name != first.name
    assert fake.count(CREATE) == 2


def test_unavailable_then_success_retries_with_backoff(fake, client, compiled, policy, sleeps):
    fake.fail(CREATE, Fault(grpc.StatusCode.UNAVAILABLE), Fault(grpc.StatusCode.UNAVAILABLE))
    messages = []
    job = submit(client, compiled, policy=policy, notify=messages.append, emulator=fake.address)

    assert job.name in fake.jobs and len(fake.jobs) == 1
    assert fake.count(CREATE) == 3
    # Each UNAVAILABLE create might have been applied: the jobs are looked up before every retry.
    assert [m for m, _, _ in fake.calls] == [LIST, CREATE, LIST, CREATE, LIST, CREATE, LIST]
    # api_core's backoff: each wait at most a delay doubling from 1 s.
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0
    assert sum("UNAVAILABLE" in message for message in messages) == 2


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_create_whose_reply_is_lost_is_found_not_repeated(fake, client, compiled, policy, code):
    fake.fail(CREATE, Fault(code, applied=True))
    messages = []
    job = submit(client, compiled, policy=policy, notify=messages.append, emulator=fake.address)

    assert fake.count(CREATE) == 1 and len(fake.jobs) == 1
    assert job.name in fake.jobs
    assert "had been applied" in messages[-1]


def test_a_lost_reply_under_force_finds_the_new_job_not_the_old_one(fake, client, compiled, policy):
    first = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    fake.fail(CREATE, Fault(grpc.StatusCode.DEADLINE_EXCEEDED, applied=True))
    second = submit(
        client, compiled, force=True, policy=policy, notify=lambda message: None, emulator=fake.address
    )

    assert second.name != first.name
    assert fake.count(CREATE) == 2 and len(fake.jobs) == 2


def test_resource_exhausted_is_retried_without_a_lookup(fake, client, compiled, policy):
    # The service refused the request under load: nothing was applied, nothing to look up.
    fake.fail(CREATE, Fault(grpc.StatusCode.RESOURCE_EXHAUSTED, "Quota exceeded"))
    submit(client, compiled, policy=policy, notify=lambda message: None, emulator=fake.address)
    assert [m for m, _, _ in fake.calls] == [LIST, CREATE, CREATE, LIST]


def test_a_transient_failure_of_the_lookup_is_retried(fake, client, compiled, policy, sleeps):
    fake.fail(LIST, Fault(grpc.StatusCode.INTERNAL))
    submit(client, compiled, policy=policy, notify=lambda message: None, emulator=fake.address)
    assert fake.count(LIST) == 3 and fake.count(CREATE) == 1 and len(sleeps) == 1


def test_retries_are_bounded_and_end_with_a_message(fake, client, compiled, policy, sleeps):
    fake.fail(CREATE, *[Fault(grpc.StatusCode.UNAVAILABLE, "Service is unavailable")] * 10)
    with pytest.raises(UserError, match="did not answer after several retries") as raised:
        submit(client, compiled, policy=policy, notify=lambda message: None, emulator=fake.address)
    assert "UNAVAILABLE: Service is unavailable" in str(raised.value)
    assert fake.count(CREATE) == policy.max_attempts
    # A wait and a look-up after every ambiguous failure, the last one included.
    assert len(sleeps) == policy.max_attempts and fake.count(LIST) == 1 + policy.max_attempts
    assert max(sleeps) <= policy.max_delay
    assert not fake.jobs


def test_the_last_create_lost_its_reply_the_job_is_found_not_reported_failed(fake, client, compiled, policy):
    policy.max_attempts = 3
    fake.fail(
        CREATE,
        Fault(grpc.StatusCode.UNAVAILABLE),
        Fault(grpc.StatusCode.UNAVAILABLE),
        Fault(grpc.StatusCode.DEADLINE_EXCEEDED, applied=True),
    )
    job = submit(client, compiled, policy=policy, notify=lambda message: None, emulator=fake.address)
    assert fake.count(CREATE) == 3 and list(fake.jobs) == [job.name]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault(
                grpc.StatusCode.PERMISSION_DENIED,
                "Permission 'aiplatform.hyperparameterTuningJobs.create' denied on resource",
                reason="IAM_PERMISSION_DENIED",
            ),
            "`roles/aiplatform.user` on project demo-project",
        ),
        (
            Fault(
                grpc.StatusCode.PERMISSION_DENIED,
                "Vertex AI API has not been used in project 123 before or it is disabled.",
                reason="SERVICE_DISABLED",
            ),
            "`gcloud services enable aiplatform.googleapis.com --project demo-project`",
        ),
        (
            Fault(
                grpc.StatusCode.PERMISSION_DENIED,
                "The caller does not have permission iam.serviceAccounts.actAs on trainer@demo.iam",
            ),
            "`roles/iam.serviceAccountUser` on the trial service account",
        ),
        (
            Fault(
                grpc.StatusCode.FAILED_PRECONDITION,
                "The bucket gs://demo-bucket must be in the same region as the job: us-central1",
            ),
            "must be in the job's region",
        ),
        (
            Fault(grpc.StatusCode.NOT_FOUND, "Project demo-project not found"),
            "check the job name, the project and the region",
        ),
    ],
)
def test_errors_that_no_retry_can_fix_stop_at_once_with_what_to_do(
    fake, client, compiled, policy, sleeps, fault, expected
):
    fake.fail(CREATE, fault)
    with pytest.raises(UserError) as raised:
        submit(client, compiled, policy=policy, notify=lambda message: None, emulator=fake.address)
    message = str(raised.value)
    assert expected in message
    assert f"{fault.code.name}: {fault.message}" in message
    assert "\n" not in message
    assert fake.count(CREATE) == 1 and not sleeps and not fake.jobs


def test_invalid_argument_names_the_field_the_service_rejected(fake, client, policy, sleeps):
    job = codelab_job()
    del job.study_spec.metrics[:]
    with pytest.raises(UserError) as raised:
        submit(client, make_compiled(job), policy=policy, notify=lambda message: None, emulator=fake.address)
    message = str(raised.value)
    assert "INVALID_ARGUMENT: HyperparameterTuningJob.study_spec.metrics must be set." in message
    assert "python -m scripts plan EXPERIMENT --format json" in message
    assert fake.count(CREATE) == 1 and not sleeps


def test_a_job_without_its_identity_labels_is_refused_before_any_call(fake, client):
    job = codelab_job()
    del job.labels[labels.COMMIT]
    with pytest.raises(UserError, match="lacks the identity labels hpt-commit"):
        submit(client, make_compiled(job), notify=lambda message: None, emulator=fake.address)
    assert fake.calls == []


def test_the_lookup_reads_every_page_of_matching_jobs(fake, client, compiled):
    fake.page_size = 1
    for index, state in enumerate(["JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_RUNNING"]):
        earlier = codelab_job()
        earlier.name = f"{PARENT}/hyperparameterTuningJobs/{index + 1}"
        earlier.state = JobState[state]
        fake.add_job(earlier)

    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    assert job.name == f"{PARENT}/hyperparameterTuningJobs/3"  # the running one, on the third page
    assert fake.count(LIST) == 3 and fake.count(CREATE) == 0


def test_an_emulator_address_where_nothing_listens_says_so(monkeypatch, compiled, policy):
    import socket

    from scripts.vertex.backend import Backend
    from scripts.vertex.service import JobService

    with socket.socket() as probe:  # a port that was free a moment ago, with nothing listening now
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    policy.max_attempts = 2
    with pytest.raises(UserError, match=f"nothing answers at the emulator address {address}"):
        JobService(Backend.emulator_at(address)).submit(compiled, policy=policy, notify=lambda message: None)
