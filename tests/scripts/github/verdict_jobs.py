"""Hand-made jobs of a pull request and its base branch, the repository that holds them, and the
reporter run as the workflow runs it: shared by the verdict tests."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from google.cloud.aiplatform_v1 import (
    ContainerSpec,
    CustomJobSpec,
    GcsDestination,
    HyperparameterTuningJob,
    JobState,
    MachineSpec,
    StudySpec,
    WorkerPoolSpec,
)

from scripts.jobs import labels
from scripts.paths import REPO_ROOT
from tests.fakes.job_service import FakeJobService, make_trial
from tests.scripts.github.fake_github import REPOSITORY, FakeGitHub

PROJECT, REGION = "proj-x", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
MAIN_OLD, MAIN, HEAD, OTHER = "0" * 40, "1" * 40, "2" * 40, "3" * 40
HIGH = [0.90, 0.91, 0.92, 0.93, 0.94, 0.95]
LOW = [0.60, 0.61, 0.62, 0.63, 0.64, 0.65]
MIXED = [0.60, 0.91, 0.62, 0.93, 0.64, 0.95]
# Recent: the scheduled reporter looks at jobs that ended in the last 7 days.
BASE_TIME = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)


def tuning_job(
    number: int,
    commit: str,
    values: list[float],
    *,
    pull: int | None = None,
    state: JobState = JobState.JOB_STATE_SUCCEEDED,
    minute: int = 0,
    experiment: str = "wide",
    image: str = "",
) -> HyperparameterTuningJob:
    """A job of `experiment` at `commit` whose trials ended with `values`, created at `minute`;
    `image`: the trainer image its one worker pool ran (the trainer, with its static flags: none)."""
    trials = [make_trial(str(i), {"base": 0.1 * i}, value) for i, value in enumerate(values, start=1)]
    for trial in trials:  # half an hour each on one n1-standard-4: a cost to gate on
        trial.start_time = BASE_TIME
        trial.end_time = BASE_TIME + dt.timedelta(minutes=30)
    spec = StudySpec.ParameterSpec(
        parameter_id="base",
        double_value_spec=StudySpec.ParameterSpec.DoubleValueSpec(min_value=0, max_value=1),
    )
    return HyperparameterTuningJob(
        name=f"{PARENT}/hyperparameterTuningJobs/{number}",
        display_name=f"{experiment}-{commit[:7]}",
        state=state,
        study_spec=StudySpec(
            metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=StudySpec.MetricSpec.GoalType.MAXIMIZE)],
            parameters=[spec],
        ),
        max_trial_count=len(values),
        parallel_trial_count=2,
        trial_job_spec=CustomJobSpec(
            worker_pool_specs=[
                WorkerPoolSpec(
                    machine_spec=MachineSpec(machine_type="n1-standard-4"),
                    replica_count=1,
                    container_spec=ContainerSpec(image_uri=image),
                )
            ],
            base_output_directory=GcsDestination(output_uri_prefix=f"gs://bucket/{number}"),
        ),
        trials=trials,
        create_time=BASE_TIME + dt.timedelta(minutes=minute),
        end_time=BASE_TIME + dt.timedelta(minutes=minute + 40),
        labels={
            labels.EXPERIMENT: experiment,
            labels.COMMIT: commit,
            labels.REPOSITORY: labels.repository_label(REPOSITORY),
            **({labels.PULL_REQUEST: str(pull)} if pull else {}),
        },
    )


def arrange(github: FakeGitHub) -> FakeGitHub:
    """Pull request #5 proposes HEAD on main, whose history is MAIN_OLD then MAIN; #6 proposes OTHER."""
    github.add_pull(5, HEAD, MAIN)
    github.add_pull(6, OTHER, MAIN)
    github.add_comment(
        5, "<!-- vertex-hpt:experiments -->\n## Vertex AI hyperparameter tuning", "github-actions[bot]"
    )
    github.branches["main"] = [MAIN_OLD, MAIN]
    return github


def reporter(fake: FakeJobService, tmp_path) -> subprocess.CompletedProcess[str]:
    """`python -m scripts github report` as the scheduled workflow runs it."""
    return github_step("report", fake, tmp_path, GITHUB_EVENT_NAME="schedule")


def github_step(name: str, fake: FakeJobService, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m scripts github NAME` against the fake JobService at `fake`, with `env` on top."""
    full = {
        **os.environ,
        "VERTEX_AI_EMULATOR_HOST": fake.address,
        "HPT_STATE_DIR": str(tmp_path / "state"),
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_REGION": REGION,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "scripts", "github", name],
        cwd=REPO_ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
