"""Compiling experiments for a workflow step: the file, its environment, the commit and image once.

What `python -m scripts plan/run` build from their flags, a flow builds from the Actions
environment: the commit is `$GITHUB_SHA` (else HEAD), the repository `$GITHUB_REPOSITORY`. Both
are resolved once per step, with the image's content tag, before anything is compiled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts import images
from scripts.errors import UserError
from scripts.paths import EXPERIMENTS_FILE

if TYPE_CHECKING:
    from scripts.experiments import CompiledExperiment, ExperimentsFile
    from scripts.experiments.model import Experiment

# Where and as whom a job runs: for a file that is not on the default branch yet (a pull
# request's, run by `/hpt run`), every one of these comes from the default branch's `defaults`
# and the repository variables they read, never from the pull request. Only `labels` stays the
# file's. (Customer-managed encryption is not a setting of experiments files: the API default.)
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
)


def experiments_file() -> str:
    """experiments.yaml, named relative to the working directory when under it, as `validate` does:
    problems then read `experiments.yaml:LINE:COL` in the comment and in annotations."""
    relative = os.path.relpath(EXPERIMENTS_FILE)
    return str(EXPERIMENTS_FILE) if relative.startswith("..") else relative


def last_line(error: UserError) -> str:
    """The one line a failure is reported as: the message, or the last of an invalid file's problems."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


@dataclass(frozen=True)
class StepContext:
    """What every experiment compiled in one step shares."""

    env: Mapping[str, str]  # for `${VAR}`: see scripts.github.environment
    commit: str | None
    image_tag: str
    repository: str | None

    @classmethod
    def resolve(cls, env: Mapping[str, str]) -> StepContext:
        """The commit (`$GITHUB_SHA`, else HEAD) and its image tag, asked of git once."""
        commit, tag = images.commit_and_tag(env.get("GITHUB_SHA") or None)
        return cls(env, commit, tag, env.get("GITHUB_REPOSITORY") or None)

    def load(self, file: str | Path) -> ExperimentsFile:
        """Raises `InvalidExperiments`."""
        from scripts.experiments import load

        return load(file, self.env)

    def compile(
        self,
        experiments: ExperimentsFile,
        name: str,
        *,
        pull_request: int | None = None,
        overrides: Sequence[str] = (),
        trusted: ExperimentsFile | None = None,
    ) -> CompiledExperiment:
        """Experiment `name` with `overrides` (`FIELD=VALUE`); raises `UserError` / `InvalidExperiments`.

        `trusted`: the default branch's file, when `experiments` is not (a pull request's):
        `TRUSTED_FIELDS` are taken from its `defaults`, whatever the file says, and environment
        variables for the trial's container are only run as the default branch sets them.
        """
        from scripts.experiments import CompileContext, compile_experiment, parse_overrides

        context = CompileContext(
            env=self.env,
            commit=self.commit,
            pull_request=str(pull_request) if pull_request is not None else None,
            repository=self.repository,
            profile=None,
            overrides=parse_overrides(list(overrides)),
            image_tag=self.image_tag,
        )
        if trusted is None:
            return compile_experiment(experiments, name, context)
        import dataclasses

        from scripts.experiments.compiler import compile_checked
        from scripts.experiments.loader import variant

        experiment = variant(experiments, name, None, context.overrides, context.env)
        _same_container_environment(experiment, trusted.experiments.get(name))
        settings = dataclasses.replace(
            experiment.settings, **{field: getattr(trusted.defaults, field) for field in TRUSTED_FIELDS}
        )
        return compile_checked(dataclasses.replace(experiment, settings=settings), context)


def _container_environment(experiment: Experiment | None) -> list[tuple[str, str]]:
    if experiment is None:
        return []
    pools = [item for pool in experiment.worker_pools for item in pool.env]
    return sorted({*experiment.trainer_env, *pools})


def _same_container_environment(experiment: Experiment, on_default_branch: Experiment | None) -> None:
    """An unmerged file may not choose environment variables for the trial's container: they run
    with the trial service account (a `PYTHONPATH`, a data directory in someone else's bucket)."""
    if _container_environment(experiment) != _container_environment(on_default_branch):
        raise UserError(
            f"{experiment.name}: trainer.env and worker pool env from an unmerged experiments file are "
            "not run by `/hpt run` (they reach the trial's container, which runs as the trial service "
            "account); merge the change, or run it without them"
        )
