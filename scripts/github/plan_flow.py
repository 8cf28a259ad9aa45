"""Pull request → plan comment: validate, then the plan of every added or changed experiment.

Runs on `pull_request`, where the checkout is the pull request's merge commit and no cloud
credential is present; nothing here calls a cloud.
"""

from __future__ import annotations

from scripts import git
from scripts.github import bodies, ours, runner
from scripts.github.events import PullRequestEvent
from scripts.github.publish import publish


def plan_section_for(base: str, head: str) -> tuple[str, list[ours.Change], bool]:
    """(Markdown, changes, valid) of the experiments changed from `base` to `head` in this checkout."""
    problems = ours.validate()
    if problems:
        return bodies.plan_section(head, [], [], problems), [], False
    since = merge_base(base, head)
    changes = ours.changed(since, head)
    plans, failures = [], []
    for change in changes:
        if change.kind == "removed":
            continue
        result = ours.plan_markdown(change.experiment, base=since)
        if result.ok:
            plans.append((change.experiment, result.stdout))
        else:
            failures.append(f"{change.experiment}: {result.error_line()}")
    removed = [change.experiment for change in changes if change.kind == "removed"]
    if failures:
        return bodies.plan_section(head, [], [], failures), changes, False
    return bodies.plan_section(head, plans, removed, []), changes, True


def merge_base(base: str, head: str) -> str:
    """Where the pull request branched off, so that later changes on main are not counted as its own."""
    return git.merge_base(base, head) or base


def run(event: PullRequestEvent) -> int:
    if event.action == "closed":
        # A merge is handled by the push to main it makes; a closed pull request needs no plan.
        print(f"pull request #{event.number} is closed{' (merged)' if event.merged else ''}: nothing to plan")
        return 0
    section, changes, valid = plan_section_for(event.base_sha, event.head_sha)
    runner.set_output("changed", " ".join(c.experiment for c in changes if c.kind != "removed"))
    publish({"plan": section}, event.number, may_comment=not event.from_fork)
    print(f"pull request #{event.number}: {bodies.changes_summary(changes)}")
    # An invalid experiments file fails the check, so it cannot be merged by accident.
    return 0 if valid else 1
