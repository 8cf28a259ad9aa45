"""Merge → submit: every experiment the push added or changed goes to Vertex AI, once.

Runs on `push` to the default branch (and from `/hpt run` and dispatch, through `submit_all`).
Every experiment is compiled before the first is submitted, so a broken one submits nothing;
`run` finds a job it already submitted by its identity labels, so a re-run submits nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts import git
from scripts.errors import UserError
from scripts.github import bodies, ours, runner
from scripts.github.api import GitHubClient
from scripts.github.events import ZERO_SHA, PushEvent
from scripts.github.publish import publish


def merged_pull_request(client: GitHubClient, commit: str) -> int | None:
    """The pull request that `commit` merged, from GitHub's list of pull requests with that commit."""
    pulls = client.get(client.repo_path(f"commits/{commit}/pulls"))
    for pull in pulls or []:
        if pull.get("merge_commit_sha") == commit and pull.get("merged_at"):
            return int(pull["number"])
    for pull in pulls or []:
        if pull.get("merged_at"):
            return int(pull["number"])
    return None


def submit_all(
    experiments: Sequence[str],
    *,
    pull_request: int | None,
    overrides: Sequence[str] = (),
    file: Path | None = None,
) -> tuple[list[bodies.Submitted], bool]:
    """Compile every experiment, then submit each; (what was submitted, whether all were)."""
    failures = []
    for experiment in experiments:
        result = ours.plan_json(experiment, file=file, overrides=overrides)
        if not result.ok:
            failures.append(bodies.Submitted(experiment, error=result.error_line()))
    if failures:
        return failures, False
    submitted, all_ok = [], True
    for experiment in experiments:
        try:
            job = ours.submit(experiment, pull_request=pull_request, overrides=overrides, file=file)
        except UserError as error:
            submitted.append(bodies.Submitted(experiment, error=str(error)))
            all_ok = False
            continue
        submitted.append(_submitted(experiment, job))
    return submitted, all_ok


def _submitted(experiment: str, job: dict[str, Any]) -> bodies.Submitted:
    from scripts.vertex.backend import Backend

    name = job.get("name", "")
    link = Backend.from_environment().console_url(name) or ""  # an emulator's job has none
    return bodies.Submitted(experiment, name, job.get("state", ""), link)


def run(event: PushEvent, client: GitHubClient) -> int:
    base = event.before if event.before != ZERO_SHA else git.first_parent(event.after)
    changes = ours.changed(base, event.after)
    experiments = [change.experiment for change in changes if change.kind != "removed"]
    pull_request = merged_pull_request(client, event.after)
    print(f"push {event.after[:12]} (pull request #{pull_request}): {bodies.changes_summary(changes)}")
    if not experiments:
        runner.append_summary(f"Nothing to submit: {bodies.changes_summary(changes)}.")
        return 0
    jobs, all_ok = submit_all(experiments, pull_request=pull_request)
    runner.set_output("jobs", " ".join(job.job_name for job in jobs if job.job_name))
    publish({"submitted": bodies.submitted_section(event.after, jobs)}, pull_request)
    return 0 if all_ok else 1
