"""Where a submitted job writes: the directory it compiled to, or one beside it when it is not the first.

The compiler names a job's base output directory from what the plan knows,
`<base>/<experiment>/<spec hash[:12]>-<full commit>`: the plan shows where the job will write, and
two studies or two commits (even two sharing their first 7 hex digits) never share a directory.
What the plan cannot know is whether a job with the same identity (experiment, spec hash, commit)
was submitted before: `--force`, or a submission after one that failed or was cancelled, creates a
second job with that identity, and Vertex AI puts trial N's files under
`<base_output_directory>/N/` for every job, so its trials would write over the first job's. Such a
job gets `<compiled>-<n>` instead (`-2`, `-3`, …: the first number after the jobs already there),
chosen when it is created, from the jobs the look-up found.

Neither the spec hash nor the identity labels cover the directory
(`scripts.experiments.compiler.defining_spec`), so choosing it here changes neither: the plan, the
`/hpt run` reply and the job show the same spec hash, and a re-run without `--force` still finds
the job and reuses it, directory and all. A job deleted from Vertex AI is not listed, so its
number can be given again (its files are not deleted with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def output_of(job: HyperparameterTuningJob) -> str:
    """The job's base output directory (`gs://…`), "" when it names none."""
    return job.trial_job_spec.base_output_directory.output_uri_prefix


def for_submission(
    job: HyperparameterTuningJob,
    existing: Iterable[HyperparameterTuningJob],
    notify: Callable[[str], None] | None = None,
) -> HyperparameterTuningJob:
    """`job` to create, given the jobs with its identity already there (any state): itself when
    there are none, else a copy that writes to `<its directory>-<n>`, a directory none of them uses."""
    planned = output_of(job).rstrip("/")
    earlier = list(existing)
    if not planned or not earlier:
        return job
    used = {output_of(other).rstrip("/") for other in earlier}
    number = len(earlier) + 1
    while f"{planned}-{number}" in used:
        number += 1
    fresh = type(job).deserialize(type(job).serialize(job))
    fresh.trial_job_spec.base_output_directory.output_uri_prefix = f"{planned}-{number}"
    if notify is not None:
        notify(
            f"{len(earlier)} job(s) with the same experiment, spec and commit exist: this one writes "
            f"under {planned}-{number}, not {planned}"
        )
    return fresh
