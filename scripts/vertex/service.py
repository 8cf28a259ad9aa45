"""The JobService as commands and workflows use it: one object that holds its backend.

    service = JobService(wiring.backend)            # the backend the CLI built once
    submission = service.submit(compiled)              # exactly once (reused when it exists)
    job = service.follow(submission.job.name)          # to its end, with the live table
    jobs = service.list_jobs(parent, "exp", states)    # newest first, filtered by the server
    ended, running = service.poll(names, deadline=...) # several jobs, for a window: the workflows

Everything that depends on which backend it is (the emulator's address in an error's hint,
whether images are pinned by digest, one client per location) is answered here from the
backend, never rediscovered from a client object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from scripts.jobs import labels
from scripts.jobs.names import parse_job_name
from scripts.vertex import follow as following
from scripts.vertex import submit as submitting
from scripts.vertex.backend import Backend
from scripts.vertex.calls import CALL_TIMEOUT, explained_call

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobServiceClient

    from scripts.experiments import CompiledExperiment
    from scripts.vertex.progress import ProgressDisplay

# Jobs asked for per ListHyperparameterTuningJobs page (the client fetches the pages one by one).
PAGE_SIZE = 100


class JobService:
    """Submit, get, cancel, list and follow tuning jobs on one backend, with one client per location."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._clients: dict[str, JobServiceClient] = {}

    def client(self, location: str) -> JobServiceClient:
        if location not in self._clients:
            self._clients[location] = self.backend.job_service_client(location)
        return self._clients[location]

    def client_for(self, job_name: str) -> JobServiceClient:
        parsed = parse_job_name(job_name)
        return self.client(parsed.location if parsed else "")

    def submit(self, compiled: CompiledExperiment, force: bool = False, **options) -> submitting.Submission:
        """The job for `compiled`: the one already submitted (unless `force`), or a new one."""
        return submitting.submit_job(
            self.client(compiled.location),
            compiled,
            force,
            emulator=self.backend.emulator,
            registry_url=self.backend.registry_url,
            **options,
        )

    def get(self, name: str) -> HyperparameterTuningJob:
        return following.get_job(self.client_for(name), name, emulator=self.backend.emulator)

    def cancel(self, name: str) -> None:
        following.cancel_job(self.client_for(name), name, emulator=self.backend.emulator)

    def list_jobs(
        self, parent: str, experiment: str | None = None, state_names: Sequence[str] = ()
    ) -> list[HyperparameterTuningJob]:
        """The jobs under `parent` of `experiment` (its label) in any of `state_names` (none: every
        job), newest first (create time, then name). The server filters (`labels.jobs_filter`)."""
        # The Vertex AI types (about a second): only once jobs are listed, not on importing the service.
        from google.cloud.aiplatform_v1 import ListHyperparameterTuningJobsRequest

        location = parent.rsplit("/", 1)[-1]
        client = self.client(location if location != "-" else "us-central1")
        request = ListHyperparameterTuningJobsRequest(
            parent=parent, filter=labels.jobs_filter(experiment, state_names), page_size=PAGE_SIZE
        )
        jobs = explained_call(
            "ListHyperparameterTuningJobs",
            lambda: list(
                client.list_hyperparameter_tuning_jobs(request=request, retry=None, timeout=CALL_TIMEOUT)
            ),
            action=f"listing the jobs of {parent}",
            project=parent.split("/")[1],
            emulator=self.backend.emulator,
        )
        return sorted(jobs, key=lambda job: (_created(job), job.name), reverse=True)

    def experiment_jobs(
        self, job: HyperparameterTuningJob, state_names: Sequence[str]
    ) -> list[HyperparameterTuningJob]:
        """The jobs of `job`'s experiment in its project and region in any of `state_names`, newest
        first (`job` among them when its state is one): what a baseline or a confirmation is chosen
        from. Empty when `job` has no experiment label, or a name of another shape."""
        experiment = job.labels.get(labels.EXPERIMENT)
        parsed = parse_job_name(job.name)
        if not experiment or parsed is None:
            return []
        return self.list_jobs(parsed.parent, experiment, state_names)

    def follow(
        self,
        name: str,
        *,
        schedule: following.PollSchedule | None = None,
        display: ProgressDisplay | None = None,
    ) -> HyperparameterTuningJob:
        """One job to its end, with the live trial table (or `display`)."""
        return following.follow(
            self.client_for(name), name, schedule=schedule, display=display, emulator=self.backend.emulator
        )

    def poll(
        self,
        names: Sequence[str],
        *,
        minutes: float,
        schedule: following.PollSchedule | None = None,
        on_ended: Callable[[list[HyperparameterTuningJob]], None] = lambda jobs: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> tuple[dict[str, HyperparameterTuningJob], list[str]]:
        """Several jobs for at most `minutes`: those that ended, and the names still running."""
        return following.poll(
            self.get,
            names,
            schedule=schedule,
            on_ended=on_ended,
            deadline=clock() + minutes * 60,
            sleep=sleep,
            clock=clock,
        )


def _created(job: HyperparameterTuningJob) -> float:
    return job.create_time.timestamp() if "create_time" in job else 0.0
