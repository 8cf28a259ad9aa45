"""Pull request → plan comment: the plan of every experiment the pull request adds or changes.

Runs on `pull_request`, with no cloud credential. The plan is of the pull request's HEAD commit's
experiments file (not of the merge commit GitHub checks out for this run), planned as `/hpt run`
submits it: in the credential-free sandbox, with where and as whom the default branch's file says
(`scripts.github.trust`) and the trainer image it tunes (`scripts.github.trainer_image`). So the
plan, `/hpt plan`, the `/hpt run` reply and the job show the same spec hash. For a
same-repository pull request this job runs the pull request's own code; nothing later trusts what
it writes (`/hpt run` names its commit and asks GitHub for the head).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from scripts import git, images
from scripts.github import environment, sandbox
from scripts.github.api import GitHubClient
from scripts.github.compiling import StepContext
from scripts.github.events import PullRequestEvent
from scripts.github.planning import Plan, PlanImage, changes_summary, check
from scripts.github.runner import Step
from scripts.github.sticky_comment import publish
from scripts.paths import experiments_file


def plan_for(event: PullRequestEvent, directory: Path, env: Mapping[str, str]) -> Plan:
    """The plan of the experiments the head changed since the merge base, with the base branch's
    file as the default branch's (it decides where and as whom).

    The merge result (this checkout) is what a merge submits, so it is checked first: an invalid
    one is the plan's problem, and fails the pull request's check.
    """
    _, problems = check(experiments_file(), StepContext.resolve(environment.trusted(env)))
    if problems:
        return Plan([], [], problems)
    # Where the pull request branched off, so that later changes on main are not counted as its own.
    since = git.merge_base(event.base_sha, event.head_sha) or event.base_sha
    head, base, trusted = (
        sandbox.write_copy(directory, name, git.file_at(revision, experiments_file())[0])
        for name, revision in (("head", event.head_sha), ("base", since), ("trusted", event.base_sha))
    )
    # `/hpt run` tunes a same-repository head's own trainer, a fork's only when asked
    # (`scripts.github.trainer_image.choose`); git has both commits here.
    trainer = event.base_sha if event.from_fork else event.head_sha
    image = PlanImage(images.content_tag(trainer), from_fork=event.from_fork)
    # Nothing on the default branch yet (`trusted` None): nothing there decides where a job runs, so
    # nothing is planned to run before the merge; the plan is of the file as it will be merged.
    planned = sandbox.PlanFiles(head, trusted or head, base, event.head_sha, since, image)
    return sandbox.plan_of_files(planned, env=env)


def run(event: PullRequestEvent, step: Step, github: Callable[[], GitHubClient]) -> int:
    if event.action == "closed":
        # A merge is handled by the push to main it makes; a closed pull request needs no plan.
        print(f"pull request #{event.number} is closed{' (merged)' if event.merged else ''}: nothing to plan")
        return 0
    with tempfile.TemporaryDirectory() as directory:
        plan = plan_for(event, Path(directory), step.env)
    changes = plan.changes
    step.set_output("changed", " ".join(c.experiment for c in changes if c.kind != "removed"))
    publish(
        {"plan": plan.section(event.head_sha)},
        event.number,
        step=step,
        client=github,
        may_comment=not event.from_fork,
    )
    print(f"pull request #{event.number}: {changes_summary(changes)}")
    # An invalid experiments file fails the check, so it cannot be merged by accident.
    return 0 if plan.valid else 1
