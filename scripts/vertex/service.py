"""The JobService as commands and workflows use it: one object that holds its backend.

    service = JobService(wiring.backend)            # the backend the CLI built once
    submission = service.submit(compiled)              # exactly once (reused when it exists)
    job = service.follow(submission.job.name)          # to its end, with the live table
    ended, running = service.poll(names, deadline=...) # several jobs, for a window: the workflows

Everything that depends on which backend it is (the emulator's address in an error's hint,
whether images are pinned by digest, one client per location) is answered here from the
backend, never rediscovered from a client object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from scripts.jobs.names import parse_job_name
from scripts.vertex import follow as following
from scripts.vertex import submit as submitting
from scripts.vertex.backend import Backend

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobServiceClient

    from scripts.experiments import CompiledExperiment
    from scripts.vertex.progress import ProgressDisplay


class JobService:
    """Submit, get, cancel and follow tuning jobs on one backend, with one client per location."""

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
