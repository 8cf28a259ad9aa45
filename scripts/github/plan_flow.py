"""Pull request → plan comment: validate, then the plan of every added or changed experiment.

Runs on `pull_request`, where the checkout is the pull request's merge commit and no cloud
credential is present; nothing here calls a cloud. The file is this checkout's, so it is read in
this process, with the GitHub token withheld from its `${VAR}` references.
"""

from __future__ import annotations

import dataclasses

from scripts import git
from scripts.github import bodies, environment, runner
from scripts.github.compiling import StepContext, experiments_file
from scripts.github.events import PullRequestEvent
from scripts.github.planning import Plan, changed, check, plan_changes
from scripts.github.publish import publish


def plan_for(base: str, head: str) -> Plan:
    """The plan of the experiments changed from `base` to `head`, as this checkout defines them."""
    file = experiments_file()
    # The commit a plan names is the pull request's head (as `/hpt plan` and `/hpt run` name it),
    # not `$GITHUB_SHA`, the merge commit GitHub made for this run.
    context = dataclasses.replace(StepContext.resolve(environment.trusted()), commit=head)
    experiments, problems = check(file, context)
    if experiments is None:
        return Plan([], [], problems)
    since = merge_base(base, head)
    return plan_changes(experiments, changed(since, head, context.env), context, base=since, file=file)


def merge_base(base: str, head: str) -> str:
    """Where the pull request branched off, so that later changes on main are not counted as its own."""
    return git.merge_base(base, head) or base


def run(event: PullRequestEvent) -> int:
    if event.action == "closed":
        # A merge is handled by the push to main it makes; a closed pull request needs no plan.
        print(f"pull request #{event.number} is closed{' (merged)' if event.merged else ''}: nothing to plan")
        return 0
    plan = plan_for(event.base_sha, event.head_sha)
    changes = plan.changes
    runner.set_output("changed", " ".join(c.experiment for c in changes if c.kind != "removed"))
    publish({"plan": plan.section(event.head_sha)}, event.number, may_comment=not event.from_fork)
    print(f"pull request #{event.number}: {bodies.changes_summary(changes)}")
    # An invalid experiments file fails the check, so it cannot be merged by accident.
    return 0 if plan.valid else 1
