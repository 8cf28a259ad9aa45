"""The reporter's JobService side: one List per location, each result rendered from the job it has.

Against the fake JobService on loopback (tests/fakes/job_service.py), through the real client. The
result must read exactly as `python -m scripts report JOB` prints it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from google.cloud.aiplatform_v1 import (
    CustomJobSpec,
    GcsDestination,
    HyperparameterTuningJob,
    JobState,
    StudySpec,
)

from scripts.github.tuning_jobs import EndedJob, TuningJobs
from scripts.jobs import labels
from scripts.jobs.names import job_id
from scripts.paths import REPO_ROOT
from scripts.vertex.backend import Backend
from tests.fakes.job_service import BASE_TIME, make_trial

REPOSITORY = "octo-org/hpt-demo"
PARENT = "projects/p/locations/us-central1"


def job(number: int, state: JobState, *, pull_request: str = "5", repository: str = REPOSITORY):
    return HyperparameterTuningJob(
        name=f"{PARENT}/hyperparameterTuningJobs/{number}",
        display_name=f"wide-{number}",
        state=state,
        study_spec=StudySpec(
            metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=StudySpec.MetricSpec.GoalType.MAXIMIZE)]
        ),
        max_trial_count=2,
        parallel_trial_count=2,
        trial_job_spec=CustomJobSpec(
            base_output_directory=GcsDestination(output_uri_prefix="gs://bucket/wide")
        ),
        trials=[make_trial("1", {"base": 0.2}, 0.4), make_trial("2", {"base": 0.3}, 0.6)],
        create_time=BASE_TIME,
        start_time=BASE_TIME + dt.timedelta(minutes=1),
        end_time=BASE_TIME + dt.timedelta(minutes=9),
        labels={
            labels.EXPERIMENT: "wide",
            labels.REPOSITORY: labels.repository_label(repository),
            **({labels.PULL_REQUEST: pull_request} if pull_request else {}),
        },
    )


@pytest.fixture
def jobs(fake, tmp_path) -> TuningJobs:
    return TuningJobs(Backend.emulator_at(fake.address, tmp_path / "state"))


def test_the_ended_jobs_of_this_repository_with_their_pull_requests(fake, jobs):
    fake.add_job(job(1, JobState.JOB_STATE_SUCCEEDED))
    fake.add_job(job(2, JobState.JOB_STATE_RUNNING))
    fake.add_job(job(3, JobState.JOB_STATE_FAILED, pull_request=""))
    fake.add_job(job(4, JobState.JOB_STATE_SUCCEEDED, repository="someone/else"))

    ended = jobs.ended([("p", "us-central1")], REPOSITORY)

    assert [(job_id(e.name), e.experiment, e.pull_request) for e in ended] == [
        ("1", "wide", 5),
        ("3", "wide", None),
    ]
    assert fake.count("ListHyperparameterTuningJobs") == 1
    assert fake.requests("ListHyperparameterTuningJobs")[0].filter == labels.repository_filter(REPOSITORY)


def test_a_listed_job_with_its_trials_is_rendered_without_reading_it_again(fake, jobs):
    fake.add_job(job(1, JobState.JOB_STATE_SUCCEEDED))
    (ended,) = jobs.ended([("p", "us-central1")], REPOSITORY)

    markdown = jobs.markdown(ended)

    assert "**Best trial 2**" in markdown
    assert fake.count("GetHyperparameterTuningJob") == 0


def test_a_listed_job_without_trials_is_read_once(fake, jobs):
    # Vertex AI's List leaves `trials` out of the jobs it returns.
    fake.add_job(job(1, JobState.JOB_STATE_SUCCEEDED))
    listed = HyperparameterTuningJob(job(1, JobState.JOB_STATE_SUCCEEDED))
    del listed.trials[:]

    markdown = jobs.markdown(EndedJob(listed.name, "wide", 5, listed))

    assert "**Best trial 2**" in markdown
    assert fake.count("GetHyperparameterTuningJob") == 1


def test_a_job_that_cannot_be_read_is_a_one_line_error(fake, jobs):
    name = f"{PARENT}/hyperparameterTuningJobs/404"
    with pytest.raises(Exception, match=f"^report {name}: ") as raised:
        jobs.markdown(EndedJob(name, "gone", 5))
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("with_run_dir", [False, True])
def test_the_result_reads_as_the_report_command_prints_it(fake, tmp_path, monkeypatch, with_run_dir):
    fake.add_job(job(1, JobState.JOB_STATE_SUCCEEDED))
    # The fake does not say where its state is: the reporter and the command look in $HPT_STATE_DIR.
    state = tmp_path / "state"
    monkeypatch.setenv("HPT_STATE_DIR", str(state))
    backend = Backend.from_environment({"VERTEX_AI_EMULATOR_HOST": fake.address, "HPT_STATE_DIR": str(state)})
    if with_run_dir:
        backend.run_dir(f"{PARENT}/hyperparameterTuningJobs/1").mkdir(parents=True)
    jobs = TuningJobs(backend)
    (ended,) = jobs.ended([("p", "us-central1")], REPOSITORY)

    env = {**os.environ, "VERTEX_AI_EMULATOR_HOST": fake.address}
    printed = subprocess.run(
        [sys.executable, "-m", "scripts", "report", ended.name],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    markdown = jobs.markdown(ended)
    assert markdown == printed
    assert ("run directory" in markdown) == with_run_dir


def _compiled_labels(repository: str) -> dict[str, str]:
    """The labels the compiler gives a job submitted for `repository` (what a workflow submits)."""
    from scripts.experiments import load_text
    from scripts.experiments.compiler import CompileContext, compile_experiment
    from tests.scripts.experiments.helpers import EXPERIMENT, HEADER

    experiments = load_text(HEADER + EXPERIMENT, "experiments.yaml", {})
    context = CompileContext(env={}, commit="a" * 40, pull_request=5, repository=repository, image_tag="t")
    return dict(compile_experiment(experiments, "exp", context).job.labels)


def test_repositories_whose_names_normalize_alike_do_not_see_each_others_jobs(fake, jobs):
    # `Org/My.Repo` and `org/my-repo` are two repositories; lowercased with '.' as '-' they were one
    # label value, so each one's reporter posted the other's results on its own pull requests.
    mine, theirs = "Org/My.Repo", "org/my-repo"
    for number, repository in ((1, mine), (2, theirs)):
        labelled = job(number, JobState.JOB_STATE_SUCCEEDED)
        labelled.labels.clear()
        labelled.labels.update({**_compiled_labels(repository), labels.EXPERIMENT: "wide"})
        fake.add_job(labelled)

    assert [job_id(e.name) for e in jobs.ended([("p", "us-central1")], mine)] == ["1"]
    assert [job_id(e.name) for e in jobs.ended([("p", "us-central1")], theirs)] == ["2"]
    assert _compiled_labels(mine)[labels.REPOSITORY] != _compiled_labels(theirs)[labels.REPOSITORY]


def test_the_repository_label_is_the_same_however_github_cases_the_name():
    # GitHub names are case-insensitive: OWNER/NAME and owner/name are one repository.
    assert _compiled_labels("Octo-Org/HPT-demo") == _compiled_labels("octo-org/hpt-demo")


def test_a_job_labelled_before_the_label_changed_is_still_reported(fake, jobs):
    # Jobs submitted by the release before carry the plain normalized name (`octo-org-hpt-demo`):
    # for one release the reporter matches both values, so their results are still posted.
    before = job(1, JobState.JOB_STATE_SUCCEEDED)
    before.labels[labels.REPOSITORY] = "octo-org-hpt-demo"
    fake.add_job(before)

    assert [job_id(e.name) for e in jobs.ended([("p", "us-central1")], REPOSITORY)] == ["1"]
