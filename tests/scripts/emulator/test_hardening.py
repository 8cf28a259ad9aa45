"""An emulator that stays up: hostile requests are answered (within 2 s) and refused, never obeyed."""

from __future__ import annotations

import threading
import time

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1 import ListHyperparameterTuningJobsRequest, WorkerPoolSpec

from scripts.emulator.contract import DATABASE_FILE
from scripts.emulator.embedded import running_emulator
from scripts.emulator.scheduler import MAX_LOCAL_REPLICAS, MAX_LOCAL_TRIALS
from scripts.emulator.store import DamagedStore, Store

from .conftest import PARENT, client_for, make_job

ANSWER_WITHIN = 2.0


def _timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except exceptions.GoogleAPICallError as error:
        return error, time.monotonic() - started


def _refused(emulator, job, match: str) -> None:
    error, elapsed = _timed(lambda: emulator.submit(job))
    assert isinstance(error, exceptions.InvalidArgument), error
    assert match in error.message, error.message
    assert elapsed < ANSWER_WITHIN


def test_a_poison_job_is_refused_before_anything_runs(emulator):
    job = make_job()
    pools = job.trial_job_spec.worker_pool_specs
    pools.append(WorkerPoolSpec(pools[0], replica_count=10**9))
    _refused(emulator, job, f"worker_pool_specs[1].replica_count: at most {MAX_LOCAL_REPLICAS} replicas")
    _refused(emulator, make_job(max_trials=10**9), f"max_trial_count: at most {MAX_LOCAL_TRIALS}")
    _refused(emulator, make_job(max_trials=1000, parallel=10**6), "parallel_trial_count")
    assert list(emulator.client.list_hyperparameter_tuning_jobs(parent=PARENT)) == []


@pytest.mark.parametrize("prefix", ["gs://b/../../..", "gs://b/./../x", "/etc", "file:///tmp/x", "gs://"])
def test_outputs_outside_the_state_directory_are_refused(emulator, prefix):
    job = make_job()
    job.trial_job_spec.base_output_directory.output_uri_prefix = prefix
    _refused(emulator, job, "base_output_directory.output_uri_prefix")


def test_a_hostile_filter_is_answered_fast_and_blocks_no_other_call(emulator):
    created = emulator.submit(make_job(max_trials=1))
    hostile = [
        "state=x" + " " * 100_000 + "y",
        "state=x" + " " * 4000 + "y",
        'labels.a="' + "(" * 4000 + '"',
        "labels.a=" + "(" * 4000,  # parentheses group terms (AIP-160): unquoted, no value
    ]
    answers = []

    def lister():
        for text in hostile:
            request = ListHyperparameterTuningJobsRequest(parent=PARENT, filter=text)
            answers.append(
                _timed(
                    lambda request=request: list(
                        emulator.client.list_hyperparameter_tuning_jobs(request=request)
                    )
                )
            )

    thread = threading.Thread(target=lister)
    thread.start()
    got, elapsed = _timed(lambda: emulator.client.get_hyperparameter_tuning_job(name=created.name))
    thread.join(10)
    assert got.name == created.name and elapsed < ANSWER_WITHIN
    assert len(answers) == len(hostile)
    for _answer, elapsed in answers:
        assert elapsed < ANSWER_WITHIN
    assert all(isinstance(answer, exceptions.InvalidArgument) for answer, _ in answers[:2])
    assert answers[2][0] == []  # a strange but well-formed value matches nothing
    assert isinstance(answers[3][0], exceptions.InvalidArgument)


def test_a_second_emulator_cannot_bind_the_same_port(tmp_path):
    with running_emulator(tmp_path / "a") as address:
        port = int(address.rsplit(":", 1)[1])
        started = time.monotonic()
        with (
            pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"),
            running_emulator(tmp_path / "b", port=port),
        ):
            pass
        assert time.monotonic() - started < ANSWER_WITHIN


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_one_line_naming_the_file_and_what_to_do(tmp_path, damage):
    state = tmp_path / "state"
    if damage == "garbage":
        state.mkdir()
        (state / DATABASE_FILE).write_bytes(b"this is not a database" * 100)
    else:
        store = Store(state)
        for _ in range(200):
            store.create_job(PARENT, make_job())
        store.close()
        for extra in ("-wal", "-shm"):
            (state / f"{DATABASE_FILE}{extra}").unlink(missing_ok=True)
        data = (state / DATABASE_FILE).read_bytes()
        (state / DATABASE_FILE).write_bytes(data[: len(data) // 2])
    before = (state / DATABASE_FILE).read_bytes()
    started = time.monotonic()
    with pytest.raises(DamagedStore) as raised, running_emulator(state):
        pass
    assert time.monotonic() - started < ANSWER_WITHIN
    message = str(raised.value)
    assert "\n" not in message
    assert str(state / DATABASE_FILE) in message and "move it aside" in message
    assert (state / DATABASE_FILE).read_bytes() == before  # never repaired or replaced in place


def test_an_empty_store_never_reuses_the_number_of_an_earlier_run(tmp_path):
    state = tmp_path / "state"
    (state / "runs" / "1").mkdir(parents=True)
    (state / "runs" / "1" / "summary.json").write_text("{}")
    (state / "jobs" / "3" / "trials").mkdir(parents=True)
    with running_emulator(state) as address:
        client = client_for(address)
        job = client.create_hyperparameter_tuning_job(parent=PARENT, hyperparameter_tuning_job=make_job())
        client.transport.close()
    assert job.name.endswith("/hyperparameterTuningJobs/4")
    assert (state / "runs" / "1" / "summary.json").read_text() == "{}"


def test_a_stored_poison_job_is_failed_on_resume_not_run(tmp_path):
    state = tmp_path / "state"
    store = Store(state)
    job = make_job()
    job.trial_job_spec.worker_pool_specs.append(
        WorkerPoolSpec(job.trial_job_spec.worker_pool_specs[0], replica_count=10**9)
    )
    name = store.create_job(PARENT, job).name
    store.close()
    with running_emulator(state) as address:
        client = client_for(address)
        deadline = time.monotonic() + 10
        while client.get_hyperparameter_tuning_job(name=name).state.name != "JOB_STATE_FAILED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "replica_count" in client.get_hyperparameter_tuning_job(name=name).error.message
        client.transport.close()
