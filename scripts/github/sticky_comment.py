"""Our sticky comment: the one comment of ours per key on a pull request, found by a hidden marker
and edited in place, and where a flow's Markdown goes (that comment, and always the job summary).

A sticky comment is made of named sections, each wrapped in hidden markers, so that the plan,
the submitted jobs and each job's result can be updated independently without losing the
others, and so that "is this job's result already posted?" is a question about the comment.
What a section says is written elsewhere (`scripts.github.comment_sections`, the flows).

A token that may not comment (a pull request from a fork gets a read-only one, or the job lacks
`pull-requests: write`) is not a failure of a flow: the text goes to the job summary and a
warning says why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scripts.github.api import GitHubClient, GitHubError
from scripts.github.runner import Step

if TYPE_CHECKING:
    from scripts.github.events import IssueCommentEvent

TITLE = "## Vertex AI hyperparameter tuning"
# Sections appear in this order in the comment, whichever is written first.
SECTION_ORDER = (
    "plan",
    "command",
    "refused",
    "submitted",
    "baseline",
    "confirming",
    "result",
    "confirmed",
    "files",
)

MARKER_PREFIX = "vertex-hpt"
DEFAULT_KEY = "experiments"
# GitHub rejects comment bodies over 65536 characters.
MAX_BODY = 65536

_KEY = re.compile(r"[A-Za-z0-9_.:-]+")
# Who writes our comments is the client's `comment_author` (the workflows' GITHUB_TOKEN acts as
# `api.DEFAULT_AUTHOR`; HPT_COMMENT_AUTHOR names another). Comments by anyone else are never taken
# for ours, even when they start with our marker (we could not edit them anyway).

# Two jobs may edit one comment at the same time (a merge's submit while the reporter posts a
# result). Each reads the body, changes its sections and writes the whole body back, so the later
# write can drop the earlier one's section; GitHub offers no conditional update of a comment. So
# after writing, a writer waits the client's `comment_settle_seconds`, reads the comment back and
# writes again if one of its sections is gone.
WRITE_ATTEMPTS = 3


def marker(key: str) -> str:
    """The hidden first line that identifies our comment for `key`."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"comment key {key!r}: use letters, digits and . _ : -")
    return f"<!-- {MARKER_PREFIX}:{key} -->"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str


def find_comment(client: GitHubClient, pull_request: int, key: str) -> Comment | None:
    """Our comment for `key` on the pull request, looking through every page of comments."""
    wanted, author = marker(key), client.comment_author
    for item in client.paginate(client.repo_path(f"issues/{pull_request}/comments")):
        body = item.get("body") or ""
        if body.startswith(wanted) and (item.get("user") or {}).get("login") == author:
            return _comment(item)
    return None


def upsert_comment(client: GitHubClient, pull_request: int, key: str, body: str) -> tuple[str, Comment]:
    """Create our comment for `key`, or update it; returns ("created"|"updated"|"unchanged", comment)."""
    full = fit(with_marker(key, body))
    existing = find_comment(client, pull_request, key)
    return _write(client, pull_request, existing, full)


def _write(
    client: GitHubClient, pull_request: int, existing: Comment | None, body: str
) -> tuple[str, Comment]:
    """Post `body` as a new comment, or patch `existing` when it differs."""
    if existing is None:
        item = client.post(client.repo_path(f"issues/{pull_request}/comments"), {"body": body})
        return "created", _comment(item)
    if existing.body == body:
        return "unchanged", existing
    item = client.patch(client.repo_path(f"issues/comments/{existing.id}"), {"body": body})
    return "updated", _comment(item)


def with_marker(key: str, body: str) -> str:
    head = marker(key)
    return body if body.startswith(head) else f"{head}\n{body}"


def fit(body: str, limit: int = MAX_BODY) -> str:
    """`body` cut to GitHub's limit, saying so, never cutting a hidden marker in half."""
    if len(body) <= limit:
        return body
    note = "\n\n… (cut to fit GitHub's comment size limit; the full text is in the workflow run's summary)\n"
    cut = body[: limit - len(note)]
    open_comment = cut.rfind("<!--")
    if open_comment > cut.rfind("-->"):
        cut = cut[:open_comment]
    return cut + note


def _comment(item: dict[str, Any]) -> Comment:
    return Comment(id=int(item["id"]), body=item.get("body") or "", url=item.get("html_url", ""))


# -- sections -----------------------------------------------------------------------------------


_SECTION = re.compile(
    rf"<!-- {MARKER_PREFIX}-section:(?P<name>[^ ]+) -->\n"
    rf"(?P<content>.*?)\n"
    rf"<!-- /{MARKER_PREFIX}-section:(?P=name) -->",
    re.DOTALL,
)


def neutralize(content: str) -> str:
    """`content` with every HTML comment opener escaped: text a pull request chose (a description,
    a key) can neither forge a section marker nor hide the rest of the comment."""
    return content.replace("<!--", "&lt;!--")


def sections(body: str) -> dict[str, str]:
    """The named sections of a sticky comment body, in order."""
    return {match["name"]: match["content"] for match in _SECTION.finditer(body)}


def set_section(body: str, name: str, content: str, *, order: tuple[str, ...] = ()) -> str:
    """`body` with section `name` holding `content`: replaced in place, or added.

    A new section goes before the first existing section that `order` lists after it (so the
    plan stays above the submitted jobs, which stay above the results), otherwise at the end.
    """
    if not _KEY.fullmatch(name):
        raise ValueError(f"section name {name!r}: use letters, digits and . _ : -")
    content = neutralize(content.strip())
    block = f"<!-- {MARKER_PREFIX}-section:{name} -->\n{content}\n<!-- /{MARKER_PREFIX}-section:{name} -->"
    for match in _SECTION.finditer(body):
        if match["name"] == name:
            return body[: match.start()] + block + body[match.end() :]
    rank = _rank(name, order)
    for match in _SECTION.finditer(body):
        if _rank(match["name"], order) > rank:
            return body[: match.start()] + block + "\n\n" + body[match.start() :]
    return (body.rstrip("\n") + "\n\n" + block) if body.strip() else block


def _rank(name: str, order: tuple[str, ...]) -> int:
    for index, prefix in enumerate(order):
        if name == prefix or name.startswith(prefix + ":"):
            return index
    return len(order)


def update_sections(
    client: GitHubClient,
    pull_request: int,
    updates: dict[str, str],
    *,
    key: str = DEFAULT_KEY,
    title: str = "",
    order: tuple[str, ...] = (),
) -> tuple[str, Comment]:
    """Write `updates` (section name -> Markdown) into our comment for `key`, keeping other sections.

    Reads the comment back after a settling pause and writes again when a concurrent writer's
    stale body dropped one of these sections; raises GitHubError if it keeps happening.
    """
    settle = client.comment_settle_seconds
    first_action = ""
    existing = find_comment(client, pull_request, key)
    for _ in range(WRITE_ATTEMPTS):
        body = existing.body if existing else with_marker(key, title)
        for name, content in updates.items():
            body = set_section(body, name, content, order=order)
        body = fit(body)
        action, comment = _write(client, pull_request, existing, body)
        first_action = first_action or action
        # What fit() had to cut is not expected back.
        expected = {name: content for name, content in sections(body).items() if name in updates}
        if settle:
            time.sleep(settle)
        current = find_comment(client, pull_request, key)
        if current is not None and current.id != comment.id:
            # Another job created its comment first; ours is a duplicate: fold it into theirs.
            client.delete(client.repo_path(f"issues/comments/{comment.id}"))
        elif current is not None and _holds(current.body, expected):
            return first_action, current
        existing = current  # the next attempt starts from what is there now
    raise GitHubError(
        f"pull request #{pull_request}: another job kept overwriting our comment's"
        f" {', '.join(updates)} section(s); gave up after {WRITE_ATTEMPTS} writes"
    )


def _holds(body: str, expected: dict[str, str]) -> bool:
    present = sections(body)
    return all(present.get(name) == content for name, content in expected.items())


# -- our comment on the workflows' pull requests ------------------------------------------------


def update_ours(client: GitHubClient, pull_request: int, updates: dict[str, str]) -> tuple[str, Comment]:
    """`update_sections` on the workflows' comment: our title, our key, our order of sections."""
    return update_sections(client, pull_request, updates, title=TITLE, order=SECTION_ORDER)


def publish(
    updates: dict[str, str],
    pull_request: int | None,
    *,
    step: Step,
    client: Callable[[], GitHubClient],
    may_comment: bool = True,
) -> str:
    """Post `updates` (section -> Markdown); returns where they went: a comment URL or "summary".
    `client` is asked for only when there is a pull request to comment on."""
    step.append_summary("\n\n".join(updates.values()))
    if pull_request is None:
        return "summary"
    if not may_comment:
        step.notice(
            f"pull request #{pull_request} comes from a fork: its token is read-only, see the job summary"
        )
        return "summary"
    try:
        action, comment = update_ours(client(), pull_request, updates)
    except GitHubError as error:
        if error.status != 403:
            raise
        step.warning(f"could not comment on pull request #{pull_request}, see the job summary: {error}")
        return "summary"
    print(f"{action} comment on pull request #{pull_request}: {comment.url}")
    return comment.url


def replier(
    event: IssueCommentEvent, command: str, *, step: Step, client: GitHubClient
) -> Callable[..., None]:
    """How a flow answers the `/hpt` comment `event`: `reply(text, more)` posts `text` after the
    command and its author in our comment's `command` section, and the sections `more` after it."""

    def reply(text: str, more: Mapping[str, str] | None = None) -> None:
        body = {"command": f"`{command}` by @{event.author}: {text}", **(more or {})}
        publish(body, event.number, step=step, client=lambda: client)

    return reply
