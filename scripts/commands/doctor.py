"""`python -m scripts doctor [EXPERIMENT]`: check a Google Cloud project for what a run needs.

Each check is one line, ✓ or ✗ (– skipped because an earlier check failed, ! not confirmed),
with the command that fixes it. Exit 0 when no check failed, 5 (`ExitStatus.CHECKS_FAILED`)
when one did, 1 for bad input (an unknown experiment, an invalid file when one is named).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from scripts.commands.experiment_args import add_experiment_arguments
from scripts.errors import ExitStatus

FORMATS = ("table", "markdown", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "experiment",
        nargs="?",
        metavar="EXPERIMENT",
        help="size the quota check from this experiment (default: every experiment in the file)",
    )
    add_experiment_arguments(parser, experiment=False)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="also append the Markdown table to $GITHUB_STEP_SUMMARY (GitHub Actions job summary)",
    )


def _compile(args: argparse.Namespace) -> tuple[list, str | None]:
    """The experiments to size from, and a problem that kept them from compiling (without EXPERIMENT)."""
    from scripts.commands.experiment_args import compile_from_args, context_from_args, load_from_args
    from scripts.experiments import InvalidExperiments
    from scripts.experiments.compiler import compile_experiment

    if args.experiment:
        return [compile_from_args(args)], None  # a bad name or file is the user's input: exit 1
    try:
        experiments = load_from_args(args)
        context = context_from_args(args)
        return [compile_experiment(experiments, name, context) for name in experiments.names], None
    except InvalidExperiments as error:
        first = error.problems[0] if error.problems else error
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        return [], f"{first}{more}"


def _fallback_image() -> str | None:
    """The image `build` would push for this commit, when no experiment compiled to name one."""
    from scripts import images
    from scripts.cloudbuild.settings import MissingSettings, resolve

    try:
        settings = resolve({})
    except (MissingSettings, ValueError):
        return None
    _, tag = images.commit_and_tag(os.environ.get("GITHUB_SHA") or None)
    return images.image_uri(settings.region, settings.project, settings.repository, settings.image, tag)


def run(args: argparse.Namespace) -> int:
    from scripts.doctor import render
    from scripts.doctor.checks import Doctor
    from scripts.doctor.clients import Endpoints
    from scripts.doctor.target import Target

    compiled, problem = _compile(args)
    target = Target.build(
        os.environ,
        compiled,
        experiments_problem=problem,
        fallback_image_uri=None if compiled else _fallback_image(),
    )
    checks = Doctor(target, Endpoints.from_environment()).run()
    if args.format == "json":
        print(render.as_json(checks))
    elif args.format == "markdown":
        print(render.markdown(checks))
    else:
        print(render.table(checks))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if args.summary and summary:
        with Path(summary).open("a", encoding="utf-8") as out:
            out.write(render.markdown(checks) + "\n\n")
    sys.stdout.flush()
    return ExitStatus.CHECKS_FAILED if any(check.failed for check in checks) else ExitStatus.OK
