"""The plan section's content: check the file, find what changed, plan each added or changed experiment.

Used in-process by the `pull_request` flow (this checkout's own file) and by the sandbox child
(a pull request's file, without credentials). Everything here reads files as data; nothing
here calls a cloud.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.errors import UserError
from scripts.escaping import code, text
from scripts.experiments import ExperimentsFile, InvalidExperiments, parse_overrides
from scripts.experiments.loader import variant
from scripts.github.comment_sections import plan_section
from scripts.github.compiling import StepContext, last_line
from scripts.github.events import command_name
from scripts.github.trainer_image import FORK_FLAG
from scripts.github.trust import Review, review
from scripts.paths import experiments_file

if TYPE_CHECKING:
    from scripts.experiments.changes import Changes


@dataclass(frozen=True)
class Change:
    experiment: str
    kind: str  # added | changed | removed


def changes_summary(changes: Sequence[Change]) -> str:
    """One line for the log and the job summary: each change, or that there is none."""
    if not changes:
        return "no experiment added, changed or removed"
    return ", ".join(f"{text(change.experiment)} ({change.kind})" for change in changes)


@dataclass(frozen=True)
class PlanImage:
    """The trainer image a pull request's plan shows: the one `/hpt run` tunes before the merge
    (`scripts.github.trainer_image.choose`), where its content tag is known."""

    tag: str = ""  # its content tag; empty: this checkout's HEAD's
    from_fork: bool = False  # a fork's: the default branch's trainer runs, unless the command asks
    # A same-repository head whose tag could not be computed: `tag` is the default branch's.
    head_unknown: bool = False


@dataclass(frozen=True)
class Plan:
    """The plans of the added and changed experiments, or the problems that stopped them."""

    changes: list[Change]
    plans: list[tuple[str, str]]  # (experiment, Markdown)
    problems: list[str]  # the file's problems, or one line per experiment that could not be planned

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def removed(self) -> list[str]:
        return [change.experiment for change in self.changes if change.kind == "removed"]

    def section(self, commit: str) -> str:
        return plan_section(commit, self.plans, self.removed, self.problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [{"experiment": c.experiment, "kind": c.kind} for c in self.changes],
            "plans": [list(plan) for plan in self.plans],
            "problems": self.problems,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            [Change(str(c["experiment"]), str(c["kind"])) for c in data["changes"]],
            [(str(name), str(markdown)) for name, markdown in data["plans"]],
            [str(problem) for problem in data["problems"]],
        )


def changes_of(changes: Changes) -> list[Change]:
    """Added, then changed, then removed experiments."""
    data = changes.as_json()
    return [Change(str(name), kind) for kind in ("added", "changed", "removed") for name in data[kind]]


def changed(base: str, head: str, env: Mapping[str, str]) -> list[Change]:
    """The experiments added, changed or removed in experiments.yaml from git revision `base` to `head`."""
    # Deferred, like render_plan below: it imports the compiler and the Vertex API's types (about 1 s),
    # which a flow that only checks a file or reads a plan back from the sandbox never needs.
    from scripts.experiments.changes import changes_between

    try:
        return changes_of(changes_between(base, head, experiments_file(), env))
    except UserError as error:
        raise UserError(f"changed: {last_line(error)}") from None


def check(
    file: str | Path, context: StepContext, shown: str | None = None
) -> tuple[ExperimentsFile | None, list[str]]:
    """(the file, []) when it is valid, else (None, the lines `python -m scripts validate` prints:
    each problem, then how many); the count or OK line also goes to the log. `shown`: the file's
    name in them, when not `file`."""
    try:
        experiments = context.load(file, shown)
    except InvalidExperiments as error:
        count = len(error.problems)
        summary = f"{shown or file}: {count} problem{'s' if count != 1 else ''}"
        print(summary, file=sys.stderr)
        return None, [*(str(problem) for problem in error.problems), summary]
    names, profiles = len(experiments.names), len(experiments.profiles)
    print(
        f"{shown or file}: OK ({names} experiment{'s' if names != 1 else ''}, "
        f"{profiles} profile{'s' if profiles != 1 else ''})",
        file=sys.stderr,
    )
    return experiments, []


def plan_markdown(
    experiments: ExperimentsFile,
    name: str,
    context: StepContext,
    *,
    base: str | None = None,
    file: str | Path | None = None,
    overrides: Sequence[str] = (),
    base_source: tuple[str | None, str] | None = None,
    trusted: ExperimentsFile | None = None,
    image: PlanImage = PlanImage(),
) -> str:
    """The plan of one experiment (`python -m scripts plan NAME --format markdown`); with `base`, a
    git revision, also what changed in `file` since (read from `base_source` when given: text or
    None, name). Raises `UserError`.

    `trusted`: the default branch's file, when `experiments` is a pull request's: the plan is then
    the job `/hpt run` submits (`scripts.github.trust`), with what the pull request tried to
    decide and cannot, and the command line that runs it, with whose trainer (`image`).
    """
    # Deferred: it imports the compiler and the Vertex API's types (about 1 s), see `changed`.
    from scripts.experiments.plan import render_plan

    compiled = context.compile(experiments, name, overrides=overrides, trusted=trusted, enforce=False)
    markdown = render_plan(compiled, base=base, file=file, env=dict(context.env), base_source=base_source)
    if trusted is None:
        return markdown
    # The pull request's own settings, not the compiled ones (which hold the default branch's).
    found = review(experiments, variant(experiments, name, None, parse_overrides(list(overrides))), trusted)
    return markdown + "\n" + "\n".join(run_lines(name, context.commit or "", found, image)) + "\n"


def run_lines(name: str, commit: str, review: Review, image: PlanImage = PlanImage()) -> list[str]:
    """What `/hpt run` does with this unmerged experiment: the line to copy and whose trainer it
    tunes, or why it refuses it."""
    lines = ["#### Before the merge", ""]
    if review.overridden:
        lines.append(
            "- This pull request sets where or as whom the job runs; before the merge the default "
            "branch's values are used (above), after it the pull request's:"
        )
        lines += [
            f"  - {code(field)}: {code(ours or 'unset')} (the default branch's: {code(theirs or 'unset')})"
            for field, ours, theirs in review.overridden
        ]
    if review.refusals:
        lines.append("- `/hpt run` does not submit this experiment before the merge:")
        lines += [f"  - {code(problem)}" for problem in review.refusals]
        return lines
    if not commit or not command_name(name):
        return lines
    if image.from_fork:
        whose = (
            "the default branch's trainer (the image above: this pull request comes from a fork, whose "
            f"trainer runs only when the command adds `{FORK_FLAG}`)"
        )
    elif image.head_unknown:
        whose = (
            "this commit's trainer (its image is built first when missing; the image above is the default "
            "branch's, as GitHub did not list this commit's build inputs)"
        )
    else:
        whose = "this commit's trainer (the image above, built first when missing)"
    lines += [
        f"- To tune commit `{commit[:7]}` now, with {whose}, a writer comments:",
        "",
        "  ```",
        f"  /hpt run {name} {commit[:7]}",
        "  ```",
    ]
    return lines


def plan_changes(
    experiments: ExperimentsFile,
    changes: list[Change],
    context: StepContext,
    *,
    base: str | None = None,
    file: str | Path | None = None,
    base_source: tuple[str | None, str] | None = None,
    trusted: ExperimentsFile | None = None,
    image: PlanImage = PlanImage(),
) -> Plan:
    """The plan of every added or changed experiment; one that cannot be compiled is a problem.
    `image`: the image `context` compiles with, whose trainer `/hpt run` tunes."""
    plans, failures = [], []
    for change in changes:
        if change.kind == "removed":
            continue
        try:
            plans.append(
                (
                    change.experiment,
                    plan_markdown(
                        experiments,
                        change.experiment,
                        context,
                        base=base,
                        file=file,
                        base_source=base_source,
                        trusted=trusted,
                        image=image,
                    ),
                )
            )
        except UserError as error:
            failures.append(f"{change.experiment}: {last_line(error)}")
    return Plan(changes, [] if failures else plans, failures)
