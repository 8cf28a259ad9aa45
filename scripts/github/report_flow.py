"""Ended jobs → best-trial summaries on their pull requests, each posted exactly once.

The jobs are found by the labels `run` put on them (this repository, and the pull request they
report to). Whether a result is already posted is read off the sticky comment itself (a section
per job), so running the reporter twice, or two reporters in turn, changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from scripts.errors import UserError
from scripts.github import bodies, ours, runner
from scripts.github.api import GitHubClient
from scripts.github.comments import find_comment, sections, update_sections
from scripts.jobs import labels, states
from scripts.jobs.names import job_id


@dataclass(frozen=True)
class EndedJob:
    name: str
    experiment: str
    pull_request: int | None

    @property
    def section(self) -> str:
        return f"result:{job_id(self.name)}"


def ended_jobs(project: str, region: str, repository: str, max_age_days: float = 0) -> list[EndedJob]:
    """This repository's tuning jobs in `project`/`region` that have ended (in the last `max_age_days`).

    The age limit keeps a scheduled run from reading the comments of every pull request that
    ever had a job; 0 means no limit.
    """
    import datetime

    from google.cloud.aiplatform_v1 import ListHyperparameterTuningJobsRequest

    from scripts.vertex.backend import Backend

    client = Backend.from_environment().job_service_client(region)
    request = ListHyperparameterTuningJobsRequest(
        parent=f"projects/{project}/locations/{region}", filter=labels.repository_filter(repository)
    )
    now = datetime.datetime.now(datetime.UTC)
    oldest = now - datetime.timedelta(days=max_age_days) if max_age_days > 0 else None
    found = []
    for job in client.list_hyperparameter_tuning_jobs(request=request):
        if not states.is_terminal(job.state.name):
            continue
        ended = job.end_time or job.update_time
        if oldest is not None and ended and ended.timestamp() < oldest.timestamp():
            continue
        pull = job.labels.get(labels.PULL_REQUEST, "")
        found.append(
            EndedJob(
                job.name,
                job.labels.get(labels.EXPERIMENT, job.display_name),
                int(pull) if pull.isdigit() else None,
            )
        )
    return found


def report(
    jobs: Iterable[EndedJob], client: GitHubClient, *, include_unlinked: bool = False
) -> dict[str, int]:
    """Post the result of every job not yet on its pull request; counts of what happened.

    Jobs without a pull request (started by dispatch) go to the job summary when
    `include_unlinked`: a scheduled run would otherwise render every one of them each time. One
    job or pull request that fails (a deleted pull request, a job that cannot be read) is
    counted and warned about, and the others are still posted; the next run retries it.
    """
    by_pull: dict[int, list[EndedJob]] = defaultdict(list)
    counts = {"posted": 0, "already posted": 0, "without pull request": 0, "failed": 0}
    for job in jobs:
        if job.pull_request is None:
            counts["without pull request"] += 1
            if include_unlinked:
                try:
                    runner.append_summary(ours.report_markdown(job.name))
                except UserError as error:
                    counts["failed"] += 1
                    runner.warning(str(error))
        else:
            by_pull[job.pull_request].append(job)
    for pull_request, pull_jobs in sorted(by_pull.items()):
        try:
            posted = _post(client, pull_request, pull_jobs)
        except UserError as error:
            counts["failed"] += len(pull_jobs)
            runner.warning(f"pull request #{pull_request}: {error}")
            continue
        counts["posted"] += posted
        counts["already posted"] += len(pull_jobs) - posted
    return counts


def _post(client: GitHubClient, pull_request: int, jobs: list[EndedJob]) -> int:
    """Add the sections of the jobs not yet in the pull request's comment; how many were added."""
    comment = find_comment(client, pull_request, "experiments")
    posted = sections(comment.body) if comment else {}
    new = {job.section: ours.report_markdown(job.name) for job in jobs if job.section not in posted}
    if new:
        action, written = update_sections(
            client, pull_request, new, title=bodies.header(), order=bodies.SECTION_ORDER
        )
        print(f"{action} comment on pull request #{pull_request} with {len(new)} result(s): {written.url}")
    return len(new)


def locations(project: str | None, region: str | None) -> list[tuple[str, str]]:
    """Where to look for jobs: the project and region given, else every one experiments.yaml uses."""
    if project and region:
        return [(project, region)]
    from scripts.experiments.loader import load
    from scripts.paths import EXPERIMENTS_FILE

    experiments = load(EXPERIMENTS_FILE).experiments.values()
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
    client: GitHubClient,
    *,
    include_unlinked: bool = False,
    max_age_days: float = 0,
) -> int:
    jobs = [
        job
        for where in locations(project, region)
        for job in ended_jobs(*where, client.repository, max_age_days)
    ]
    counts = report(jobs, client, include_unlinked=include_unlinked)
    line = ", ".join(f"{count} {what}" for what, count in counts.items())
    print(f"ended jobs of {client.repository}: {line}")
    runner.set_output("posted", str(counts["posted"]))
    return 1 if counts["failed"] else 0
