"""`/hpt run NAME SHA --confirm`: the confirmation jobs behind a pull request's verdict.

A study's best against its baseline's mixes the two trainers with the luck of two small searches
and of one trainer seed (docs/compare.md). Once the pull request's job of NAME at SHA has
succeeded and has a baseline, `--confirm` submits what the paired test needs and is missing:
each side's best configuration trained again by each side's trainer with the seeds of
`scripts.results.confirmation`, at most four jobs of one configuration each.

A trainer is what a job ran: its images, by digest, and its static flags, both read from the job
itself, so nothing is built and nothing is re-resolved. Where and as whom the jobs run is the
default branch's file, as for every job of a pull request. All of them go through the spending
gate at once (a refusal submits none); a re-run finds the running ones by their identity labels,
and a confirmation that succeeded before (the baseline's own serves every pull request) is not
submitted again. Each carries `hpt-verdict-of`, the job whose verdict it is for: when the last
one ends, that verdict is posted again from the paired test and the check run is rewritten
(`scripts.github.report_flow`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts import escaping
from scripts.errors import UserError
from scripts.experiments import load
from scripts.github import environment
from scripts.github.comment_sections import Submitted, submitted_section
from scripts.github.follow_flow import follow
from scripts.github.report_flow import confirmed_section
from scripts.github.sticky_comment import replier
from scripts.github.submit_flow import compile_for, submit_compiled
from scripts.github.tuning_jobs import EndedJob, TuningJobs
from scripts.github.verdicts import Verdicts
from scripts.jobs import labels, states
from scripts.jobs.names import job_id
from scripts.paths import EXPERIMENTS_FILE
from scripts.results.confirmation import (
    SEEDS,
    VERDICT_OF_LABEL,
    best_flags,
    find_confirmations,
    images,
    is_confirmation,
    missing_confirmations,
    overrides,
    same_trainer,
)

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.experiments import CompiledExperiment
    from scripts.github.api import GitHubClient
    from scripts.github.events import HptCommand, IssueCommentEvent
    from scripts.github.runner import Step
    from scripts.vertex.backend import Backend


@dataclass(frozen=True)
class Confirmation:
    """What `--confirm` did: the pull request's job and its baseline, and the confirmation jobs
    submitted (or found running); none when every one had succeeded before."""

    job: HyperparameterTuningJob
    baseline: HyperparameterTuningJob
    jobs: list[Submitted]
    ok: bool

    @property
    def complete(self) -> bool:
        """Every confirmation had succeeded before: the verdict can be posted now."""
        return self.ok and not self.jobs


def run_confirm(
    event: IssueCommentEvent,
    command: HptCommand,
    branch: str,
    head_sha: str,
    step: Step,
    client: GitHubClient,
    backend: Backend,
) -> int:
    """`/hpt run NAME SHA --confirm` with credentials, once `scripts.github.comment_commands` has
    checked the author and the head (`branch`: the pull request's base): submit the missing
    confirmation jobs, reply, and follow them; when none is missing, post the verdict again now."""
    verdicts = Verdicts(client, TuningJobs(backend), step)

    reply = replier(event, command.text, step=step, client=client)
    try:
        done = submit(
            command.experiment, event.number, head_sha,
            env=step.env, backend=backend, verdicts=verdicts, branch=branch,
        )  # fmt: skip
    except UserError as error:
        reply(f"nothing confirmed: {escaping.text(str(error))}")
        return 1
    ours = job_id(done.job.name)
    if done.complete:
        verdict = verdicts.judge(EndedJob(done.job.name, command.experiment, event.number))
        verdicts.finish_check(verdict, rewrite=True)
        reply(
            f"job `{ours}` and its baseline were confirmed before: the verdict from them is below.",
            {f"confirmed:{ours}": confirmed_section(verdict)},
        )
        return 0
    section = submitted_section(head_sha, done.jobs)
    if not done.ok:
        reply(
            f"could not submit the confirmations of job `{ours}`: see below.", {f"confirming:{ours}": section}
        )
        return 1
    running = sum(1 for each in done.jobs if each.reused)
    counts = [f"submitted {len(done.jobs) - running}" if running < len(done.jobs) else ""]
    counts.append(f"found {running} running already" if running else "")
    reply(
        f"{' and '.join(filter(None, counts))}: the confirmation jobs of job `{ours}` and its baseline "
        f"`{job_id(done.baseline.name)}` (below); the verdict is posted again when they end.",
        {f"confirming:{ours}": section},
    )
    follow(done.jobs, backend, lambda: client, step, winners=[])
    return 0


def submit(
    experiment: str,
    pull_request: int,
    head: str,
    *,
    env: Mapping[str, str],
    backend: Backend,
    verdicts: Verdicts,
    branch: str,
) -> Confirmation:
    """Submit the missing confirmation jobs of the pull request's job of `experiment` at `head`
    and of its baseline on `branch`; raises UserError when there is nothing to confirm."""
    succeeded = succeeded_jobs(experiment, env=env, backend=backend)
    repository = env.get("GITHUB_REPOSITORY", "")
    job = proposal_job(experiment, pull_request, head, succeeded, repository=repository)
    baseline = verdicts.baseline_of(job, branch, succeeded)
    command = f"/hpt run {experiment} {head[:7]}"
    if baseline is None:
        raise UserError(
            f"there is no SUCCEEDED job of {experiment} on {branch} to compare with: comment "
            f"{command} --baseline to tune one, and confirm once both have succeeded"
        )
    if same_trainer(job, baseline):
        raise UserError(
            f"job {job_id(job.name)} and its baseline {job_id(baseline.name)} ran the same trainer (images "
            "and flags): their confirmations could only tie, and the verdict is the studies' own"
        )
    for each in (job, baseline):
        if best_flags(each) is None:
            raise UserError(
                f"job {job_id(each.name)} has no completed trial: no best configuration to confirm"
            )
    missing = missing_confirmations(job, baseline, find_confirmations(job, baseline, succeeded))
    compiled = [
        compile_confirmation(experiment, config, trainer, job, env=env, pull_request=pull_request)
        for config, trainer in missing
    ]
    if not compiled:
        return Confirmation(job, baseline, [], True)
    submitted, ok = submit_compiled(compiled, env=env, backend=backend)
    return Confirmation(job, baseline, submitted, ok)


def succeeded_jobs(
    experiment: str, *, env: Mapping[str, str], backend: Backend
) -> list[HyperparameterTuningJob]:
    """The SUCCEEDED jobs of `experiment` where the default branch's file runs it, newest first:
    what the pull request's job, its baseline and their confirmations are found among."""
    from scripts.vertex.service import JobService  # the Vertex client (grpc): only with credentials

    experiments = load(EXPERIMENTS_FILE, environment.trusted(env)).experiments
    if experiment not in experiments:
        raise UserError(
            f"{experiment} is not in the default branch's experiments.yaml: no baseline to confirm"
        )
    settings = experiments[experiment].settings
    if not settings.project or not settings.region:
        raise UserError(
            f"the default branch's {experiment} names no project and region to look for its jobs in"
        )
    parent = f"projects/{settings.project}/locations/{settings.region}"
    return JobService(backend).list_jobs(parent, experiment, [states.SUCCEEDED])


def proposal_job(
    experiment: str,
    pull_request: int,
    head: str,
    succeeded: Sequence[HyperparameterTuningJob],
    *,
    repository: str,
) -> HyperparameterTuningJob:
    """The newest of the `succeeded` jobs that `repository` tuned for the pull request at `head`
    (a study, not a confirmation)."""
    label = labels.repository_label(repository)
    for candidate in succeeded:  # newest first
        held = candidate.labels
        if (
            held.get(labels.COMMIT) == head
            and held.get(labels.PULL_REQUEST) == str(pull_request)
            and held.get(labels.REPOSITORY) == label
            and not is_confirmation(candidate)
        ):
            return candidate
    raise UserError(
        f"no SUCCEEDED job of {experiment} at {head[:12]} for this pull request: comment /hpt run "
        f"{experiment} {head[:7]} to tune it, and confirm its best configuration once it has succeeded"
    )


def compile_confirmation(
    experiment: str,
    config: HyperparameterTuningJob,
    trainer: HyperparameterTuningJob,
    verdict_of: HyperparameterTuningJob,
    *,
    env: Mapping[str, str],
    pull_request: int,
) -> CompiledExperiment:
    """The confirmation job of `config`'s best configuration trained by `trainer`'s trainer (its
    images by digest, its static flags, its commit), for `verdict_of`'s verdict."""
    commit = trainer.labels.get(labels.COMMIT, "")
    sets = [*overrides(config, trainer), f'labels.{VERDICT_OF_LABEL}="{job_id(verdict_of.name)}"']
    compiled, failures = compile_for(
        [experiment], env=env, pull_request=pull_request, overrides=sets, commit=commit
    )
    if failures:
        raise UserError(
            f"the confirmation of job {job_id(config.name)} could not be compiled: {failures[0].error}"
        )
    (each,) = compiled
    run_images(each, trainer)
    shown = f"{experiment} (job {job_id(config.name)}'s best, {commit[:7]}'s trainer, {len(SEEDS)} seeds)"
    return dataclasses.replace(each, name=shown)


def run_images(compiled: CompiledExperiment, trainer: HyperparameterTuningJob) -> None:
    """Each worker pool runs the image `trainer`'s ran there; the default branch's file must name
    the same repository of images (else the confirmation would run another trainer than asked)."""
    pools = compiled.job.trial_job_spec.worker_pool_specs
    ran = images(trainer)
    repositories = [_repository(pool.container_spec.image_uri) for pool in pools]
    if repositories != [_repository(image) for image in ran]:
        raise UserError(
            f"job {job_id(trainer.name)} ran {', '.join(ran) or 'no image'}, and the default branch's "
            f"{compiled.name!r} now runs other images: its trainer cannot be confirmed"
        )
    for pool, image in zip(pools, ran, strict=True):
        pool.container_spec.image_uri = image


def _repository(image: str) -> str:
    """An image reference without its digest or tag: `REGISTRY/PATH`."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
