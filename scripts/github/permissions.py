"""Who may spend, asked of GitHub: the commenter's permission on the repository, and the run's approval.

`author_association` says how someone is related to the repository, not what they may do:
`MEMBER` is any member of the organisation and `COLLABORATOR` includes read-only collaborators.
So it is only a cheap pre-filter (the workflow's `if:` and `events.TRUSTED_ASSOCIATIONS`, so that
strangers cost no runner and no API call); the decision is GitHub's answer to "Get repository
permissions for a user", `GET /repos/{owner}/{repo}/collaborators/{username}/permission`
(https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
Its `permission` field is one of `admin`, `write`, `read`, `none` (a `maintain` role reads as
`write`, `triage` as `read`); `role_name` names the role itself, custom roles included.

The spending gate: every job that can create a Vertex AI job runs in a GitHub environment
(default `vertex`, `$HPT_ENVIRONMENT` renames it). With required reviewers on that environment,
such a job waits until a reviewer approves it (https://docs.github.com/en/actions/how-tos/deploy/configure-and-manage-deployments/manage-environments#required-reviewers).
With `$HPT_MAX_COST` set, an experiment whose worst case exceeds it is only submitted when the
run's review history shows that approval: "Get the review history for a workflow run",
`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`
(https://docs.github.com/en/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run;
the job needs `actions: read`). So an environment without reviewers cannot wave it through.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from scripts.github.api import GitHubClient, GitHubError

# The permissions (and role names) that may start cloud jobs.
SPENDING = frozenset({"admin", "maintain", "write"})
NEEDED = "write, maintain or admin"
DEFAULT_ENVIRONMENT = "vertex"


@dataclass(frozen=True)
class Permission:
    user: str
    permission: str  # admin | write | read | none
    role_name: str  # admin | maintain | write | triage | read | a custom role | ""

    @property
    def may_spend(self) -> bool:
        return self.permission in SPENDING or self.role_name in SPENDING

    @property
    def shown(self) -> str:
        return self.role_name or self.permission or "none"


def permission_of(client: GitHubClient, user: str) -> Permission:
    """The user's permission on the client's repository; `none` when GitHub does not know them."""
    path = client.repo_path(f"collaborators/{urllib.parse.quote(user, safe='')}/permission")
    try:
        data = client.get(path) or {}
    except GitHubError as error:
        if error.status == 404:  # not a user, or not visible: no permission at all
            return Permission(user, "none", "")
        raise
    return Permission(user, str(data.get("permission") or "none"), str(data.get("role_name") or ""))


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
