"""The one child process of the GitHub flows: planning a pull request's experiments file without credentials.

`/hpt plan` runs on `issue_comment`, in a job that holds the GitHub token, and reads the pull
request's experiments.yaml through the API. That file is untrusted: its `${VAR}` references are
resolved into text we print, and compiling it runs our code over data its author chose. So its
check, its changes and its plans are computed in a child started with only `environment.PLAN_ONLY`
as its environment (no token of any kind exists in that process), which answers with JSON:

    python -m scripts.github.sandbox plan --head HEAD_FILE --commit SHA --trusted DEFAULT_BRANCH_FILE
        [--base BASE_FILE] [--base-commit SHA] [--image-tag TAG] [--from-fork] [--head-image-unknown]

The plan is the job `/hpt run` would submit: the pull request's study, where and as whom the
default branch's file says (`scripts.github.trust`), with the trainer image it would tune
(`scripts.github.trainer_image`). The parent names that image by its content tag, computed from
git or GitHub's listing of the commit, never from the file: the child needs neither.

Everything else in the flows runs in-process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts import images
from scripts.errors import UserError
from scripts.experiments import InvalidExperiments
from scripts.github import environment
from scripts.github.compiling import StepContext
from scripts.github.planning import Plan, PlanImage, changes_of, check, plan_changes
from scripts.paths import REPO_ROOT
from scripts.wiring import process_environment

EXPERIMENTS_PATH = "experiments.yaml"

# A plan takes seconds; a file that keeps the child busy longer gets no plan.
TIMEOUT_SECONDS = 300


# -- the parent's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFiles:
    """What the plan of a pull request's experiments file is made from, on both sides of the sandbox.

    `head` is the pull request's file (None: there is none) and `commit` its head; `base` the file
    at the merge base `base_commit` (None: every experiment is new); `trusted` the default branch's
    file, which decides where and as whom; `image` the trainer image `/hpt run` tunes.
    """

    head: Path | None
    trusted: Path
    base: Path | None = None
    commit: str = ""
    base_commit: str = ""
    image: PlanImage = PlanImage()

    def arguments(self) -> list[str]:
        """The child's command-line arguments for these files."""
        given = {
            "--head": self.head,
            "--trusted": self.trusted,
            "--base": self.base,
            "--commit": self.commit,
            "--base-commit": self.base_commit,
            "--image-tag": self.image.tag,
        }
        switches = {"--from-fork": self.image.from_fork, "--head-image-unknown": self.image.head_unknown}
        named = [part for flag, value in given.items() if value for part in (flag, str(value))]
        return named + [flag for flag, on in switches.items() if on]


def plan_of_files(files: PlanFiles, *, env: Mapping[str, str]) -> Plan:
    """The plan of `files.head` against `files.base`, computed in the sandbox: a child whose whole
    environment is `environment.untrusted(env)` (`env`: the step's). The `pull_request` workflow and
    `/hpt plan` both plan this way, so for the same head they post the same plan, with the spec
    hash `/hpt run` submits.

    The child's stderr (the file's check) goes to this run's log; a child that fails raises
    `UserError` with its last line.
    """
    if files.head is None:
        return Plan([], [], [f"{EXPERIMENTS_PATH} does not exist at {files.commit[:12]}"])
    command = [sys.executable, "-m", "scripts.github.sandbox", "plan", *files.arguments()]
    try:
        completed = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=environment.untrusted(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"planning {files.head.name} took longer than {TIMEOUT_SECONDS} s: no plan") from None
    if completed.stderr:
        sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        reason = lines[-1].removeprefix("error: ") if lines else f"exit status {completed.returncode}"
        raise UserError(reason)
    try:
        return Plan.from_json(json.loads(completed.stdout))
    except (ValueError, KeyError, TypeError):
        raise UserError("the plan sandbox did not answer with a plan") from None


def write_copy(directory: Path, name: str, text: str | None) -> Path | None:
    """`text` as `directory/name/experiments.yaml`, the name its author knows; None when `text` is."""
    if text is None:
        return None
    path = directory / name / EXPERIMENTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the child's side -----------------------------------------------------------------------------


def plan(files: PlanFiles, *, env: Mapping[str, str]) -> Plan:
    """Check the head, compare it with the base (an invalid or missing base: everything is added),
    plan; `env`: the child's environment."""
    # The child's alone: comparing brings the compiler (aiplatform_v1's types, about 2 s), which the
    # parent, that only starts the child, never needs.
    from scripts.experiments.changes import compare

    # The process environment is already this; filtering again keeps a direct run as safe.
    context = StepContext.resolve(environment.untrusted(env))
    image_tag = files.image.tag or images.content_tag()
    context = dataclasses.replace(context, commit=files.commit or context.commit, image_tag=image_tag)
    experiments, problems = check(files.head, context, shown=EXPERIMENTS_PATH)
    if experiments is None:
        return Plan([], [], problems)
    try:
        default_branch = context.load(files.trusted)
    except InvalidExperiments as error:
        # What `/hpt run` would run cannot be known: it takes its settings from this file.
        return Plan([], [], [f"the default branch's {files.trusted.name} is invalid: {error.problems[0]}"])
    try:
        before = context.load(files.base) if files.base is not None else None
    except InvalidExperiments:
        before = None  # an invalid base: everything in the pull request is new to it
    changes = changes_of(compare(before, experiments, context.env))
    if not files.base_commit:
        return plan_changes(
            experiments, changes, context, file=files.head, trusted=default_branch, image=files.image
        )
    base, head = files.base, files.head
    source = (base.read_text(encoding="utf-8") if base is not None else None, str(base or head))
    return plan_changes(
        experiments,
        changes,
        context,
        base=files.base_commit,
        file=head,
        base_source=source,
        trusted=default_branch,
        image=files.image,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.github.sandbox", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    planning = steps.add_parser("plan", help="print the plan of --head against --base as JSON")
    planning.add_argument("--head", type=Path, required=True, help="the pull request's experiments file")
    planning.add_argument("--trusted", type=Path, required=True, help="the default branch's experiments file")
    planning.add_argument("--base", type=Path, default=None, help="the file at the merge base, if any")
    planning.add_argument("--image-tag", default="", help="the content tag of the trainer image that runs")
    planning.add_argument("--from-fork", action="store_true", help="the pull request comes from a fork")
    planning.add_argument(
        "--head-image-unknown", action="store_true", help="the image is the default branch's, not the head's"
    )
    planning.add_argument("--commit", default="", help="the pull request's head commit")
    planning.add_argument("--base-commit", default="", help="the merge base commit")
    args = parser.parse_args(argv)
    try:
        image = PlanImage(args.image_tag, args.from_fork, args.head_image_unknown)
        files = PlanFiles(args.head, args.trusted, args.base, args.commit, args.base_commit, image)
        # This child's entry point: its environment, read once.
        result = plan(files, env=process_environment())
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
