"""Submit a compiled experiment exactly once.

The rules, in order:

1. Look for jobs under the parent with the same identity labels (experiment, spec hash, commit;
   `scripts.jobs.labels.IDENTITY`). Reuse the newest one unless it failed, was cancelled or expired.
   `force=True` skips the reuse, never the look-up (see 3).
2. Create the job. Transient errors are retried with backoff (`RetryPolicy`).
3. When a create fails in a way that may have been applied anyway (the reply was lost:
   UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL), look the jobs up again before the next create: a job
   with our labels that was not there before the first create is ours, and is returned.
4. Any other error stops at once with a message that says what to fix; nothing is retried.
5. After a create, look again: submitters that are not serialized (a laptop's `run --backend
   vertex` while CI submits, two workflow runs) may each have created a job with the same
   identity. Of the live jobs with our identity that were not there before our look-up, the
   oldest (create time, then name) survives; every caller cancels the others (their trials have
   barely been scheduled) and returns the survivor, so all of them report the same job.

The HyperparameterTuningJob create call takes no request id, so the labels are what make a
create idempotent.

Before the create, every worker pool's image is named by digest (`pin_images`): the tag the
experiment compiled to (the content tag) is looked up in the registry and replaced by
`HOST/PROJECT/REPOSITORY/IMAGE@sha256:...`, so the job runs the bytes that tag named at submit
time even if the tag is moved later. No digest, no job. The spec hash and the identity labels stay
the compiled job's (the spec hash never covered the tag), so the plan, the reply and the job agree
and a re-run still finds the job. The local backend pulls no image: an emulator's job keeps its tag
unless a registry is configured (`registry_url`, from `HPT_REGISTRY_URL`), which is how tests
check the digests.

A job created while others with its identity exist (`force`, or after a failed one) writes beside
the compiled output directory, `<dir>-2`, `<dir>-3`, … (`scripts.jobs.labels.for_submission`), never into an
earlier job's trial directories; the directory is in neither the spec hash nor the identity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.cloudbuild import registry
from scripts.errors import UserError
from scripts.jobs import labels as identity_labels
from scripts.jobs import states
from scripts.vertex.calls import (
    API_ERRORS,
    CALL_TIMEOUT,
    RetryPolicy,
    code_name,
    describe_error,
    explain,
    is_ambiguous,
    is_transient,
    to_stderr,
)

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobServiceClient

    from scripts.experiments import CompiledExperiment


CREATE = "CreateHyperparameterTuningJob"


def identity_of(job: HyperparameterTuningJob) -> dict[str, str]:
    """The job's identity labels; all of them must be present for exactly-once submission."""
    found = {key: job.labels[key] for key in identity_labels.IDENTITY if key in job.labels}
    missing = [key for key in identity_labels.IDENTITY if key not in found]
    if missing:
        raise UserError(
            f"the job {job.display_name!r} lacks the identity labels {', '.join(missing)}: "
            "without them a re-run could not find it and would submit it twice"
        )
    return found


def names_images_by_digest(emulator: str | None, registry_url: str | None) -> bool:
    """Whether jobs name their images by digest: always on Vertex AI (`emulator` None); on an
    emulator (which runs no container) only when a registry is configured to look digests up in."""
    return emulator is None or bool(registry_url)


def pin_images(
    job: HyperparameterTuningJob, notify: Callable[[str], None] = to_stderr, registry_url: str | None = None
) -> HyperparameterTuningJob:
    """A copy of `job` whose worker pools name their images by digest (`registry.digest_reference`).

    Raises UserError, and nothing is to be submitted, when any image has no digest to be had.
    """
    pinned = type(job).deserialize(type(job).serialize(job))
    found: dict[str, str] = {}
    for pool in pinned.trial_job_spec.worker_pool_specs:
        image = pool.container_spec.image_uri
        if not image:
            continue
        if image not in found:
            try:
                found[image] = registry.digest_reference(image, registry_url)
            except registry.RegistryError as error:
                raise UserError(
                    f"no digest, no job: {job.display_name!r} was not submitted: {error}"
                ) from None
            if found[image] != image:
                notify(f"image {image} is {found[image]}")
        pool.container_spec.image_uri = found[image]
    return pinned


def find_jobs(
    client: JobServiceClient,
    parent: str,
    identity: dict[str, str],
    policy: RetryPolicy,
) -> list[HyperparameterTuningJob]:
    """Jobs under `parent` whose labels carry `identity`, newest first."""
    from google.cloud.aiplatform_v1 import ListHyperparameterTuningJobsRequest  # the Vertex AI types

    request = ListHyperparameterTuningJobsRequest(
        parent=parent, filter=identity_labels.identity_filter(identity)
    )

    def list_all() -> list[HyperparameterTuningJob]:
        pager = client.list_hyperparameter_tuning_jobs(request=request, retry=None, timeout=CALL_TIMEOUT)
        return list(pager)

    jobs = policy.call(list_all, method="ListHyperparameterTuningJobs")
    # The filter does the work on the server; checking again here costs nothing and guards
    # against a server (or emulator) that ignores part of it.
    matching = [job for job in jobs if all(job.labels.get(k) == v for k, v in identity.items())]
    return sorted(
        matching, key=lambda job: job.create_time.timestamp() if job.create_time else 0.0, reverse=True
    )


def reusable(jobs: Iterable[HyperparameterTuningJob]) -> HyperparameterTuningJob | None:
    """The job that still counts as this submission (never one failed, cancelled or expired).

    The oldest job still in progress, when there is one: concurrent submitters converge on the
    oldest (`converge`), so a look-up during such a race must not pick a duplicate that is about
    to be cancelled. Otherwise the newest ended one (a forced re-run supersedes what it re-ran).
    """
    candidates = [job for job in jobs if job.state.name not in states.NOT_REUSABLE]
    in_progress = [job for job in candidates if not states.is_terminal(job.state.name)]
    if in_progress:
        return min(in_progress, key=_age_key)
    return max(candidates, key=_age_key, default=None)


def _age_key(job: HyperparameterTuningJob) -> tuple[float, str]:
    return (job.create_time.timestamp() if job.create_time else float("inf"), job.name)


@dataclass(frozen=True)
class Submission:
    """What `submit_job` did: the job that stands for this submission, and whether it existed before."""

    job: HyperparameterTuningJob
    reused: bool


def submit_job(
    client: JobServiceClient,
    compiled: CompiledExperiment,
    force: bool = False,
    *,
    policy: RetryPolicy | None = None,
    notify: Callable[[str], None] = to_stderr,
    emulator: str | None = None,
    registry_url: str | None = None,
) -> Submission:
    """The job for `compiled`: the one already submitted (unless `force`), or a new one; and whether it
    was reused (a reply must not call a reused job "submitted").

    `emulator`: the address `client` talks to (None: Vertex AI), for error hints and the image rule;
    `registry_url`: the registry images are looked up in (None: Artifact Registry).
    """
    from google.cloud.aiplatform_v1 import CreateHyperparameterTuningJobRequest  # the Vertex AI types

    policy = dataclasses.replace(policy or RetryPolicy(), notify=notify)
    identity = identity_of(compiled.job)
    action = f"submitting experiment {compiled.name!r} to {compiled.parent}"

    def look_up(why: str) -> list[HyperparameterTuningJob]:
        try:
            return find_jobs(client, compiled.parent, identity, policy)
        except API_ERRORS as error:
            raise explain(error, action=why, project=compiled.project, emulator=emulator) from None

    existing = look_up(f"looking up earlier jobs of {compiled.name!r}")

    if not force:
        previous = reusable(existing)
        if previous is not None:
            state = states.short(previous.state.name)
            notify(
                f"reusing {previous.name} ({state}): it has the same experiment, spec and commit; "
                "--force submits a new job"
            )
            return Submission(previous, reused=True)
    known = {job.name for job in existing}

    if names_images_by_digest(emulator, registry_url):
        job = pin_images(compiled.job, notify, registry_url)
    else:
        job = compiled.job
    job = identity_labels.for_submission(job, existing, notify)  # not into the directory of a job before it
    request = CreateHyperparameterTuningJobRequest(parent=compiled.parent, hyperparameter_tuning_job=job)
    attempt, waits = 1, policy.waits()
    while True:
        try:
            created = client.create_hyperparameter_tuning_job(
                request=request, retry=None, timeout=CALL_TIMEOUT
            )
            return converge(created, look_up, known, client, notify)
        except API_ERRORS as error:
            if not is_transient(error):
                raise explain(error, action=action, project=compiled.project, emulator=emulator) from None
            last = attempt >= policy.max_attempts
            if not last or is_ambiguous(error):
                wait = next(waits)
                if last:
                    notify(
                        f"CreateHyperparameterTuningJob failed ({describe_error(error)}; attempt {attempt} "
                        f"of {policy.max_attempts}); checking in {wait:.1f} s whether it was applied"
                    )
                else:
                    policy.announce(CREATE, error, attempt + 1)
                policy.sleep(wait)
            if is_ambiguous(error):
                # The create may have been applied with its reply lost: look before creating again
                # (and after the last attempt too, rather than report a job that exists as failed).
                found = look_up(f"checking whether {compiled.name!r} was created")
                ours = [job for job in found if job.name not in known]
                if ours:
                    notify(f"the lost create had been applied: found {ours[0].name}")
                    return converge(ours[0], look_up, known, client, notify)
            if last:
                raise explain(error, action=action, project=compiled.project, emulator=emulator) from None
            attempt += 1


def converge(
    created: HyperparameterTuningJob,
    look_up: Callable[[str], list[HyperparameterTuningJob]],
    known: set[str],
    client: JobServiceClient,
    notify: Callable[[str], None],
) -> Submission:
    """The one job that stands for this submission after concurrent creates; the others cancelled."""
    found = look_up(f"checking for concurrent submissions of {created.display_name!r}")
    live = [job for job in found if job.name not in known and job.state.name not in states.NOT_REUSABLE]
    if created.name not in {job.name for job in live}:
        live.append(created)  # a list that does not show it yet: it still counts
    live.sort(key=_age_key)
    survivor, duplicates = live[0], live[1:]
    for job in duplicates:
        try:
            client.cancel_hyperparameter_tuning_job(name=job.name, retry=None, timeout=CALL_TIMEOUT)
            notify(f"cancelled {job.name}: a concurrent submission of the same job; {survivor.name} stays")
        except API_ERRORS as error:  # already ended, or cancelled by another caller
            notify(f"could not cancel the duplicate {job.name}: {code_name(error)}")
    if survivor.name != created.name:
        notify(f"{survivor.name} was submitted first by a concurrent caller: reporting it")
    return Submission(survivor, reused=survivor.name != created.name)
