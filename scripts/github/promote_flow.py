"""`/hpt promote NAME`: register the best trial of the pull request's newest succeeded job of NAME.

The second job of hpt-commands.yml runs it, with the deployer's credentials in the spending
environment, after `comment_commands.authorize` has checked the author again: the gates of
`/hpt run`. The job is found as the reporter finds jobs, by the labels `submit` put on it: this
repository (`hpt-repo`), this pull request (`hpt-pr`) and the experiment (`hpt-experiment`), in
the projects and regions the reporter looks in. The promotion is `promote`'s own
(`scripts.registry.promotion`): the same trial, the same checks, and the same look-up that
makes a second promotion of a trial register nothing. The reply goes to our comment's `command`
section: the version registered, the version that already holds the trial, or why nothing was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scripts import escaping
from scripts.errors import UserError
from scripts.github.report_flow import locations
from scripts.github.sticky_comment import replier
from scripts.github.tuning_jobs import EndedJob, TuningJobs
from scripts.jobs import labels, states
from scripts.jobs.names import job_id
from scripts.registry.promotion import Promotion, Result, promote_trial
from scripts.results.confirmation import is_confirmation

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.github.api import GitHubClient
    from scripts.github.events import HptCommand, IssueCommentEvent
    from scripts.github.runner import Step
    from scripts.vertex.backend import Backend


def jobs_filter(repository: str, pull_request: int, experiment: str) -> str:
    """The `ListHyperparameterTuningJobs` filter for one experiment's jobs of one pull request."""
    return " AND ".join(
        [
            labels.repository_filter(repository),
            f'labels.{labels.PULL_REQUEST}="{labels.label_value(str(pull_request))}"',
            f'labels.{labels.EXPERIMENT}="{labels.label_value(experiment)}"',
        ]
    )


def pull_request_jobs(
    tuning: TuningJobs,
    where: Iterable[tuple[str, str]],
    repository: str,
    pull_request: int,
    experiment: str,
) -> list[HyperparameterTuningJob]:
    """The experiment's jobs for the pull request, in every (project, region) of `where`, newest first."""
    found = tuning.listed(where, jobs_filter(repository, pull_request, experiment))
    return sorted(found, key=_created, reverse=True)


def _created(job: HyperparameterTuningJob) -> float:
    return job.create_time.timestamp() if job.create_time else 0.0


def no_succeeded_job(experiment: str, jobs: list[HyperparameterTuningJob]) -> str:
    """Why there is nothing to promote: no job at all, or none that succeeded (the newest's state)."""
    name = escaping.code(experiment)
    if not jobs:
        return f"not promoted: no job of {name} was submitted for this pull request"
    newest = jobs[0]
    state = states.short(newest.state.name).lower()
    return (
        f"not promoted: no job of {name} for this pull request has succeeded "
        f"(the newest, {escaping.code(job_id(newest.name))}, is {state})"
    )


def promoted(promotion: Promotion, result: Result) -> str:
    """The version registered, or the one that already held the trial."""
    version = escaping.code(result.version_name)
    trial = f"trial {escaping.code(promotion.trial_id)} of job {escaping.code(job_id(promotion.job))}"
    commit = promotion.model.labels.get(labels.COMMIT, "")
    at = f" at {escaping.code(commit[:12])}" if commit else ""
    if result.created:
        return f"registered {version}: {trial}{at}, {escaping.text(promotion.metric)} {promotion.value:.6g}."
    return f"already promoted: {version} holds {trial}{at}; nothing new was registered."


def run_promote(
    event: IssueCommentEvent, command: HptCommand, step: Step, client: GitHubClient, backend: Backend
) -> int:
    """Promote the best trial of the pull request's newest succeeded job of `command.experiment`
    and say so; 1 when a job succeeded but its trial cannot be promoted (the reply says why)."""
    reply = replier(event, command.text, step=step, client=client)
    env = step.env
    where = locations(env.get("GOOGLE_CLOUD_PROJECT"), env.get("GOOGLE_CLOUD_REGION"), env)
    tuning = TuningJobs(backend)
    jobs = pull_request_jobs(tuning, where, client.repository, event.number, command.experiment)
    # A confirmation job (`--confirm`) re-trains a best configuration with seeds: not a study to promote.
    jobs = [job for job in jobs if not is_confirmation(job)]
    listed = next((job for job in jobs if job.state.name == states.SUCCEEDED), None)
    if listed is None:
        reply(no_succeeded_job(command.experiment, jobs))
        return 0
    try:
        promotion, result = promote_trial(backend, tuning.job(EndedJob.of(listed)))
    except UserError as error:
        reply(f"not promoted: {escaping.text(str(error))}")
        return 1
    reply(promoted(promotion, result))
    return 0
