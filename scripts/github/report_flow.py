"""Ended jobs → best-trial summaries on their pull requests, each posted exactly once.

The jobs are found by the labels `submit` put on them (this repository, and the pull request they
report to). Whether a result is already posted is read off the sticky comment itself (a section
per job), so running the reporter twice, or two reporters in turn, changes nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from scripts import escaping
from scripts.errors import UserError
from scripts.experiments import load
from scripts.github import environment
from scripts.github.api import GitHubClient
from scripts.github.runner import Step
from scripts.github.sticky_comment import DEFAULT_KEY, find_comment, sections, update_ours
from scripts.github.tuning_jobs import RESULTS_DIR_VARIABLE, EndedJob, TuningJobs
from scripts.github.verdicts import Verdict, Verdicts
from scripts.paths import EXPERIMENTS_FILE

if TYPE_CHECKING:
    from scripts.vertex.backend import Backend


class Render(Protocol):
    """The Markdown of one ended job's result, with a verdict section when given; raises UserError
    when the job cannot be read."""

    def __call__(self, job: EndedJob, verdict: str = "", /) -> str: ...


def report(
    jobs: Iterable[EndedJob],
    client: GitHubClient,
    render: Render,
    step: Step,
    *,
    include_unlinked: bool = False,
    verdicts: Verdicts | None = None,
) -> dict[str, int]:
    """Post the result of every job not yet on its pull request; counts of what happened.

    With `verdicts`, each pull-request job's result says how it compares with its base branch, and
    its check run is completed before the result is posted: a posted result means a finished check.
    A proposal whose baseline is still running waits for it (`verdicts.waiting`; the next run, or
    the follow when that job ends, posts it).

    Jobs without a pull request (started by dispatch) go to the job summary when
    `include_unlinked`: a scheduled run would otherwise render every one of them each time. One
    job or pull request that fails (a deleted pull request, a job that cannot be read) is
    counted and warned about, and the others are still posted; the next run retries it.
    """
    by_pull: dict[int, list[EndedJob]] = defaultdict(list)
    counts = {
        "posted": 0,
        "already posted": 0,
        "waiting for a baseline": 0,
        "waiting for confirmations": 0,
        "without pull request": 0,
        "failed": 0,
    }
    if verdicts is not None:
        verdicts.waiting.clear()
    for job in jobs:
        if job.pull_request is None:
            counts["without pull request"] += 1
            if include_unlinked:
                try:
                    step.append_summary(render(job))
                except UserError as error:
                    counts["failed"] += 1
                    step.warning(str(error))
        else:
            by_pull[job.pull_request].append(job)
    for pull_request, pull_jobs in sorted(by_pull.items()):
        try:
            posted = _post(client, pull_request, pull_jobs, render, verdicts)
        except UserError as error:
            counts["failed"] += len(pull_jobs)
            step.warning(f"pull request #{pull_request}: {error}")
            continue
        waits = [job for job in pull_jobs if verdicts and job in verdicts.waiting]
        waiting = len(waits)
        counts["posted"] += posted
        counts["waiting for confirmations"] += sum(1 for job in waits if job.verdict_of)
        counts["waiting for a baseline"] += sum(1 for job in waits if not job.verdict_of)
        counts["already posted"] += len(pull_jobs) - posted - waiting
    return counts


def _post(
    client: GitHubClient, pull_request: int, jobs: list[EndedJob], render: Render, verdicts: Verdicts | None
) -> int:
    """Add the sections of the jobs not yet in the pull request's comment; how many were added."""
    comment = find_comment(client, pull_request, DEFAULT_KEY)
    posted = sections(comment.body) if comment else {}
    new = {}
    for job in jobs:
        if job.section in posted or job.section in new:
            continue
        if job.verdict_of:
            if verdicts is not None:
                confirmed = verdicts.confirmed(job)
                if confirmed is None:  # another confirmation job still runs
                    verdicts.waiting.append(job)
                    continue
                new[job.section] = confirmed_section(confirmed)
                verdicts.finish_check(confirmed, rewrite=True)
            continue
        if verdicts is None:
            new[job.section] = render(job)
            continue
        running = verdicts.baseline_running(job)
        if running:
            verdicts.waiting.append(job)
            verdicts.start_check(verdicts.full_job(job))  # in progress meanwhile
            print(escaping.log_line(f"{job.name}: waiting for {running}, its baseline, to end"))
            continue
        verdict = verdicts.judge(job)
        new[job.section] = render(job, verdict.markdown())
        verdicts.finish_check(verdict)
    if new:
        action, written = update_ours(client, pull_request, new)
        print(f"{action} comment on pull request #{pull_request} with {len(new)} result(s): {written.url}")
    return len(new)


def confirmed_section(verdict: Verdict) -> str:
    """The pull request job's verdict again, from its confirmation jobs (`/hpt run --confirm`)."""
    return "\n".join(
        [
            f"### Confirmed: {escaping.code(verdict.experiment)} job {escaping.code(verdict.job_id)}",
            "",
            "Each side's best configuration was trained again by both trainers with the same seeds "
            "(confirmation jobs, docs/compare.md); this verdict replaces the one under the job's result.",
            "",
            verdict.markdown(),
        ]
    )


def locations(project: str | None, region: str | None, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Where to look for jobs: the project and region given, else every one experiments.yaml uses
    (read with the step's environment `env`)."""
    if project and region:
        return [(project, region)]
    experiments = load(EXPERIMENTS_FILE, environment.trusted(env)).experiments.values()
    found = {
        (e.settings.project, e.settings.region)
        for e in experiments
        if e.settings.project and e.settings.region
    }
    if not found:
        raise UserError(
            "report needs --project and --region (or GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_REGION)"
        )
    return sorted(found)


def run(
    project: str | None,
    region: str | None,
    step: Step,
    client: GitHubClient,
    backend: Backend,
    *,
    include_unlinked: bool = False,
    max_age_days: float = 0,
) -> int:
    tuning_jobs = TuningJobs(backend, step.env.get(RESULTS_DIR_VARIABLE, ""))
    jobs = tuning_jobs.ended(locations(project, region, step.env), client.repository, max_age_days)
    verdicts = Verdicts(client, tuning_jobs, step)
    for running in tuning_jobs.running:  # their checks in progress, when the submitting job did not
        try:
            verdicts.start_check(running)
        except UserError as error:
            step.warning(f"{running.name}: {error}")
    counts = report(
        jobs, client, tuning_jobs.markdown, step, include_unlinked=include_unlinked, verdicts=verdicts
    )
    line = ", ".join(f"{count} {what}" for what, count in counts.items())
    print(f"ended jobs of {client.repository}: {line}")
    step.set_output("posted", str(counts["posted"]))
    step.set_output("results", tuning_jobs.results_output())
    return 1 if counts["failed"] else 0


def link_files(client: GitHubClient, results: str, artifact_url: str, run_id: str = "") -> int:
    """Link the uploaded artifact (summary.json, pictures...) from each result's pull request comment.

    `results` is the reporting step's output (`PR:JOB_ID ...`), `artifact_url` the upload step's
    (actions/upload-artifact's `artifact-url`, https://github.com/actions/upload-artifact#outputs).
    """
    if not re.fullmatch(r"https://[^\s()<>\[\]]+", artifact_url):
        raise UserError(f"not an artifact URL: {artifact_url!r}")
    by_pull: dict[int, list[str]] = defaultdict(list)
    for item in results.split():
        pull, _, job = item.partition(":")
        if pull.isdigit() and re.fullmatch(r"[A-Za-z0-9_.-]+", job):
            by_pull[int(pull)].append(job)
    for pull_request, jobs in sorted(by_pull.items()):
        updates = {
            f"files:{job}": (
                f"Files of result {escaping.code(job)} (`summary.json`, `best_params.json`, pictures of the "
                "study: `history`, `parallel-coordinates`, `curves`, `slices` as PNG and SVG): "
                f"[workflow artifact]({artifact_url})" + (f" of run {run_id}" if run_id else "")
            )
            for job in jobs
        }
        update_ours(client, pull_request, updates)
        print(f"linked the result files from pull request #{pull_request}: {', '.join(jobs)}")
    return 0
