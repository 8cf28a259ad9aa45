"""Where a flow's Markdown goes: the pull request's sticky comment, and always the job summary.

A token that may not comment (a pull request from a fork gets a read-only one, or the job lacks
`pull-requests: write`) is not a failure of the flow: the text goes to the job summary and a
warning says why.
"""

from __future__ import annotations

from collections.abc import Callable

from scripts.github import bodies, runner
from scripts.github.api import GitHubClient, GitHubError
from scripts.github.comments import update_sections


def publish(
    updates: dict[str, str],
    pull_request: int | None,
    *,
    client: Callable[[], GitHubClient] = GitHubClient.from_environment,
    may_comment: bool = True,
) -> str:
    """Post `updates` (section -> Markdown); returns where they went: a comment URL or "summary"."""
    runner.append_summary("\n\n".join(updates.values()))
    if pull_request is None:
        return "summary"
    if not may_comment:
        runner.notice(
            f"pull request #{pull_request} comes from a fork: its token is read-only, see the job summary"
        )
        return "summary"
    try:
        action, comment = update_sections(
            client(), pull_request, updates, title=bodies.header(), order=bodies.SECTION_ORDER
        )
    except GitHubError as error:
        if error.status != 403:
            raise
        runner.warning(f"could not comment on pull request #{pull_request}, see the job summary: {error}")
        return "summary"
    print(f"{action} comment on pull request #{pull_request}: {comment.url}")
    return comment.url
