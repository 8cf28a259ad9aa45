"""The baseline of a tuning job: the newest SUCCEEDED job of the same experiment at another commit.

Found by the labels every job of this project carries (`scripts.jobs.labels`): the same
`hpt-experiment` (and the same `hpt-repo` when the job has one, since several repositories may
share a project), a different `hpt-commit`. The caller lists the candidates
(`JobService.experiment_jobs`: `ListHyperparameterTuningJobs` in the job's own project and region,
so the local emulator and Vertex AI answer alike) and hands them down: this module only chooses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from scripts.jobs import labels
from scripts.results.confirmation import is_confirmation

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def find_baseline(
    job: HyperparameterTuningJob,
    succeeded: Iterable[HyperparameterTuningJob],
    *,
    accept: Callable[[HyperparameterTuningJob], bool] = lambda candidate: True,
) -> HyperparameterTuningJob | None:
    """The newest SUCCEEDED study of `job`'s experiment at another commit that `accept` takes, or None
    (confirmation jobs, `scripts.results.confirmation`, are never one).

    `succeeded`: the SUCCEEDED jobs of `job`'s experiment in its project and region, newest first
    (`JobService.experiment_jobs`; none when `job` has no experiment label, as a job that was not
    submitted by this project has none)."""
    commit = job.labels.get(labels.COMMIT, "")
    repository = job.labels.get(labels.REPOSITORY)
    for candidate in succeeded:  # newest first
        if candidate.name == job.name or candidate.labels.get(labels.COMMIT, "") == commit:
            continue
        if is_confirmation(candidate):  # a re-run of another job's best configuration, not a study
            continue
        if repository and candidate.labels.get(labels.REPOSITORY) != repository:
            continue
        if accept(candidate):
            return candidate
    return None


def no_baseline_reason(job: HyperparameterTuningJob) -> str:
    """Why `find_baseline` found nothing, in one sentence."""
    experiment = job.labels.get(labels.EXPERIMENT)
    if not experiment:
        return f"{job.name} has no {labels.EXPERIMENT} label, so no other job of its experiment can be found."
    commit = job.labels.get(labels.COMMIT) or "its commit"
    return (
        f"No SUCCEEDED job of experiment {experiment!r} at a commit other than {commit[:12]} "
        "to compare with: tune the baseline's commit first, or name a BASELINE job."
    )
