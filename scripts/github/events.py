"""The GitHub event that started the workflow, read from `$GITHUB_EVENT_PATH` into typed values.

Only the fields the flows use are kept. Everything in a payload that a user typed (titles,
comment bodies, branch names) is data: it never reaches a shell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.errors import UserError

ZERO_SHA = "0" * 40
# Associations that may hold write access; only a pre-filter (scripts.github.permissions decides).
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class PullRequestEvent:
    action: str
    number: int
    head_sha: str
    base_sha: str
    base_ref: str
    merged: bool
    from_fork: bool


@dataclass(frozen=True)
class PushEvent:
    ref: str
    before: str  # ZERO_SHA for a new branch
    after: str


@dataclass(frozen=True)
class DispatchEvent:
    ref: str
    inputs: dict[str, str]


@dataclass(frozen=True)
class IssueCommentEvent:
    action: str
    number: int
    on_pull_request: bool
    body: str
    author: str
    author_association: str
    comment_id: int = 0
    created_at: str = ""  # ISO 8601, as GitHub wrote it: when the comment was made

    @property
    def trusted(self) -> bool:
        """May this author hold write access at all? A pre-filter only: `permissions.permission_of`
        decides (a MEMBER or COLLABORATOR may be read-only)."""
        return self.author_association in TRUSTED_ASSOCIATIONS


Event = PullRequestEvent | PushEvent | DispatchEvent | IssueCommentEvent


def load_event(env: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The event name and payload of the running workflow (`$GITHUB_EVENT_NAME`, `$GITHUB_EVENT_PATH`)."""
    name = env.get("GITHUB_EVENT_NAME", "")
    path = env.get("GITHUB_EVENT_PATH", "")
    if not name or not path:
        raise UserError("GITHUB_EVENT_NAME and GITHUB_EVENT_PATH are not set: run this inside GitHub Actions")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read the event payload: {error}") from None
    if not isinstance(payload, dict):
        raise UserError(f"{path}: the event payload is not a JSON object")
    return name, payload


def parse_event(name: str, payload: dict[str, Any]) -> Event:
    try:
        if name in ("pull_request", "pull_request_target"):
            return _pull_request(payload)
        if name == "push":
            return PushEvent(
                ref=payload["ref"], before=payload.get("before") or ZERO_SHA, after=payload["after"]
            )
        if name == "workflow_dispatch":
            inputs = payload.get("inputs") or {}
            return DispatchEvent(ref=payload.get("ref", ""), inputs={k: _text(v) for k, v in inputs.items()})
        if name == "issue_comment":
            return _issue_comment(payload)
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"the {name} event payload lacks a field this step needs: {error}") from None
    raise UserError(f"event {name!r} is not one this step handles")


def _pull_request(payload: dict[str, Any]) -> PullRequestEvent:
    pull = payload["pull_request"]
    head_repo = (pull["head"].get("repo") or {}).get("full_name")
    base_repo = pull["base"]["repo"]["full_name"]
    return PullRequestEvent(
        action=payload["action"],
        number=int(pull["number"]),
        head_sha=pull["head"]["sha"],
        base_sha=pull["base"]["sha"],
        base_ref=pull["base"]["ref"],
        merged=bool(pull.get("merged")),
        # A deleted fork has no head repository: treat it as a fork.
        from_fork=head_repo != base_repo,
    )


def _issue_comment(payload: dict[str, Any]) -> IssueCommentEvent:
    issue = payload["issue"]
    comment = payload["comment"]
    return IssueCommentEvent(
        action=payload["action"],
        number=int(issue["number"]),
        on_pull_request="pull_request" in issue,
        body=comment.get("body") or "",
        author=(comment.get("user") or {}).get("login", ""),
        author_association=comment.get("author_association", "NONE"),
        comment_id=int(comment.get("id") or 0),
        created_at=str(comment.get("created_at") or ""),
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# -- `/hpt` comment commands ----------------------------------------------------------------------

_COMMAND_LINE = re.compile(r"^/hpt(?:\s+(?P<rest>.*))?$")
_EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
# A commit as people copy it: 7 to 40 lowercase hex digits (GitHub shows 7).
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
# `/hpt run NAME SHA` options, each at most once, in any order.
RUN_FLAGS = ("--force", "--baseline", "--fork-trainer", "--confirm")
USAGE = (
    "use `/hpt plan` or `/hpt run <experiment> <commit> [--force]` (the plan shows the line to copy; "
    "`--baseline` also tunes the default branch's experiment, `--fork-trainer` a fork's trainer, "
    "`--confirm` re-trains both sides' best configurations for a verdict past the noise), "
    "or `/hpt promote <experiment>` once its job has succeeded"
)


@dataclass(frozen=True)
class HptCommand:
    verb: str  # "plan" | "run" | "promote"
    experiment: str = ""
    commit: str = ""  # `/hpt run NAME SHA`: the head commit the author reviewed, 7 to 40 hex digits
    force: bool = False  # `/hpt run NAME SHA --force`: a new job even when one with the same identity exists
    baseline: bool = False  # `--baseline`: the default branch's experiment is tuned too, for the verdict
    fork_trainer: bool = False  # `--fork-trainer`: a fork's trainer code runs (docs/setup.md says as whom)
    # `--confirm`: the confirmation jobs of the commit's succeeded job and its baseline (no new study)
    confirm: bool = False

    @property
    def text(self) -> str:
        """The command as its author wrote it (normalized), for replies."""
        if self.verb == "plan":
            return "/hpt plan"
        if self.verb == "promote":
            return f"/hpt promote {self.experiment}"
        chosen = (self.force, self.baseline, self.fork_trainer, self.confirm)
        flags = [flag for flag, on in zip(RUN_FLAGS, chosen, strict=True) if on]
        return " ".join(["/hpt run", self.experiment, self.commit, *flags])


def command_name(experiment: str) -> bool:
    """Can `/hpt run` name this experiment? (A name outside the command's syntax is never run by it.)"""
    return bool(_EXPERIMENT_NAME.fullmatch(experiment))


def parse_command(body: str) -> HptCommand | None:
    """The `/hpt ...` command on the first line of a comment; None when there is none.

    `/hpt run` must name the commit it runs: what a writer reviewed is a commit, and a command
    that carries it can never run another one. `/hpt promote NAME` names only the experiment: it
    registers the best trial of the pull request's newest succeeded job of it, which ran a commit
    someone with write access chose. Raises UserError for a malformed command, with the usage, so
    the author learns the syntax.
    """
    first = body.strip().splitlines()[0].strip() if body.strip() else ""
    match = _COMMAND_LINE.match(first)
    if not match:
        return None
    words = (match["rest"] or "").split()
    if words == ["plan"]:
        return HptCommand("plan")
    if words[:1] == ["promote"]:
        if len(words) == 2 and _EXPERIMENT_NAME.fullmatch(words[1]):
            return HptCommand("promote", words[1])
        raise UserError(f"malformed command; {USAGE}")
    if not words or words[0] != "run":
        raise UserError(f"unknown command; {USAGE}")
    flags = words[3:]
    shape = len(words) >= 3 and set(flags) <= set(RUN_FLAGS) and len(set(flags)) == len(flags)
    if len(words) == 2 and _EXPERIMENT_NAME.fullmatch(words[1]):
        raise UserError(f"`/hpt run` needs the commit to run after the experiment's name; {USAGE}")
    if shape and "--confirm" in flags and len(flags) > 1:
        raise UserError(
            f"`--confirm` takes no other option: it submits no study, only confirmations; {USAGE}"
        )
    if shape and _EXPERIMENT_NAME.fullmatch(words[1]) and _COMMIT.fullmatch(words[2]):
        return HptCommand("run", words[1], words[2], *(flag in flags for flag in RUN_FLAGS))
    raise UserError(f"malformed command; {USAGE}")
