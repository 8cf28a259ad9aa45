"""`/hpt plan` and `/hpt run <experiment>` in pull request comments.

The workflow runs on `issue_comment`, that is with the default branch's code and the base
repository's permissions, whoever wrote the comment. So: a command is obeyed only when GitHub says
its author has write, maintain or admin permission on the repository (`scripts.github.permissions`;
the author association is only a pre-filter, so strangers cost nothing and get no reply), a
refused author's reply goes to a section of their own (it never overwrites a maintainer's), and
the pull request's own files are only ever read as data through the API — its code is never
checked out or run here.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.github import bodies, runner, sandbox
from scripts.github.api import GitHubClient, GitHubError
from scripts.github.events import HptCommand, IssueCommentEvent, parse_command
from scripts.github.permissions import permission_of
from scripts.github.planning import Change
from scripts.github.publish import publish
from scripts.github.submit_flow import submit_all

if TYPE_CHECKING:
    from scripts.vertex.backend import Backend

EXPERIMENTS_PATH = "experiments.yaml"


def authorize(event: IssueCommentEvent, client: GitHubClient) -> HptCommand | None:
    """The command to obey, None when there is none; refuses (and says so) for anyone else.

    Order matters for cost: an ordinary comment or an author whose association cannot carry write
    access ends here with no API call; only then is the permission asked of GitHub, and only an
    author who may spend gets a usage message for a malformed command.
    """
    if event.action != "created" or not event.on_pull_request:
        return None
    try:
        command = parse_command(event.body)
        malformed = None
    except UserError as error:
        command, malformed = None, error
    if command is None and malformed is None:
        return None
    if not event.trusted:
        print(f"ignored a /hpt comment from @{event.author} ({event.author_association}): not a collaborator")
        return None
    permission = permission_of(client, event.author)
    if not permission.may_spend:
        publish(
            {bodies.refusal_section(event.author): bodies.refusal(event.author, permission.shown)},
            event.number,
        )
        print(f"refused /hpt from @{event.author}: {permission.shown} permission")
        return None
    if malformed is not None:
        publish({"command": f"`/hpt`: {malformed}"}, event.number)
        return None
    return command


def file_at(client: GitHubClient, ref: str, path: str = EXPERIMENTS_PATH) -> str | None:
    """A file's text at a commit, read through the API (None when it does not exist there)."""
    try:
        item = client.get(client.repo_path(f"contents/{path}"), {"ref": ref})
    except GitHubError as error:
        if error.status == 404:
            return None
        raise
    return base64.b64decode(item["content"]).decode("utf-8")


def pull_request_files(
    client: GitHubClient, number: int, directory: Path
) -> tuple[str, Path | None, Path | None]:
    """(head sha, experiments file at the head, at the merge base) written under `directory`."""
    pull = client.get(client.repo_path(f"pulls/{number}"))
    head, base = pull["head"]["sha"], pull["base"]["sha"]
    compare = client.get(client.repo_path(f"compare/{base}...{head}"))
    merge_base = (compare.get("merge_base_commit") or {}).get("sha") or base
    paths = []
    for name, ref in (("head", head), ("base", merge_base)):
        text = file_at(client, ref)
        if text is None:
            paths.append(None)
            continue
        path = directory / name / EXPERIMENTS_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return head, paths[0], paths[1]


def plan_of_files(head_sha: str, head: Path | None, base: Path | None) -> tuple[str, list[Change]]:
    """The plan section for the pull request's experiments file against its merge base's.

    The file is the pull request's: it is read in the sandbox, a child with no credentials.
    """
    if head is None:
        return bodies.plan_section(
            head_sha, [], [], [f"{EXPERIMENTS_PATH} does not exist at {head_sha[:12]}"]
        ), []
    plan = sandbox.plan_of_files(head, base)
    return plan.section(head_sha), plan.changes


def run_command(event: IssueCommentEvent, client: GitHubClient) -> int:
    """First job: check who asked, answer `/hpt plan`, and hand `/hpt run` to the job with credentials."""
    command = authorize(event, client)
    runner.set_output("verb", command.verb if command else "")
    runner.set_output("experiment", command.experiment if command else "")
    if command is None:
        return 0
    if command.verb == "plan":
        with tempfile.TemporaryDirectory() as directory:
            head_sha, head, base = pull_request_files(client, event.number, Path(directory))
            section, _ = plan_of_files(head_sha, head, base)
        publish(
            {"plan": section, "command": f"`/hpt plan` by @{event.author}: the plan above is up to date."},
            event.number,
        )
        return 0
    publish({"command": f"`/hpt run {command.experiment}` by @{event.author}: submitting…"}, event.number)
    return 0


def run_submit(event: IssueCommentEvent, client: GitHubClient, backend: Backend) -> int:
    """Second job (with cloud credentials): submit the experiment as the pull request defines it."""
    command = authorize(
        event, client
    )  # checked again: this job must never trust the first one's outputs alone
    if command is None or command.verb != "run":
        raise UserError("this step only runs an authorized `/hpt run <experiment>` comment")
    with tempfile.TemporaryDirectory() as directory:
        head_sha, head, _ = pull_request_files(client, event.number, Path(directory))
        if head is None:
            raise UserError(f"{EXPERIMENTS_PATH} does not exist at {head_sha[:12]}")
        jobs, all_ok = submit_all([command.experiment], backend=backend, pull_request=event.number, file=head)
    done = "submitted" if all_ok else "could not submit"
    publish(
        {
            "command": f"`/hpt run {command.experiment}` by @{event.author}: {done}, see below.",
            f"submitted:{command.experiment}": bodies.submitted_section(head_sha, jobs),
        },
        event.number,
    )
    return 0 if all_ok else 1
