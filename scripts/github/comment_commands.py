"""`/hpt plan`, `/hpt run <experiment> <commit>` and `/hpt promote <experiment>` in pull request comments.

The workflow runs on `issue_comment`, that is with the default branch's code and the base
repository's permissions, whoever wrote the comment. So: a command is obeyed only when GitHub says
its author has write, maintain or admin permission on the repository (`scripts.github.permissions`;
the author association is only a pre-filter, so strangers cost nothing and get no reply), a
refused author's reply goes to a section of their own (it never overwrites a maintainer's), and
the pull request's own files are only ever read as data through the API — its code is never
checked out or run here. `/hpt run` tunes the named commit's trainer (a fork's only with
`--fork-trainer`: `scripts.github.trainer_image`), whose image the workflow's `build` job makes.
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts import escaping
from scripts.errors import UserError
from scripts.github import confirm_flow, run_flow, sandbox, trainer_image
from scripts.github.api import GitHubClient, GitHubError
from scripts.github.comment_sections import Submitted, refusal, submitted_section
from scripts.github.events import HptCommand, IssueCommentEvent, parse_command
from scripts.github.follow_flow import follow
from scripts.github.permissions import permission_of
from scripts.github.planning import Plan, PlanImage
from scripts.github.promote_flow import run_promote
from scripts.github.runner import Step
from scripts.github.sandbox import EXPERIMENTS_PATH
from scripts.github.sticky_comment import publish, replier
from scripts.paths import experiments_file

if TYPE_CHECKING:
    from scripts.vertex.backend import Backend

# The full commit the first job found the command names, handed to the second as
# `needs.command.outputs.head`.
PINNED_HEAD_VARIABLE = "HPT_PINNED_HEAD"
_SHA = re.compile(r"[0-9a-f]{40}")


def authorize(event: IssueCommentEvent, step: Step, client: GitHubClient) -> HptCommand | None:
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
        publish(refusal(event.author, permission.shown), event.number, step=step, client=lambda: client)
        print(f"refused /hpt from @{event.author}: {permission.shown} permission")
        return None
    if malformed is not None:
        publish({"command": f"`/hpt`: {malformed}"}, event.number, step=step, client=lambda: client)
        return None
    return command


def file_at(client: GitHubClient, ref: str) -> str | None:
    """The experiments file's text at a commit, read through the API (None when it does not exist there)."""
    try:
        item = client.get(client.repo_path(f"contents/{EXPERIMENTS_PATH}"), {"ref": ref})
    except GitHubError as error:
        if error.status == 404:
            return None
        raise
    return base64.b64decode(item["content"]).decode("utf-8")


@dataclass(frozen=True)
class PullRequest:
    """What GitHub says of a pull request now: the only source of the commit `/hpt run` submits."""

    number: int
    head: str  # the head commit, full
    base: str  # the base branch's commit the pull request is compared with
    open: bool
    from_fork: bool = False  # its head is another repository's (or a deleted fork's)
    base_ref: str = ""  # the base branch's name


def pull_request(client: GitHubClient, number: int) -> PullRequest:
    pull = client.get(client.repo_path(f"pulls/{number}"))
    head_repository = (pull["head"].get("repo") or {}).get("full_name")
    from_fork = head_repository != (pull["base"].get("repo") or {}).get("full_name")
    return PullRequest(
        number,
        pull["head"]["sha"],
        pull["base"]["sha"],
        pull.get("state") == "open",
        from_fork,
        pull["base"].get("ref", ""),
    )


def merge_base_of(client: GitHubClient, pull: PullRequest) -> str:
    """Where the pull request branched off its base branch, as GitHub's compare answers."""
    compare = client.get(client.repo_path(f"compare/{pull.base}...{pull.head}"))
    return (compare.get("merge_base_commit") or {}).get("sha") or pull.base


def plan_of_pull_request(client: GitHubClient, pull: PullRequest, env: Mapping[str, str]) -> Plan:
    """The plan of the pull request's experiments file against its merge base's, both read through
    the API.

    The file is the pull request's: it is read in the sandbox, a child with no credentials, and
    planned as `/hpt run` submits it: with the default branch's file (this checkout's) deciding
    where and as whom (`scripts.github.trust`), with the trainer image `/hpt run` tunes. `env`: the
    step's environment (the sandbox gets its safe part).
    """
    merge_base = merge_base_of(client, pull)
    with tempfile.TemporaryDirectory() as directory:
        head = sandbox.write_copy(Path(directory), "head", file_at(client, pull.head))
        base = sandbox.write_copy(Path(directory), "base", file_at(client, merge_base))
        image = plan_image(client, pull)
        files = sandbox.PlanFiles(head, Path(experiments_file()), base, pull.head, merge_base, image)
        return sandbox.plan_of_files(files, env=env)


def plan_image(client: GitHubClient, pull: PullRequest) -> PlanImage:
    """The trainer image `/hpt run` tunes (`trainer_image.choose`): a same-repository head's own, its
    tag from GitHub's listing of the commit's tree; for a fork, or when GitHub does not list that
    tree, the default branch's (this checkout's)."""
    if pull.from_fork:
        return PlanImage(from_fork=True)
    tag = trainer_image.content_tag_at(client, pull.head)
    return PlanImage(tag) if tag else PlanImage(head_unknown=True)


def head_to_run(command: HptCommand, pull: PullRequest) -> str:
    """The full commit `/hpt run NAME SHA` submits: SHA, when it is the pull request's head now.

    GitHub's answer is the only source: no comment's record (any workflow writes as the same bot)
    and no clock is consulted. A closed pull request runs nothing.
    """
    if not pull.open:
        raise UserError("this pull request is closed: nothing is run for it")
    if not pull.head.startswith(command.commit):
        raise UserError(
            f"`{command.commit}` is not this pull request's head, `{pull.head[:7]}` is: check the plan "
            f"of `{pull.head[:7]}`, then comment `/hpt run {command.experiment} {pull.head[:7]}`"
        )
    return pull.head


def run_command(event: IssueCommentEvent, step: Step, client: GitHubClient) -> int:
    """First job: check who asked, answer `/hpt plan`, and hand `/hpt run` to the job with credentials,
    with the head commit it must submit (`head`), or `/hpt promote` to the job that promotes."""
    command = authorize(event, step, client)
    if command is None or command.verb == "plan":
        step.set_output("verb", "")
        step.set_output("experiment", "")
    if command is None:
        return 0
    reply = replier(event, command.text, step=step, client=client)
    pull = pull_request(client, event.number)
    if command.verb == "plan":
        section = plan_of_pull_request(client, pull, step.env).section(pull.head)
        done = f"`/hpt plan` by @{event.author}: the plan above is up to date."
        publish({"plan": section, "command": done}, event.number, step=step, client=lambda: client)
        return 0
    if command.verb == "promote":
        # Which job, and whether it succeeded, only the job with credentials can ask Vertex AI.
        step.set_output("verb", "promote")
        step.set_output("experiment", command.experiment)
        reply("promoting the best trial of this pull request's newest succeeded job of it…")
        return 0
    try:
        head = head_to_run(command, pull)
    except UserError as error:
        step.set_output("verb", "")
        step.set_output("experiment", "")
        reply(f"not run: {error}")
        return 0
    step.set_output("verb", "run")
    step.set_output("experiment", command.experiment)
    step.set_output("head", head)
    if command.confirm:  # the jobs' own images, by digest: nothing to build
        step.set_output("trainer", "")
        reply(f"confirming the verdict of {command.experiment} at {head[:12]}…")
        return 0
    trainer = trainer_image.choose(command, head, pull.from_fork)
    # The commit whose trainer the `build` job builds (as the builder): none for the default branch's.
    step.set_output("trainer", trainer.commit)
    building = " (its image is built first when missing)" if trainer.commit else ""
    reply(f"submitting {head[:12]} with {trainer.note}{building}…")
    return 0


def run_submit(event: IssueCommentEvent, step: Step, client: GitHubClient, backend: Backend) -> int:
    """Second job (with cloud credentials): submit the experiment at the commit the command named.

    The author is checked again, and so is the pull request: this job never trusts the first one's
    decision alone. The first job's `head` output (our own code wrote it) is the full commit it
    found to be the head when the command was read; it must be the commit the command names.
    Whose trainer runs is decided again here too; when it is the commit's, the `build` job's image
    must have been handed on, or nothing is submitted (`scripts.github.run_flow` does the rest).
    """
    command = authorize(event, step, client)
    if command is None or command.verb != "run":
        raise UserError("this step only runs an authorized `/hpt run <experiment> <commit>` comment")
    reply = replier(event, command.text, step=step, client=client)
    pull = pull_request(client, event.number)
    pinned = step.env.get(PINNED_HEAD_VARIABLE, "")
    try:
        if not pull.open:
            raise UserError("this pull request was closed before the job could run: nothing was submitted")
        head_sha = pinned if _SHA.fullmatch(pinned) else head_to_run(command, pull)
        if not head_sha.startswith(command.commit):
            raise UserError(f"the commit to submit, `{head_sha[:7]}`, is not the one the command names")
    except UserError as error:
        reply(f"not run: {error}")
        return 1
    if command.confirm:
        return confirm_flow.run_confirm(event, command, pull.base_ref, head_sha, step, client, backend)
    trainer = trainer_image.choose(command, head_sha, pull.from_fork)
    try:
        image = trainer_image.built_image(step.env, trainer.commit) if trainer.commit else None
    except UserError as error:
        reply(f"not run: {error}")
        return 1
    text = file_at(client, head_sha)
    if text is None:
        raise UserError(f"{EXPERIMENTS_PATH} does not exist at {head_sha[:12]}")
    with tempfile.TemporaryDirectory() as directory:
        head = sandbox.write_copy(Path(directory), "head", text)
        ran = run_flow.submit(command, event.number, head, head_sha, image, env=step.env, backend=backend)
    updates = {
        "command": run_reply(command, event.author, head_sha, ran.jobs, ran.ok, trainer=trainer.note),
        f"submitted:{command.experiment}": submitted_section(
            head_sha, ran.jobs, image.by_digest if image is not None else ""
        ),
    }
    if command.baseline:
        updates[f"baseline:{command.experiment}"] = run_flow.baseline_section(
            ran.baseline_commit, ran.baseline, merge_base_of(client, pull)
        )
    publish(updates, event.number, step=step, client=lambda: client)
    follow([*ran.jobs, *ran.baseline], backend, lambda: client, step, winners=ran.jobs)
    return 0 if ran.ok else 1


def run_promotion(event: IssueCommentEvent, step: Step, client: GitHubClient, backend: Backend) -> int:
    """Second job of `/hpt promote` (with cloud credentials): the author is checked again, as for
    `/hpt run`, then the pull request's newest succeeded job of the experiment is promoted."""
    command = authorize(event, step, client)
    if command is None or command.verb != "promote":
        raise UserError("this step only runs an authorized `/hpt promote <experiment>` comment")
    return run_promote(event, command, step, client, backend)


def run_reply(
    command: HptCommand, author: str, head_sha: str, jobs: list[Submitted], ok: bool, *, trainer: str = ""
) -> str:
    """What `/hpt run` did, in one line: the commit and spec hash, whether the job is new, and
    whose trainer it tunes (`trainer`, our words: `scripts.github.trainer_image`)."""
    prefix = f"`{command.text}` by @{author}"
    if not ok or not jobs or jobs[0].error:
        reason = escaping.text(jobs[0].error) if jobs and jobs[0].error else "see the run's log"
        return f"{prefix}: could not submit {head_sha[:12]}: {reason}"
    job = jobs[0]
    what = f"{head_sha[:12]} (spec `{job.spec_hash[:12]}`)"
    tunes = f" It tunes {trainer}." if trainer else ""
    if job.reused:
        fresh = command.text if command.force else f"{command.text} --force"
        return (
            f"{prefix}: nothing new submitted: {what} already has a job (below); "
            f"`{fresh}` submits a fresh one.{tunes}"
        )
    return f"{prefix}: submitted {what}, see below.{tunes}"
