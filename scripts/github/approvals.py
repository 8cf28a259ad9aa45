"""The spending gate: was this workflow run approved in the `vertex` environment?

Every job that can create a Vertex AI job runs in a GitHub environment (default `vertex`,
`$HPT_ENVIRONMENT` renames it). With required reviewers on that environment, such a job waits
until a reviewer approves it (https://docs.github.com/en/actions/how-tos/deploy/configure-and-manage-deployments/manage-environments#required-reviewers).
With `$HPT_MAX_COST` set, an experiment whose worst case exceeds it is only submitted when the
run's review history shows that approval: "Get the review history for a workflow run",
`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`
(https://docs.github.com/en/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run;
the job needs `actions: read`). So an environment without reviewers cannot wave it through.
"""

from __future__ import annotations

from collections.abc import Mapping

from scripts.github.api import GitHubClient

DEFAULT_ENVIRONMENT = "vertex"


def environment_name(env: Mapping[str, str]) -> str:
    return env.get("HPT_ENVIRONMENT") or DEFAULT_ENVIRONMENT


def approved(client: GitHubClient, run_id: str, environment: str) -> bool:
    """Did a reviewer approve run `run_id` for `environment`?"""
    reviews = client.get(client.repo_path(f"actions/runs/{run_id}/approvals")) or []
    return any(
        review.get("state") == "approved"
        and any(item.get("name") == environment for item in review.get("environments") or [])
        for review in reviews
    )


def run_approved(env: Mapping[str, str]) -> tuple[bool, str]:
    """(approved?, the environment's name) for the running workflow run; never outside Actions."""
    name = environment_name(env)
    run_id = env.get("GITHUB_RUN_ID", "")
    if not run_id.isdigit():
        return False, name
    return approved(GitHubClient.from_environment(dict(env)), run_id, name), name
