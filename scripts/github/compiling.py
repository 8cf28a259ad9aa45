"""Compiling experiments for a workflow step: the file, its environment, the commit and image once.

What `python -m scripts plan/run` build from their flags, a flow builds from the Actions
environment: the commit is `$GITHUB_SHA` (else HEAD), the repository `$GITHUB_REPOSITORY`. Both
are resolved once per step, with the image's content tag, before anything is compiled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts import images
from scripts.errors import UserError
from scripts.experiments.loader import load, load_text, parse_overrides, variant
from scripts.github.trust import review

if TYPE_CHECKING:
    from scripts.experiments import CompiledExperiment, ExperimentsFile


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

    def load(self, file: str | Path, shown: str | None = None) -> ExperimentsFile:
        """Raises `InvalidExperiments`. `shown`: the name problems give the file (a copy of a pull
        request's file is shown as the `experiments.yaml` its author knows, not a temporary path)."""
        if shown is None:
            return load(file, self.env)
        return load_text(Path(file).read_text(encoding="utf-8"), shown, self.env)

    def compile(
        self,
        experiments: ExperimentsFile,
        name: str,
        *,
        pull_request: int | None = None,
        overrides: Sequence[str] = (),
        trusted: ExperimentsFile | None = None,
        enforce: bool = True,
    ) -> CompiledExperiment:
        """Experiment `name` with `overrides` (`FIELD=VALUE`); raises `UserError` / `InvalidExperiments`.

        `trusted`: the default branch's file, when `experiments` is not (a pull request's): the
        experiment runs as `scripts.github.trust` lets it (where and as whom from the default
        branch; refused when it chooses the container's environment or a storage location, unless
        `enforce` is False: a plan shows the refusals instead).
        """
        # Here, not at the top: the compiler brings aiplatform_v1's types (about 2 s), which a step
        # that only loads or reviews a file never needs.
        from scripts.experiments.compiler import CompileContext, compile_checked, compile_experiment

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
        experiment = variant(experiments, name, None, context.overrides, context.env)
        found = review(experiments, experiment, trusted)
        if enforce:
            found.enforce()
        return compile_checked(dataclasses.replace(experiment, settings=found.settings), context)
