"""`python -m scripts doctor [EXPERIMENT]`: check a Google Cloud project for what a run needs.

Each check is one line, ✓ or ✗ (– skipped because an earlier check failed, ! not confirmed),
with the command that fixes it. Exit 0 when no check failed, 5 (`ExitStatus.CHECKS_FAILED`)
when one did, 1 for bad input (an unknown experiment, an invalid file when one is named).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from scripts import git, images
from scripts.cloudbuild.settings import MissingSettings, resolve
from scripts.commands.experiment_args import add_experiment_arguments, compile_from_args, context_from_args
from scripts.commands.format_args import add_format_argument
from scripts.doctor import report
from scripts.doctor.clients import Endpoints
from scripts.doctor.target import Target
from scripts.errors import ExitStatus
from scripts.experiments import InvalidExperiments, load
from scripts.github import environment
from scripts.github.events import (
    ZERO_SHA,
    DispatchEvent,
    IssueCommentEvent,
    PushEvent,
    load_event,
    parse_command,
    parse_event,
)
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "experiment",
        nargs="?",
        metavar="EXPERIMENT",
        help="size the quota check from this experiment (default: every experiment in the file)",
    )
    add_experiment_arguments(parser, experiment=False)
    add_format_argument(
        parser,
        {
            "table": "one line per check, its fix under it",
            "markdown": "a GitHub table (a job summary)",
            "json": "{ok, summary, checks: [{name, status, detail, fix, data}]}",
        },
        default="table",
    )
    parser.add_argument(
        "--from-event",
        action="store_true",
        help="size from what this GitHub Actions run submits ($GITHUB_EVENT_PATH): a push's added or "
        "changed experiments, a dispatch's experiment and overrides, an /hpt run comment's experiment",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="also append the Markdown table to $GITHUB_STEP_SUMMARY (GitHub Actions job summary)",
    )


def _from_event(env: Mapping[str, str]) -> tuple[list[str], list[str], str]:
    """What this workflow run submits: (experiment names, `--set` overrides, where that was read)."""
    # These two bring the GitHub client (urllib.request): only --from-event needs them.
    from scripts.github.dispatch_flow import parse_inputs
    from scripts.github.planning import changed

    event = parse_event(*load_event(env))
    if isinstance(event, PushEvent):
        base = event.before if event.before != ZERO_SHA else git.first_parent(event.after)
        changes = changed(base, event.after, environment.trusted(env))
        return [c.experiment for c in changes if c.kind != "removed"], [], "added or changed by this push"
    if isinstance(event, DispatchEvent):
        request = parse_inputs(event.inputs)
        return [request.experiment], list(request.overrides), "dispatched"
    if isinstance(event, IssueCommentEvent):
        command = parse_command(event.body)
        return ([command.experiment] if command and command.experiment else []), [], "asked by /hpt run"
    return [], [], "of this event"


def _compile(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[list, str | None, str | None]:
    """The experiments to size from; a problem that kept them from compiling (without EXPERIMENT);
    a note on what was left out."""
    from scripts.experiments.compiler import compile_experiment  # the Vertex AI types: about 1 s

    if args.experiment:
        return [compile_from_args(args, env)], None, None  # a bad name or file is the user's input: exit 1
    try:
        experiments = load(args.file, env)
        names, note = experiments.names, None
        if args.from_event:
            names, overrides, source = _from_event(env)
            args.overrides = [*args.overrides, *overrides]
            unknown = [name for name in names if name not in experiments.experiments]
            names = [name for name in names if name in experiments.experiments]
            if unknown:  # an /hpt run of a pull request's own experiment: not in this checkout's file
                note = f"not in {args.file}, not sized: {', '.join(unknown)}"
            elif not names:
                note = f"no experiment {source}: nothing to size"
        context = context_from_args(args, env)
        return [compile_experiment(experiments, name, context) for name in names], None, note
    except InvalidExperiments as error:
        first = error.problems[0] if error.problems else error
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        return [], f"{first}{more}", None


def _fallback_image(env: Mapping[str, str]) -> str | None:
    """The image `build` would push for this commit, when no experiment compiled to name one."""
    try:
        settings = resolve({}, env)
    except (MissingSettings, ValueError):
        return None
    _, tag = images.commit_and_tag(env.get("GITHUB_SHA") or None)
    return images.image_uri(settings.region, settings.project, settings.repository, settings.image, tag)


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    from scripts.doctor.checks import run_checks  # the cloud clients (grpc, google-auth): not for --help

    env = wiring.env
    compiled, problem, note = _compile(args, env)
    target = Target.build(
        env,
        compiled,
        experiments_problem=problem,
        experiments_note=note,
        fallback_image_uri=None if compiled else _fallback_image(env),
        emulator=wiring.backend.emulator,
    )
    checks = run_checks(target, Endpoints.from_environment(env))
    if args.format == "json":
        print(report.as_json(checks))
    elif args.format == "markdown":
        print(report.markdown(checks))
    else:
        print(report.table(checks))
    if args.summary and env.get("GITHUB_STEP_SUMMARY"):
        with Path(env["GITHUB_STEP_SUMMARY"]).open("a", encoding="utf-8") as out:
            out.write(report.markdown(checks) + "\n\n")
    sys.stdout.flush()
    return ExitStatus.CHECKS_FAILED if any(check.failed for check in checks) else ExitStatus.OK
