"""The jobs a comparison stands on: the baseline, and confirmation jobs.

The baseline of a tuning job is the newest SUCCEEDED job of the same experiment at another commit,
found by the labels every job of this project carries (`scripts.jobs.labels`): the same
`hpt-experiment` (and the same `hpt-repo` when the job has one, since several repositories may
share a project), a different `hpt-commit`. The caller lists the candidates
(`JobService.experiment_jobs`: `ListHyperparameterTuningJobs` in the job's own project and region,
so the local emulator and Vertex AI answer alike) and hands them down: this module only chooses.

A confirmation job is a job's best configuration trained again, by a given trainer, with other
seeds. A study's trials all train with the trainer's default seed, and its best is found by a search of
a few trials, so a best-against-best comparison mixes the trainers with the luck of each search
and of one seed. A confirmation job takes that out: the experiment with its only tuned parameter
the trainer's `--seed` (a grid over `SEEDS`) and, as static flags, the job's own plus its best
trial's parameters, labelled `hpt-confirms: <job id>`, submitted at a commit (`--commit`, so with
that commit's trainer image). With each side's best configuration confirmed by both sides'
trainers, every (configuration, seed) is trained by both: the same initial weights and order of
batches, only the trainer differs. `confirmation_pairs` lines those up for the paired test of
scripts.results.compare (docs/compare.md measured it). Cost: 4 x len(SEEDS) trials of one
configuration each; the baseline's own confirmation serves every comparison with it. A trainer is
an image and its static flags: when both jobs ran the same of both (a change of the search space
alone), every pair would tie, and the jobs' own trials decide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from scripts.jobs import labels
from scripts.jobs.names import job_id, parse_job_name
from scripts.jobs.trial_flags import trial_flags
from scripts.results.trials import best_trial, final_value

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

CONFIRMS_LABEL = "hpt-confirms"
# The pull request's job whose verdict a confirmation job was submitted for (`/hpt run --confirm`):
# when the last of them ends, that job's verdict is posted again, from the paired test.
VERDICT_OF_LABEL = "hpt-verdict-of"
SEEDS = (2, 3, 4, 5, 6, 7)


def overrides(
    job: HyperparameterTuningJob,
    trainer: HyperparameterTuningJob | None = None,
    seeds: tuple[int, ...] = SEEDS,
) -> list[str]:
    """The `--set` values that make the confirmation job of `job`'s best configuration, trained by
    `trainer`'s trainer (default `job`'s): `python -m scripts run NAME --commit <trainer's commit>
    --set V1 --set V2 ...`. A trainer is its image and its static flags (the experiment's
    `trainer.args`, its profile's): those of `trainer`'s first worker pool. Empty without a best trial."""
    best = best_trial(job)
    parsed = parse_job_name(job.name)
    if best is None or parsed is None:
        return []
    static = static_args(trainer or job)
    values = json.dumps([str(seed) for seed in seeds])
    return [
        f"parameters={{seed: {{type: categorical, values: {values}}}}}",
        "algorithm=grid",
        f"max_trial_count={len(seeds)}",
        f"trainer={{args: {json.dumps(static + trial_flags(best, job.study_spec))}}}",
        f'labels.{CONFIRMS_LABEL}="{parsed.id}"',
    ]


def static_args(job: HyperparameterTuningJob) -> list[str]:
    """The trainer's static flags in `job`'s first worker pool (tuned parameters come on top)."""
    pools = job.trial_job_spec.worker_pool_specs
    return list(pools[0].container_spec.args) if pools else []


def images(job: HyperparameterTuningJob) -> list[str]:
    """The container images of `job`'s worker pools (by digest, for a job this project submitted)."""
    return [pool.container_spec.image_uri for pool in job.trial_job_spec.worker_pool_specs]


def same_trainer(job: HyperparameterTuningJob, other: HyperparameterTuningJob) -> bool:
    """Whether both jobs ran one known trainer (the same images, pool by pool, and static flags):
    their confirmation pairs could only tie, so confirming them says nothing the studies' own trials
    do not, and only the search differs. Jobs that name no image are not known to be one trainer."""
    return any(images(job)) and images(job) == images(other) and static_args(job) == static_args(other)


def confirmation_pairs(
    confirmations: Sequence[HyperparameterTuningJob],
    job_commit: str | None,
    baseline_commit: str | None,
    metric_id: str,
) -> tuple[list[float | None], list[float | None]]:
    """(JOB's trainer's values, BASELINE's), item i of each the same configuration and seed: each
    confirmation job's configuration is its `hpt-confirms` label, its trainer its `hpt-commit`.
    None for a trial that ended without a value; empty lists when nothing pairs up."""
    trained: dict[tuple[str, str], dict[str, float | None]] = {}
    for confirmation in confirmations:
        config, commit = confirmation.labels.get(CONFIRMS_LABEL), confirmation.labels.get(labels.COMMIT)
        for trial in confirmation.trials:
            seed = next((str(p.value) for p in trial.parameters if p.parameter_id == "seed"), None)
            if config and commit and seed is not None:
                value = final_value(trial, metric_id) if trial.state.name == "SUCCEEDED" else None
                trained.setdefault((config, seed), {})[commit] = value
    pairs = [
        (by_commit[job_commit], by_commit[baseline_commit])
        for _, by_commit in sorted(trained.items())
        if job_commit in by_commit and baseline_commit in by_commit and job_commit != baseline_commit
    ]
    return [mine for mine, _ in pairs], [theirs for _, theirs in pairs]


def best_flags(job: HyperparameterTuningJob) -> list[str] | None:
    """The trainer flags of `job`'s best trial (its configuration), None without one."""
    best = best_trial(job)
    return None if best is None else trial_flags(best, job.study_spec)


def missing_confirmations(
    job: HyperparameterTuningJob,
    baseline: HyperparameterTuningJob,
    confirmations: Sequence[HyperparameterTuningJob],
) -> list[tuple[HyperparameterTuningJob, HyperparameterTuningJob]]:
    """The (configuration, trainer) pairs the paired test still needs, of `find_confirmations`'
    `confirmations`: each side's best configuration by each side's trainer. Two searches that found
    one configuration have one to confirm (a second job would be the same job: the spec is the
    same). Empty when either job has no best trial."""
    if best_flags(job) is None or best_flags(baseline) is None:
        return []
    held = {
        (each.labels.get(CONFIRMS_LABEL, ""), each.labels.get(labels.COMMIT, "")) for each in confirmations
    }
    configs = [job] if best_flags(job) == best_flags(baseline) else [job, baseline]
    return [
        (config, trainer)
        for config in configs
        for trainer in (job, baseline)
        if (job_id(config.name), trainer.labels.get(labels.COMMIT, "")) not in held
    ]


def is_confirmation(job: HyperparameterTuningJob) -> bool:
    """Whether `job` is some job's confirmation (never a baseline itself)."""
    return CONFIRMS_LABEL in job.labels


def find_confirmations(
    job: HyperparameterTuningJob,
    baseline: HyperparameterTuningJob | None,
    succeeded: Iterable[HyperparameterTuningJob],
) -> list[HyperparameterTuningJob]:
    """The SUCCEEDED confirmation jobs of `job`'s or `baseline`'s best configuration in `job`'s
    project and region, the newest of each (configuration, trainer commit); none without a baseline.

    `succeeded`: the SUCCEEDED jobs of `job`'s experiment there, newest first (the list
    `find_baseline` chooses from: `JobService.experiment_jobs`)."""
    if baseline is None:
        return []
    configs = {job_id(job.name), job_id(baseline.name)}
    newest: dict[tuple[str, str], HyperparameterTuningJob] = {}
    for candidate in succeeded:  # newest first
        key = (candidate.labels.get(CONFIRMS_LABEL, ""), candidate.labels.get(labels.COMMIT, ""))
        if key[0] in configs:
            newest.setdefault(key, candidate)
    return list(newest.values())


def find_baseline(
    job: HyperparameterTuningJob,
    succeeded: Iterable[HyperparameterTuningJob],
    *,
    accept: Callable[[HyperparameterTuningJob], bool] = lambda candidate: True,
) -> HyperparameterTuningJob | None:
    """The newest SUCCEEDED study of `job`'s experiment at another commit that `accept` takes, or None
    (confirmation jobs are never one).

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
