"""Follow a tuning job to its end: poll with a growing interval, show progress, cancel cleanly."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.errors import ExitStatus
from scripts.jobs import states
from scripts.jobs.names import project_of
from scripts.vertex.client import emulator_address
from scripts.vertex.errors import explain
from scripts.vertex.progress import ProgressDisplay
from scripts.vertex.retry import API_ERRORS, CALL_TIMEOUT, RetryPolicy

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobServiceClient


@dataclass
class PollSchedule:
    """Seconds between polls: from `initial`, times `growth` after each poll, at most `maximum`.

    A poll that sees a change starts over from `initial`, so a busy job is watched closely and a
    quiet one (hours of training on Vertex) costs few calls.
    """

    initial: float = 5.0
    growth: float = 1.5
    maximum: float = 60.0

    def __post_init__(self) -> None:
        self._next = self.initial

    def next(self, changed: bool) -> float:
        if changed:
            self._next = self.initial
        wait = self._next
        self._next = min(self.maximum, self._next * self.growth)
        return wait


def is_terminal(job: HyperparameterTuningJob) -> bool:
    return states.is_terminal(job.state.name)


def exit_status(job: HyperparameterTuningJob) -> ExitStatus:
    """OK for SUCCEEDED, CANCELLED for CANCELLED, FAILED for any other end (FAILED, EXPIRED...)."""
    return states.exit_status(job.state.name)


def get_job(
    client: JobServiceClient, name: str, policy: RetryPolicy | None = None
) -> HyperparameterTuningJob:
    policy = policy or RetryPolicy()
    try:
        return policy.call(
            lambda: client.get_hyperparameter_tuning_job(name=name, retry=None, timeout=CALL_TIMEOUT),
            method="GetHyperparameterTuningJob",
        )
    except API_ERRORS as error:
        raise explain(
            error, action=f"reading job {name}", project=project_of(name), emulator=emulator_address(client)
        ) from None


def cancel_job(client: JobServiceClient, name: str, policy: RetryPolicy | None = None) -> None:
    """Ask the service to cancel; the job goes CANCELLING, then CANCELLED."""
    policy = policy or RetryPolicy()
    try:
        policy.call(
            lambda: client.cancel_hyperparameter_tuning_job(name=name, retry=None, timeout=CALL_TIMEOUT),
            method="CancelHyperparameterTuningJob",
        )
    except API_ERRORS as error:
        raise explain(
            error,
            action=f"cancelling job {name}",
            project=project_of(name),
            emulator=emulator_address(client),
        ) from None


def follow(
    client: JobServiceClient,
    name: str,
    *,
    schedule: PollSchedule | None = None,
    policy: RetryPolicy | None = None,
    display: ProgressDisplay | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HyperparameterTuningJob:
    """Poll the job until it ends, showing progress; returns the final job with its trials.

    Retries and log warnings are the display's notes meanwhile: above a live table, not through it."""
    schedule = schedule or PollSchedule()
    display = display or ProgressDisplay()
    policy = dataclasses.replace(policy or RetryPolicy(), notify=display.note)
    previous = None
    with display.capturing_logs():
        try:
            while True:
                job = get_job(client, name, policy)
                display.update(job)
                if is_terminal(job):
                    return job
                fingerprint = type(job).serialize(job)
                changed = fingerprint != previous
                previous = fingerprint
                sleep(schedule.next(changed))
        finally:
            display.close()
