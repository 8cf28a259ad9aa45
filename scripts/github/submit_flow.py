"""Merge → submit: every experiment the push added or changed goes to Vertex AI, once.

Runs on `push` to the default branch (and from `/hpt run` and dispatch, through `submit_all`).
Every experiment is compiled before the first is submitted, so a broken one submits nothing;
`scripts.vertex.submit` finds a job it already submitted by its identity labels, so a re-run
submits nothing twice.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scripts import escaping, git, submission
from scripts.errors import UserError
from scripts.experiments import InvalidExperiments
from scripts.github import environment
from scripts.github.api import GitHubClient
from scripts.github.comment_sections import Submitted, submitted_section
from scripts.github.compiling import StepContext, last_line
from scripts.github.events import ZERO_SHA, PushEvent
from scripts.github.follow_flow import follow
from scripts.github.permissions import environment_name, run_approved
from scripts.github.planning import changed, changes_summary
from scripts.github.runner import Step
from scripts.github.sticky_comment import publish
from scripts.paths import experiments_file

if TYPE_CHECKING:
    from scripts.experiments import CompiledExperiment
    from scripts.vertex.backend import Backend


def merged_pull_request(client: GitHubClient, commit: str) -> int | None:
    """The pull request that `commit` merged, from GitHub's list of pull requests with that commit."""
    pulls = client.get(client.repo_path(f"commits/{commit}/pulls"))
    for pull in pulls or []:
        if pull.get("merge_commit_sha") == commit and pull.get("merged_at"):
            return int(pull["number"])
    for pull in pulls or []:
        if pull.get("merged_at"):
            return int(pull["number"])
    return None


def compile_all(
    experiments: Sequence[str],
    context: StepContext,
    *,
    pull_request: int | None,
    overrides: Sequence[str] = (),
    file: Path | None = None,
) -> tuple[list[CompiledExperiment], list[Submitted]]:
    """(every experiment compiled, []) or ([], why each that failed could not be compiled).

    A `file` other than this checkout's (a pull request's) defines the study only: where and as
    whom the jobs run, and where trials read and write, is decided by this checkout's file, the
    default branch's, and the repository variables it reads (`scripts.github.trust`).
    """
    trusted = None
    try:
        if file is not None:
            trusted = context.load(experiments_file())
        # A pull request's file is named as its author knows it, not by its temporary copy.
        loaded = context.load(file, "experiments.yaml") if file else context.load(experiments_file())
    except UserError as error:
        _log_error(error)
        return [], [Submitted(experiment, error=last_line(error)) for experiment in experiments]
    compiled, failures = [], []
    for experiment in experiments:
        try:
            compiled.append(
                context.compile(
                    loaded, experiment, pull_request=pull_request, overrides=overrides, trusted=trusted
                )
            )
        except UserError as error:
            _log_error(error)
            failures.append(Submitted(experiment, error=last_line(error)))
    return ([], failures) if failures else (compiled, [])


def submit_all(
    experiments: Sequence[str],
    *,
    env: Mapping[str, str],
    backend: Backend,
    pull_request: int | None,
    overrides: Sequence[str] = (),
    file: Path | None = None,
    commit: str | None = None,
    force: bool = False,
) -> tuple[list[Submitted], bool]:
    """Compile every experiment, then submit each without waiting; (what was submitted, whether all were).

    `env` is the step's environment (the file's `${VAR}`, the budget, the approval). The jobs'
    labels carry the commit and repository (`$GITHUB_SHA`, `$GITHUB_REPOSITORY`) and the pull
    request they report to. `commit` names another commit for the labels (the pull request
    head `/hpt run` pinned); the image stays this checkout's. `force`: a new job even when one
    with the same identity exists.
    """
    compiled, failures = compile_for(
        experiments, env=env, pull_request=pull_request, overrides=overrides, file=file, commit=commit
    )
    if failures:
        return failures, False
    return submit_compiled(compiled, env=env, backend=backend, force=force)


def compile_for(
    experiments: Sequence[str],
    *,
    env: Mapping[str, str],
    pull_request: int | None,
    overrides: Sequence[str] = (),
    file: Path | None = None,
    commit: str | None = None,
    image_tag: str | None = None,
) -> tuple[list[CompiledExperiment], list[Submitted]]:
    """`compile_all` in this step's context: `commit` for the labels, `image_tag` for the trainer
    image (None: this checkout's, `$GITHUB_SHA`'s content tag)."""
    context = StepContext.resolve(environment.trusted(env))
    if commit is not None:
        context = dataclasses.replace(context, commit=commit)
    if image_tag is not None:
        context = dataclasses.replace(context, image_tag=image_tag)
    return compile_all(experiments, context, pull_request=pull_request, overrides=overrides, file=file)


def submit_compiled(
    compiled: Sequence[CompiledExperiment],
    *,
    env: Mapping[str, str],
    backend: Backend,
    force: bool | Collection[str] = False,
) -> tuple[list[Submitted], bool]:
    """Every job through the spending gate at once (a refusal submits none), then each submitted;
    `force`: True, or the names of the experiments that get a new job even when one with the same
    identity exists."""
    from scripts.vertex.service import JobService  # the Vertex client (grpc): only once jobs go out

    outcomes = submission.submit_all(
        JobService(backend),
        compiled,
        env=environment.trusted(env),
        force=force,
        approval=_environment_approval(env),
    )
    submitted = []
    for outcome in outcomes:
        if outcome.error is not None:
            _log_error(outcome.error)
            prefix = "" if outcome.refused else f"run {outcome.name}: "
            submitted.append(Submitted(outcome.name, error=prefix + last_line(outcome.error)))
            continue
        job = outcome.submission.job
        link = backend.console_url(job.name)  # an emulator's job has none
        _log(f"job {job.name}\n  {link or backend.describe()}")
        _log(f"follow it with: python -m scripts status {job.name}")
        submitted.append(
            Submitted(
                outcome.name,
                job.name,
                job.state.name,
                link or "",
                spec_hash=outcome.compiled.spec_hash,
                reused=outcome.submission.reused,
            )
        )
    return submitted, all(outcome.error is None for outcome in outcomes)


def _environment_approval(env: Mapping[str, str]) -> submission.Approval:
    """A workflow's way over a set cap: the run's approval in the spending environment
    (`scripts.github.permissions`), asked of GitHub only when some experiment is over it."""

    def granted() -> bool:
        approved, name = run_approved(env)
        if approved:
            _log(f"over the budget but approved in the {name!r} environment")
        return approved

    return submission.Approval(
        granted,
        f"a reviewer must approve this run in the `{environment_name(env)}` environment (docs/setup.md)",
    )


def _log(message: str) -> None:
    """Each line of `message` as a log line that starts no workflow command: this step holds the
    credentials, and a file's key or a service's message may hold `::stop-commands::`."""
    for line in message.split("\n"):
        print(escaping.log_line(line), file=sys.stderr, flush=True)


def _log_error(error: UserError) -> None:
    """The whole error in the run's log (every problem of an invalid file); the comment shows one line."""
    if isinstance(error, InvalidExperiments):
        for problem in error.problems:  # one line each, whatever a key holds
            _log(escaping.log_line(problem))
    else:
        _log(f"error: {error}")


def run(event: PushEvent, step: Step, client: GitHubClient, backend: Backend) -> int:
    base = event.before if event.before != ZERO_SHA else git.first_parent(event.after)
    changes = changed(base, event.after, environment.trusted(step.env))
    experiments = [change.experiment for change in changes if change.kind != "removed"]
    pull_request = merged_pull_request(client, event.after)
    print(f"push {event.after[:12]} (pull request #{pull_request}): {changes_summary(changes)}")
    if not experiments:
        step.append_summary(f"Nothing to submit: {changes_summary(changes)}.")
        return 0
    jobs, all_ok = submit_all(experiments, env=step.env, backend=backend, pull_request=pull_request)
    step.set_output("jobs", " ".join(job.job_name for job in jobs if job.job_name))
    publish(
        {"submitted": submitted_section(event.after, jobs)}, pull_request, step=step, client=lambda: client
    )
    follow(jobs, backend, lambda: client, step)
    return 0 if all_ok else 1
