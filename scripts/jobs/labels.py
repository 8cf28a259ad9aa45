"""The labels that identify a job this project submitted.

A job is the same job when its experiment, spec hash and commit labels match: that is how a
re-run finds the job it already created instead of submitting a second one, on Vertex and on
the local emulator alike. Vertex label rules: keys and values at most 63 characters of
lowercase letters, digits, `_` and `-`; keys start with a letter.

Where a submitted job writes (`for_submission`): the directory it compiled to, or one beside it
when it is not the first of its identity. The compiler names a job's base output directory from
what the plan knows, `<base>/<experiment>/<spec hash[:12]>-<full commit>`: the plan shows where the
job will write, and two studies or two commits (even two sharing their first 7 hex digits) never
share a directory. What the plan cannot know is whether a job with the same identity was submitted
before: `--force`, or a submission after one that failed or was cancelled, creates a second job
with that identity, and Vertex AI puts trial N's files under `<base_output_directory>/N/` for
every job, so its trials would write over the first job's. Such a job gets `<compiled>-<n>`
instead (`-2`, `-3`, …: the first number after the jobs already there), chosen when it is created,
from the jobs the look-up found.

Neither the spec hash nor the identity labels cover the directory
(`scripts.experiments.compiler.defining_spec`), so choosing it here changes neither: the plan, the
`/hpt run` reply and the job show the same spec hash, and a re-run without `--force` still finds
the job and reuses it, directory and all. A job deleted from Vertex AI is not listed, so its
number can be given again (its files are not deleted with it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

EXPERIMENT = "hpt-experiment"
SPEC_HASH = "hpt-spec-hash"
COMMIT = "hpt-commit"
PULL_REQUEST = "hpt-pr"
REPOSITORY = "hpt-repo"
MANAGED_BY = "managed-by"
MANAGED_BY_VALUE = "vertex-hpt-actions"
# A local run's optimizer seed (`run --backend local --seed N`); the emulator seeds that job's study with it.
SEED = "hpt-seed"

# The labels that decide whether two jobs are the same submission.
IDENTITY = (EXPERIMENT, SPEC_HASH, COMMIT)

_INVALID = re.compile(r"[^a-z0-9_-]+")


def label_value(text: str) -> str:
    """`text` made into a valid label value: lowercased, other characters as `-`, 63 at most."""
    return _INVALID.sub("-", text.lower()).strip("-")[:63]


def identity_filter(labels: dict[str, str]) -> str:
    """The `ListHyperparameterTuningJobs` filter that finds jobs with the same identity labels."""
    return " AND ".join(f'labels.{key}="{labels[key]}"' for key in IDENTITY if key in labels)


# The `hpt-repo` value: the normalized name, cut to fit, then a hash of the name itself. The
# normalized name alone was one value for `Org/My.Repo` and `org/my-repo` (two repositories), so
# each one's reporter posted the other's results. The hash is of the name lowercased, because
# GitHub names are case-insensitive (`Octo/Repo` and `octo/repo` are one repository) and a CLI
# `--repository` may be typed either way; '.', '-' and '_' stay distinct in it.
REPOSITORY_HASH_LENGTH = 10  # hex: 40 bits, for the handful of repositories sharing one project
_REPOSITORY_NAME_LENGTH = 63 - 1 - REPOSITORY_HASH_LENGTH


def repository_label(repository: str) -> str:
    """The `hpt-repo` label value of `OWNER/NAME`: one per repository, at most 63 of [a-z0-9_-]."""
    digest = hashlib.sha256(repository.strip().lower().encode()).hexdigest()[:REPOSITORY_HASH_LENGTH]
    name = label_value(repository)[:_REPOSITORY_NAME_LENGTH].strip("-")
    return f"{name}-{digest}" if name else digest


def repository_filter(repository: str) -> str:
    """The `ListHyperparameterTuningJobs` filter that finds a repository's jobs.

    It also matches the value jobs were labelled with before `repository_label` (the normalized
    name alone), so that jobs submitted by the release before are still reported. Those old
    values can be shared by repositories that normalize alike: drop the second term one release on
    (docs/backends.md, "Labels").
    """
    values = dict.fromkeys((repository_label(repository), label_value(repository)))
    terms = [f'labels.{REPOSITORY}="{value}"' for value in values]
    return terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})"


def jobs_filter(experiment: str | None = None, state_names: Sequence[str] = ()) -> str:
    """The `ListHyperparameterTuningJobs` filter for `list`: an experiment's jobs (by its label),
    in any of `state_names` (`JOB_STATE_...`); "" for every job.

    Several states are an OR in parentheses, which Vertex AI (AIP-160) and the emulator both read:
    `labels.hpt-experiment="x" AND (state="JOB_STATE_RUNNING" OR state="JOB_STATE_PENDING")`."""
    terms = [f'labels.{EXPERIMENT}="{label_value(experiment)}"'] if experiment else []
    states = [f'state="{name}"' for name in dict.fromkeys(state_names)]
    if len(states) == 1:
        terms += states
    elif states:
        terms.append(f"({' OR '.join(states)})")
    return " AND ".join(terms)


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
