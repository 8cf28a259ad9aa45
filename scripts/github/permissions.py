"""Who may spend: the commenter's permission on the repository, asked of GitHub.

`author_association` says how someone is related to the repository, not what they may do:
`MEMBER` is any member of the organisation and `COLLABORATOR` includes read-only collaborators.
So it is only a cheap pre-filter (the workflow's `if:` and `PREFILTER` below, so that strangers
cost no runner and no API call); the decision is GitHub's answer to "Get repository permissions
for a user", `GET /repos/{owner}/{repo}/collaborators/{username}/permission`
(https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
Its `permission` field is one of `admin`, `write`, `read`, `none` (a `maintain` role reads as
`write`, `triage` as `read`); `role_name` names the role itself, custom roles included.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from scripts.github.api import GitHubClient, GitHubError

# Associations that can hold write access at all; anyone else is ignored without an API call.
PREFILTER = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# The permissions (and role names) that may start cloud jobs.
SPENDING = frozenset({"admin", "maintain", "write"})
NEEDED = "write, maintain or admin"


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
