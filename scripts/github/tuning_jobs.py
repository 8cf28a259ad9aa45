"""The reporter's side of the JobService: this repository's ended jobs, and the Markdown of each.

One client per location. The jobs are listed by the labels `submit` put on them; a job's result
is rendered from the job as listed when the listing carries its trials (the emulator's does),
else from one read of the job (Vertex AI's List leaves `trials` out).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.github.compiling import last_line
from scripts.jobs import labels, states
from scripts.jobs.names import job_id
from scripts.results.confirmation import VERDICT_OF_LABEL
from scripts.results.files import write_summary
from scripts.results.markdown import render_markdown

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.vertex.backend import Backend


@dataclass(frozen=True)
class EndedJob:
    name: str
    experiment: str
    pull_request: int | None
    listed: HyperparameterTuningJob | None = None  # the job as List returned it

    @classmethod
    def of(cls, job: HyperparameterTuningJob) -> EndedJob:
        """The job as its labels name it: its experiment (else its display name) and pull request."""
        pull = job.labels.get(labels.PULL_REQUEST, "")
        experiment = job.labels.get(labels.EXPERIMENT, job.display_name)
        return cls(job.name, experiment, int(pull) if pull.isdigit() else None, job)

    @property
    def verdict_of(self) -> str:
        """For a confirmation job submitted by `/hpt run --confirm`, the id of the pull request's
        job it confirms (its result is that job's verdict again); "" for any other job."""
        return self.listed.labels.get(VERDICT_OF_LABEL, "") if self.listed is not None else ""

    @property
    def section(self) -> str:
        """The comment section that holds the result: a confirmation job's is its job's verdict."""
        return f"confirmed:{self.verdict_of}" if self.verdict_of else f"result:{job_id(self.name)}"


# Where a step writes each rendered job's summary.json, best_params.json and pictures (`<dir>/<job id>/`), for
# the workflow to upload as an artifact and link from the comment; unset: no files.
RESULTS_DIR_VARIABLE = "HPT_RESULTS_DIR"


class TuningJobs:
    """The backend's jobs, through one JobService client per location."""

    def __init__(self, backend: Backend, results_dir: str = ""):
        """`results_dir`: `$HPT_RESULTS_DIR`, where each rendered job's files go (empty: none)."""
        # Here, not at the top: 0.2 s of client code that a module importing this one for `EndedJob`
        # alone (`verdicts`, and through it the `/hpt` command's first job) never needs.
        from scripts.vertex.service import JobService

        self.backend = backend
        self.service = JobService(backend)
        self.results_dir = results_dir
        self.files_written: list[EndedJob] = []  # the jobs whose files are under results_dir
        self.running: list[HyperparameterTuningJob] = []  # what the last `ended` listed still running
        self._full: dict[str, HyperparameterTuningJob] = {}

    def ended(
        self, locations: Iterable[tuple[str, str]], repository: str, max_age_days: float = 0
    ) -> list[EndedJob]:
        """This repository's jobs in each (project, region) that have ended (in the last `max_age_days`).

        The age limit keeps a scheduled run from reading the comments of every pull request that
        ever had a job; 0 means no limit. The jobs still running are kept in `running`.
        """
        now = datetime.datetime.now(datetime.UTC)
        oldest = now - datetime.timedelta(days=max_age_days) if max_age_days > 0 else None
        found, self.running = [], []
        for job in self.listed(locations, labels.repository_filter(repository)):
            if not states.is_terminal(job.state.name):
                self.running.append(job)
                continue
            ended = job.end_time or job.update_time
            if oldest is not None and ended and ended.timestamp() < oldest.timestamp():
                continue
            found.append(EndedJob.of(job))
        return found

    def listed(self, locations: Iterable[tuple[str, str]], query: str) -> Iterator[HyperparameterTuningJob]:
        """The jobs in each (project, region) that the `ListHyperparameterTuningJobs` filter `query` finds."""
        from google.cloud.aiplatform_v1 import ListHyperparameterTuningJobsRequest  # 1 s, for listing only

        for project, region in locations:
            request = ListHyperparameterTuningJobsRequest(
                parent=f"projects/{project}/locations/{region}", filter=query
            )
            yield from self.service.client(region).list_hyperparameter_tuning_jobs(request=request)

    def job(self, ended: EndedJob) -> HyperparameterTuningJob:
        """The ended job with its trials: as listed when the listing has them, else read once."""
        job = ended.listed
        if job is None or not job.trials:
            if ended.name not in self._full:
                self._full[ended.name] = self.service.get(ended.name)
            job = self._full[ended.name]
        return job

    def markdown(self, ended: EndedJob, verdict: str = "") -> str:
        """The job's result, as `python -m scripts report NAME` prints it, with the `verdict`
        section (Markdown) under its best trial; raises `UserError`."""
        try:
            job = self.job(ended)
            markdown = render_markdown(
                job,
                backend=self.backend.where(job),
                run_dir=self.backend.linked_run_dir(job.name),
                verdict=verdict,
            )
            self._write_files(ended, job)
            return markdown
        except UserError as error:
            raise UserError(f"report {ended.name}: {last_line(error)}") from None

    def _write_files(self, ended: EndedJob, job: HyperparameterTuningJob) -> None:
        """The job's result files (no summary.md) under `$HPT_RESULTS_DIR/<job id>/`, when it is set."""
        if not self.results_dir:
            return
        target = Path(self.results_dir) / job_id(ended.name)
        for path in write_summary(job, target, backend=self.backend.where(job)):
            if path.name == "summary.md":
                path.unlink()  # the comment has it
        self.files_written.append(ended)

    def results_output(self) -> str:
        """`PR:JOB_ID ...` for the jobs whose files were written: the step output `results`."""
        return " ".join(
            f"{ended.pull_request}:{job_id(ended.name)}" for ended in self.files_written if ended.pull_request
        )
