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
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.github import bodies, runner, sandbox
from scripts.github.api import GitHubClient, GitHubError
from scripts.github.comments import find_comment, record_of, sections
from scripts.github.events import HptCommand, IssueCommentEvent, parse_command
from scripts.github.permissions import permission_of
from scripts.github.planning import Change
from scripts.github.publish import publish
from scripts.github.submit_flow import follow, submit_all

if TYPE_CHECKING:
    from scripts.vertex.backend import Backend

EXPERIMENTS_PATH = "experiments.yaml"
# The commit the first job pinned, handed to the second as `needs.command.outputs.head`.
PINNED_HEAD_VARIABLE = "HPT_PINNED_HEAD"
_SHA = re.compile(r"[0-9a-f]{40}")


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
) -> tuple[str, Path | None, Path | None, str]:
    """(head sha, experiments file at the head, at the merge base, merge base sha), under `directory`."""
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
    return head, paths[0], paths[1], merge_base


def plan_of_files(
    head_sha: str, head: Path | None, base: Path | None, base_sha: str = ""
) -> tuple[str, list[Change]]:
    """The plan section for the pull request's experiments file against its merge base's.

    The file is the pull request's: it is read in the sandbox, a child with no credentials.
    """
    if head is None:
        return bodies.plan_section(
            head_sha, [], [], [f"{EXPERIMENTS_PATH} does not exist at {head_sha[:12]}"]
        ), []
    plan = sandbox.plan_of_files(head, base, head_sha, base_sha)
    return plan.section(head_sha), plan.changes


def pinned_head(event: IssueCommentEvent, client: GitHubClient) -> str:
    """The commit `/hpt run` submits: the head our plan section showed when the comment was made.

    The plan section records the full head and since when it has been shown (the plan workflow
    rewrites it on every push, `/hpt plan` on demand). Its time is compared with the comment's
    `created_at`, both written by GitHub's and our own clocks, never by the pull request: commit
    dates cannot be trusted, a fork's author writes them. A plan written after the comment (a push
    came in between) is refused, and so is a pull request without a plan in its comment (a fork's
    plan goes to the run summary: a maintainer comments `/hpt plan` first). So a push after the
    comment is never submitted, even while the submitting job waits in the queue.
    """
    ours = find_comment(client, event.number, "experiments")
    record = record_of(sections(ours.body).get("plan", "")) if ours else {}
    head, at = record.get("head", ""), record.get("at", "")
    if not _SHA.fullmatch(head) or not at:
        raise UserError(
            "this pull request's comment shows no plan yet: comment `/hpt plan`, check the plan, "
            "then `/hpt run` again"
        )
    if not event.created_at or at >= event.created_at:
        raise UserError(
            f"the plan changed after this comment (it now shows {head[:12]}, planned {at}): "
            "check the plan above, then comment `/hpt run` again"
        )
    return head


def run_command(event: IssueCommentEvent, client: GitHubClient) -> int:
    """First job: check who asked, answer `/hpt plan`, and hand `/hpt run` to the job with credentials,
    with the head commit it must submit (`head`)."""
    command = authorize(event, client)
    if command is None or command.verb == "plan":
        runner.set_output("verb", "")
        runner.set_output("experiment", "")
    if command is None:
        return 0
    if command.verb == "plan":
        with tempfile.TemporaryDirectory() as directory:
            head_sha, head, base, base_sha = pull_request_files(client, event.number, Path(directory))
            section, _ = plan_of_files(head_sha, head, base, base_sha)
        publish(
            {"plan": section, "command": f"`/hpt plan` by @{event.author}: the plan above is up to date."},
            event.number,
        )
        return 0
    try:
        head = pinned_head(event, client)
    except UserError as error:
        runner.set_output("verb", "")
        runner.set_output("experiment", "")
        publish(
            {"command": f"`/hpt run {command.experiment}` by @{event.author}: not run: {error}"}, event.number
        )
        return 0
    runner.set_output("verb", "run")
    runner.set_output("experiment", command.experiment)
    runner.set_output("head", head)
    publish(
        {"command": f"`/hpt run {command.experiment}` by @{event.author}: submitting {head[:12]}…"},
        event.number,
    )
    return 0


def run_submit(event: IssueCommentEvent, client: GitHubClient, backend: Backend) -> int:
    """Second job (with cloud credentials): submit the experiment at the commit the first job pinned.

    The author is checked again: this job never trusts the first one's decision alone. The commit
    is the first job's output (our own code wrote it); without it, it is pinned again here.
    """
    command = authorize(event, client)
    if command is None or command.verb != "run":
        raise UserError("this step only runs an authorized `/hpt run <experiment>` comment")
    head_sha = os.environ.get(PINNED_HEAD_VARIABLE, "")
    if not _SHA.fullmatch(head_sha):
        head_sha = pinned_head(event, client)
    text = file_at(client, head_sha)
    if text is None:
        raise UserError(f"{EXPERIMENTS_PATH} does not exist at {head_sha[:12]}")
    with tempfile.TemporaryDirectory() as directory:
        head = Path(directory) / "head" / EXPERIMENTS_PATH
        head.parent.mkdir(parents=True)
        head.write_text(text, encoding="utf-8")
        jobs, all_ok = submit_all(
            [command.experiment],
            backend=backend,
            pull_request=event.number,
            file=head,
            commit=head_sha,
            force=command.force,
        )
    publish(
        {
            "command": run_reply(command, event.author, head_sha, jobs, all_ok),
            f"submitted:{command.experiment}": bodies.submitted_section(head_sha, jobs),
        },
        event.number,
    )
    follow(jobs, backend, lambda: client)
    return 0 if all_ok else 1


def run_reply(command: HptCommand, author: str, head_sha: str, jobs: list[bodies.Submitted], ok: bool) -> str:
    """What `/hpt run` did, in one line: the commit and spec hash, and whether the job is new."""
    prefix = f"`/hpt run {command.experiment}{' --force' if command.force else ''}` by @{author}"
    if not ok or not jobs or jobs[0].error:
        reason = jobs[0].error if jobs and jobs[0].error else "see the run's log"
        return f"{prefix}: could not submit {head_sha[:12]}: {reason}"
    job = jobs[0]
    what = f"{head_sha[:12]} (spec `{job.spec_hash[:12]}`)"
    if job.reused:
        return (
            f"{prefix}: nothing new submitted: {what} already has a job (below); "
            f"`/hpt run {command.experiment} --force` submits a fresh one."
        )
    return f"{prefix}: submitted {what}, see below."
