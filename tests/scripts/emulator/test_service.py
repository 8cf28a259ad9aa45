"""The JobService methods, through the real GAPIC client, against the emulator on loopback."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1 import JobState, ListHyperparameterTuningJobsRequest, Trial, WorkerPoolSpec

from scripts.jobs.labels import identity_filter

from .conftest import PARENT, StudySpec, discrete, make_job, wait_until


def test_a_job_runs_from_pending_to_succeeded_with_measured_trials(emulator):
    created = emulator.submit(make_job(args=["--steps=3", "--slope=0.01"], max_trials=3, parallel=1))

    assert created.state == JobState.JOB_STATE_PENDING
    assert created.name.startswith(f"{PARENT}/hyperparameterTuningJobs/")
    assert created.create_time
    job = emulator.wait(created.name)

    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert job.start_time >= job.create_time and job.end_time >= job.start_time
    assert not job.error.message
    assert [t.id for t in job.trials] == ["1", "2", "3"]
    for trial in job.trials:
        assert trial.state == Trial.State.SUCCEEDED
        assert trial.start_time and trial.end_time >= trial.start_time
        base = trial.parameters[0].value
        assert [m.step_count for m in trial.measurements] == [1, 2, 3]
        reported = [m.metrics[0].value for m in trial.measurements]
        assert reported == pytest.approx([base + 0.01 * step for step in (1, 2, 3)])
        # LAST is the API's default selection.
        assert trial.final_measurement.step_count == 3


def test_output_only_fields_sent_by_the_client_are_ignored(emulator):
    job = make_job(max_trials=1)
    job.state = JobState.JOB_STATE_SUCCEEDED
    job.error.message = "from the client"
    job.trials.append(Trial(id="7", state=Trial.State.SUCCEEDED))
    created = emulator.submit(job)

    assert created.state == JobState.JOB_STATE_PENDING and not created.error.message and not created.trials
    assert [t.id for t in emulator.wait(created.name).trials] == ["1"]


def test_best_measurement_selection_picks_the_best_report_not_the_last(emulator):
    job = make_job(
        args=["--steps=3", "--slope=-0.1", "--base=0.9"],
        parameters=[discrete("unused", [1])],
        max_trials=1,
        measurement_selection_type=StudySpec.MeasurementSelectionType.BEST_MEASUREMENT,
    )
    job = emulator.wait(emulator.submit(job).name)

    final = job.trials[0].final_measurement
    assert final.step_count == 1
    assert final.metrics[0].value == pytest.approx(0.8)


def test_get_and_cancel_of_an_unknown_job_are_not_found(emulator):
    missing = f"{PARENT}/hyperparameterTuningJobs/999"
    with pytest.raises(exceptions.NotFound):
        emulator.client.get_hyperparameter_tuning_job(name=missing)
    with pytest.raises(exceptions.NotFound):
        emulator.client.cancel_hyperparameter_tuning_job(name=missing)


def test_a_job_it_cannot_run_is_an_invalid_argument_naming_the_field(emulator):
    job = make_job()
    job.study_spec.algorithm = StudySpec.Algorithm.GRID_SEARCH  # with a double parameter
    with pytest.raises(exceptions.InvalidArgument, match="GRID_SEARCH"):
        emulator.submit(job)
    job = make_job(max_trials=0)
    with pytest.raises(exceptions.InvalidArgument, match="max_trial_count"):
        emulator.submit(job)
    job = make_job()
    job.trial_job_spec.worker_pool_specs[0].replica_count = 3
    with pytest.raises(exceptions.InvalidArgument, match=r"specs\[0\].replica_count: .* one replica"):
        emulator.submit(job)
    job = make_job()
    pools = job.trial_job_spec.worker_pool_specs
    pools.extend([WorkerPoolSpec(), WorkerPoolSpec(pools[0], replica_count=1)])  # a parameter server
    with pytest.raises(exceptions.InvalidArgument, match=r"worker_pool_specs\[2\]: parameter servers"):
        emulator.submit(job)
    listed = emulator.client.list_hyperparameter_tuning_jobs(parent=PARENT)
    assert list(listed) == []  # nothing partial was stored


def test_list_filters_by_identity_labels_and_pages(emulator):
    identity = {"hpt-experiment": "horses", "hpt-spec-hash": "abc", "hpt-commit": "1234"}
    mine = emulator.submit(make_job(labels=identity, max_trials=1))
    emulator.submit(make_job(labels={**identity, "hpt-commit": "5678"}, max_trials=1))
    emulator.submit(make_job(labels={"other": "x"}, max_trials=1))

    request = ListHyperparameterTuningJobsRequest(parent=PARENT, filter=identity_filter(identity))
    found = list(emulator.client.list_hyperparameter_tuning_jobs(request=request))
    assert [job.name for job in found] == [mine.name]

    pages = emulator.client.list_hyperparameter_tuning_jobs(
        request=ListHyperparameterTuningJobsRequest(parent=PARENT, page_size=2)
    ).pages
    sizes = [len(page.hyperparameter_tuning_jobs) for page in pages]
    assert sizes == [2, 1]

    with pytest.raises(exceptions.InvalidArgument, match="unsupported filter"):
        list(
            emulator.client.list_hyperparameter_tuning_jobs(
                request=ListHyperparameterTuningJobsRequest(parent=PARENT, filter="create_time>0")
            )
        )


def test_list_reads_every_parent_with_dashes_and_filters_states_with_or(emulator):
    other_parent = "projects/other-project/locations/europe-west4"
    first = emulator.submit(make_job(labels={"hpt-experiment": "a"}, max_trials=1))
    second = emulator.client.create_hyperparameter_tuning_job(
        parent=other_parent, hyperparameter_tuning_job=make_job(labels={"hpt-experiment": "b"}, max_trials=1)
    )
    third = emulator.submit(make_job(labels={"hpt-experiment": "a"}, max_trials=1))
    emulator.client.cancel_hyperparameter_tuning_job(name=third.name)
    for job in (first, second, third):
        emulator.wait(job.name)

    def names(parent: str, text: str = "") -> list[str]:
        request = ListHyperparameterTuningJobsRequest(parent=parent, filter=text)
        return [job.name for job in emulator.client.list_hyperparameter_tuning_jobs(request=request)]

    assert names("projects/-/locations/-") == [third.name, second.name, first.name]  # newest first
    assert names("projects/other-project/locations/-") == [second.name]
    either = '(state="JOB_STATE_SUCCEEDED" OR state="JOB_STATE_CANCELLED")'
    assert names("projects/-/locations/-", f'labels.hpt-experiment="a" AND {either}') == [
        third.name,
        first.name,
    ]
    assert names(PARENT, 'labels.hpt-experiment="a" AND state="JOB_STATE_CANCELLED"') == [third.name]
    with pytest.raises(exceptions.InvalidArgument, match="parent"):
        emulator.client.create_hyperparameter_tuning_job(
            parent="projects/-/locations/-", hyperparameter_tuning_job=make_job(max_trials=1)
        )


def test_cancel_stops_running_trials_and_a_finished_job_cannot_be_cancelled(emulator):
    args = ["--steps=100", "--sleep=0.1", f"--record={emulator.records}"]
    name = emulator.submit(make_job(args=args, max_trials=4, parallel=2)).name
    wait_until(
        lambda: (
            sum(1 for t in emulator.client.get_hyperparameter_tuning_job(name=name).trials if t.measurements)
            == 2
        )
    )

    emulator.client.cancel_hyperparameter_tuning_job(name=name)
    job = emulator.wait(name, timeout=20)

    assert job.state == JobState.JOB_STATE_CANCELLED
    assert job.error.code == 1  # google.rpc.Code.CANCELLED
    assert len(job.trials) == 2  # no trial started after the cancel
    for trial in job.trials:
        assert trial.state == Trial.State.INFEASIBLE and "cancelled" in trial.infeasible_reason
        assert trial.measurements  # what it reported is kept
    records = [path.read_text() for path in emulator.records.glob("trial-*.json")]
    assert len(records) == 2 and all('"terminated": true' in record for record in records)

    with pytest.raises(exceptions.FailedPrecondition):
        emulator.client.cancel_hyperparameter_tuning_job(name=name)


def test_delete_returns_an_operation_whose_result_the_client_can_wait_for(emulator):
    running = emulator.submit(make_job(args=["--steps=50", "--sleep=0.1"], max_trials=1))
    with pytest.raises(exceptions.FailedPrecondition, match="cancel it first"):
        emulator.client.delete_hyperparameter_tuning_job(name=running.name)
    emulator.client.cancel_hyperparameter_tuning_job(name=running.name)
    emulator.wait(running.name)

    operation = emulator.client.delete_hyperparameter_tuning_job(name=running.name)
    operation.result(timeout=10)

    assert operation.done()
    # The Operations service answers for it too, as a polling client would ask.
    polled = emulator.client.transport.operations_client.get_operation(operation.operation.name)
    assert polled.done and polled.name == operation.operation.name
    with pytest.raises(exceptions.NotFound):
        emulator.client.get_hyperparameter_tuning_job(name=running.name)
