"""The check run `hpt / NAME` of a pull request's tuning job, on the commit it tuned.

A branch protection rule can require it. It is in progress while the job runs and completed with
the verdict when the job's result is posted. One check run per job: it is found again by its name
on that commit and its `external_id` (the job's id), so a second reporter, or the same one run
again, updates or leaves it instead of adding another. GitHub REST:
https://docs.github.com/en/rest/checks/runs (the token needs `checks: write`).
"""

from __future__ import annotations

import datetime
from typing import Any

from scripts.github.api import GitHubClient

NAME_PREFIX = "hpt / "
# GitHub's limits on a check run's output (https://docs.github.com/en/rest/checks/runs).
MAX_SUMMARY = 65535
MAX_TITLE = 255


def check_name(experiment: str) -> str:
    return NAME_PREFIX + experiment


def find(client: GitHubClient, commit: str, name: str, job_id: str) -> dict[str, Any] | None:
    """The check run `name` on `commit` that belongs to the job `job_id`, or None."""
    listed = client.get(
        client.repo_path(f"commits/{commit}/check-runs"),
        {"check_name": name, "filter": "all", "per_page": 100},
    )
    for run in (listed or {}).get("check_runs", []):
        if run.get("external_id") == job_id:
            return run
    return None


def start(
    client: GitHubClient, commit: str, name: str, job_id: str, summary: str, details_url: str = ""
) -> tuple[str, dict[str, Any]]:
    """The job's check run in progress: ("created", run), or ("found", run) when it exists already."""
    existing = find(client, commit, name, job_id)
    if existing is not None:
        return "found", existing
    body: dict[str, Any] = {
        "name": name,
        "head_sha": commit,
        "external_id": job_id,
        "status": "in_progress",
        "started_at": _now(),
        "output": {"title": "Tuning", "summary": summary[:MAX_SUMMARY]},
    }
    if details_url.startswith("https://"):
        body["details_url"] = details_url
    return "created", client.post(client.repo_path("check-runs"), body)


def complete(
    client: GitHubClient,
    commit: str,
    name: str,
    job_id: str,
    *,
    conclusion: str,
    title: str,
    summary: str,
    rewrite: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The job's check run completed: ("completed" | "created", run), or ("unchanged", run) when it
    was completed before; `rewrite`: a completed check that says something else is updated
    ("rewritten", run), as the verdict from confirmation jobs replaces the first one."""
    existing = find(client, commit, name, job_id)
    body = {
        "status": "completed",
        "conclusion": conclusion,
        "completed_at": _now(),
        "output": {"title": title[:MAX_TITLE], "summary": summary[:MAX_SUMMARY]},
    }
    if existing is None:
        created = client.post(
            client.repo_path("check-runs"), {"name": name, "head_sha": commit, "external_id": job_id, **body}
        )
        return "created", created
    if existing.get("status") == "completed":
        output = existing.get("output") or {}
        said = (existing.get("conclusion"), {"title": output.get("title"), "summary": output.get("summary")})
        if not rewrite or said == (conclusion, body["output"]):
            return "unchanged", existing
        return "rewritten", client.patch(client.repo_path(f"check-runs/{existing['id']}"), body)
    return "completed", client.patch(client.repo_path(f"check-runs/{existing['id']}"), body)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
