"""The trust policy for an experiments file that is not on the default branch (a pull request's).

Such a file is written by whoever opened the pull request, and `/hpt run` submits it with the
deployer's credentials before anyone merged it. So it defines the study and nothing else:

- where and as whom the job runs (`TRUSTED_FIELDS`) comes from the default branch: its experiment
  of the same name, else its `defaults`, and the repository variables they read. A value the pull
  request sets there is flagged in the plan and never used;
- environment variables for the trial's container run only as the default branch sets them;
- trainer and worker pool args that name a storage location (a bucket, a path, a `--model_dir`)
  run only as the default branch's experiment already names them: the trial reads and writes as
  the trial service account, which must not be pointed at someone else's bucket.

A merge makes the file the default branch's, and then all of it is used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from scripts.experiments import ExperimentsFile
from scripts.experiments.model import Experiment, Settings
from scripts.experiments.source import InvalidExperiments, KeyPath, Problem, dotted

# Where and as whom a job runs. (Customer-managed encryption is not a setting of experiments
# files: the API default.) Only `labels` stays the file's.
TRUSTED_FIELDS = (
    "project",
    "region",
    "staging_bucket",
    "base_output_directory",
    "image_repository",
    "image_name",
    "image_uri",
    "service_account",
    "network",
    "tensorboard",  # where the trials' logs stream: the trial service account writes there
)
# The trainer's flags whose every value is a place to read or write (trainer/flags.py); `--data`
# names one only in its `dir:PATH` form (`tfds:NAME` and `synthetic` are not places).
LOCATION_FLAGS = frozenset({"tfds_data_dir", "model_dir"})
# Values that name a place whatever flag carries them.
_LOCATION_PREFIXES = ("dir:", "/", "~", "gs:", "file:")


@dataclass(frozen=True)
class Review:
    """What an unmerged experiment may decide, and what it tried to decide."""

    settings: Settings  # the experiment's settings with every trusted field the default branch's
    # (field, the pull request's value, the default branch's value) for each field it tried to set
    overridden: tuple[tuple[str, str | None, str | None], ...]
    refusals: tuple[Problem, ...]  # why `/hpt run` does not submit it before the merge

    def enforce(self) -> None:
        """Raises `InvalidExperiments` with every refusal: nothing of the experiment is submitted."""
        if self.refusals:
            raise InvalidExperiments(list(self.refusals))


def review(experiments: ExperimentsFile, experiment: Experiment, default_branch: ExperimentsFile) -> Review:
    """`experiment` (of the unmerged file `experiments`) as the default branch's file lets it run."""
    trusted = default_branch.experiments.get(experiment.name)
    source = trusted.settings if trusted is not None else default_branch.defaults
    values = {name: getattr(source, name) for name in TRUSTED_FIELDS}
    overridden = tuple(
        (name, getattr(experiment.settings, name), value)
        for name, value in values.items()
        if getattr(experiment.settings, name) != value
    )
    refusals = [*_environment_refusals(experiments, experiment, trusted)]
    refusals += _location_refusals(experiments, experiment, trusted)
    return Review(dataclasses.replace(experiment.settings, **values), overridden, tuple(refusals))


def names_location(arg: str) -> bool:
    """Does this container arg name a place to read or write (`--data=dir:gs://…`, `--model_dir`)?"""
    flag, _, value = arg.partition("=")
    if flag.startswith("-") and flag.lstrip("-") in LOCATION_FLAGS:
        return True
    text = value if flag.startswith("-") else arg
    return "://" in arg or text.strip().startswith(_LOCATION_PREFIXES)


def _environment_refusals(
    experiments: ExperimentsFile, experiment: Experiment, trusted: Experiment | None
) -> Iterator[Problem]:
    if _container_environment(experiment) == _container_environment(trusted):
        return
    yield _problem(
        experiments,
        ("experiments", experiment.name, "trainer", "env"),
        "environment variables for the trial's container (trainer.env, worker pool env) from an unmerged "
        "file are not run before the merge: the container runs as the trial service account; merge the "
        "change, or run it without them",
    )


def _location_refusals(
    experiments: ExperimentsFile, experiment: Experiment, trusted: Experiment | None
) -> list[Problem]:
    allowed = set(_all_args(trusted)) if trusted is not None else set()
    places: list[tuple[KeyPath, str]] = [
        (("experiments", experiment.name, "trainer", "args", index), arg)
        for index, arg in enumerate(experiment.trainer_args)
    ]
    places += [
        (("experiments", experiment.name, "worker_pools", pool_index, "args", index), arg)
        for pool_index, pool in enumerate(experiment.worker_pools)
        for index, arg in enumerate(pool.args)
    ]
    return [
        _problem(
            experiments,
            path,
            "an unmerged file may not choose where the trial reads or writes: this arg names a "
            "location the default branch's experiment does not; merge the change first",
        )
        for path, arg in places
        if names_location(arg) and arg not in allowed
    ]


def _all_args(experiment: Experiment) -> list[str]:
    return [*experiment.trainer_args, *(arg for pool in experiment.worker_pools for arg in pool.args)]


def _container_environment(experiment: Experiment | None) -> list[tuple[str, str]]:
    if experiment is None:
        return []
    pools = [item for pool in experiment.worker_pools for item in pool.env]
    return sorted({*experiment.trainer_env, *pools})


def _problem(experiments: ExperimentsFile, path: KeyPath, message: str) -> Problem:
    where = experiments.source.where(path)
    return Problem(where.file, where.line, where.column, dotted(path), message)
