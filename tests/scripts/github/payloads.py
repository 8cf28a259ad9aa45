"""GitHub webhook payloads of each kind this project handles, trimmed to realistic essentials.

The shapes follow GitHub's webhook reference (pull_request, push, workflow_dispatch,
issue_comment); fields our code does not read are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.scripts.github.fake_github import REPOSITORY


def _repo(full_name: str = REPOSITORY) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {"full_name": full_name, "name": name, "owner": {"login": owner}, "default_branch": "main"}


def pull_request(
    action: str, number: int, head_sha: str, base_sha: str, *, merged: bool = False, fork: str | None = None
) -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "closed" if action == "closed" else "open",
            "merged": merged,
            "merge_commit_sha": "f" * 40 if merged else None,
            "head": {"sha": head_sha, "ref": "tune-lr", "repo": _repo(fork or REPOSITORY)},
            "base": {"sha": base_sha, "ref": "main", "repo": _repo()},
            "user": {"login": "alice"},
        },
        "repository": _repo(),
        "sender": {"login": "alice"},
    }


def push(before: str, after: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": _repo(),
        "head_commit": {"id": after, "message": "Merge pull request #5 from octo-org/tune-lr"},
        "pusher": {"name": "alice"},
    }


def workflow_dispatch(**inputs: Any) -> dict[str, Any]:
    return {"inputs": inputs, "ref": "refs/heads/main", "repository": _repo(), "sender": {"login": "alice"}}


def issue_comment(
    number: int,
    body: str,
    association: str,
    *,
    author: str = "bob",
    on_pr: bool = True,
    created_at: str = "2026-11-27T12:00:00Z",
) -> dict:
    issue: dict[str, Any] = {"number": number, "title": "Tune the learning rate", "user": {"login": "alice"}}
    if on_pr:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/{REPOSITORY}/pulls/{number}"}
    return {
        "action": "created",
        "issue": issue,
        "comment": {
            "id": 77,
            "body": body,
            "user": {"login": author},
            "author_association": association,
            "created_at": created_at,
        },
        "repository": _repo(),
        "sender": {"login": author},
    }


def write_event(directory: Path, name: str, payload: dict[str, Any]) -> dict[str, str]:
    """The event file and the variables that point a step at it."""
    path = directory / f"{name}.json"
    path.write_text(json.dumps(payload))
    return {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path)}
