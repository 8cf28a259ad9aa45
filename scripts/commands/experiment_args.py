"""The `--file`, `--profile` and `--set` options, shared by every command that compiles an experiment.

    def add_arguments(parser):
        add_experiment_arguments(parser)            # EXPERIMENT, --file, --profile, --set
    def run(args, wiring):
        compiled = compile_from_args(args, wiring.env)   # raises UserError / InvalidExperiments

GitHub context (commit, pull request, repository) comes from `--commit`/`--pr`/`--repository`
when given, else from the Actions environment (`GITHUB_SHA`, `GITHUB_REPOSITORY`). The command
resolves the commit and the image's content tag here (`scripts.images.commit_and_tag`), once:
compiling asks git nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING

from scripts import images
from scripts.experiments.loader import load, parse_overrides
from scripts.paths import experiments_file

if TYPE_CHECKING:
    from scripts.experiments import InvalidExperiments
    from scripts.experiments.compiler import CompileContext, CompiledExperiment
    from scripts.wiring import Wiring


def add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file",
        default=experiments_file(),
        metavar="F",
        help="the experiments file (default: experiments.yaml at the repository root)",
    )


def add_experiment_arguments(parser: argparse.ArgumentParser, experiment: bool = True) -> None:
    """EXPERIMENT (unless `experiment=False`), --file, --profile, --set, --commit, --pr, --repository."""
    if experiment:
        parser.add_argument("experiment", metavar="EXPERIMENT", help="an experiment name from the file")
    add_file_argument(parser)
    parser.add_argument(
        "--profile", default=None, help="apply a profile from the file's `profiles:` (e.g. offline)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the experiment, e.g. max_trial_count=3 (repeatable)",
    )
    parser.add_argument(
        "--commit", default=None, help="the commit the job runs (default: $GITHUB_SHA, else HEAD)"
    )
    parser.add_argument(
        "--pr", dest="pull_request", default=None, metavar="N", help="the pull request it comes from"
    )
    parser.add_argument("--repository", default=None, help="OWNER/REPO (default: $GITHUB_REPOSITORY)")


def context_from_args(
    args: argparse.Namespace, env: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> CompileContext:
    """The compile context the arguments and the environment give, with the commit and image tag
    resolved (`--commit`, else `$GITHUB_SHA`, else HEAD)."""
    from scripts.experiments.compiler import CompileContext  # the Vertex AI types: about 1 s

    env = dict(env)
    commit, image_tag = images.commit_and_tag(args.commit or env.get("GITHUB_SHA") or None)
    return CompileContext(
        env=env,
        commit=commit,
        image_tag=image_tag,
        pull_request=args.pull_request,
        repository=args.repository or env.get("GITHUB_REPOSITORY") or None,
        profile=args.profile,
        overrides=parse_overrides(args.overrides) if overrides is None else overrides,
    )


def compile_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> CompiledExperiment:
    """Load `args.file` and compile `args.experiment` with the profile, overrides and context given."""
    from scripts.experiments.compiler import compile_experiment  # the Vertex AI types: about 1 s

    env = dict(env)
    overrides = parse_overrides(args.overrides)  # a malformed --set fails before anything is read
    experiments = load(args.file, env=env)
    return compile_experiment(experiments, args.experiment, context_from_args(args, env, overrides))


def say_problems(error: InvalidExperiments, wiring: Wiring) -> int:
    """Each problem of an invalid experiments file on a line of its own; the exit status 1."""
    for problem in error.problems:
        wiring.say(str(problem))
    return 1
