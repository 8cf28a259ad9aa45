"""Follow tuning jobs to their end: the one poll loop, with a growing interval; get and cancel.

`poll` is the only loop that polls jobs: `follow` (one job, a live progress display: `run
--wait`, `status --wait`) and the workflows' follow-and-report window both use it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scripts.errors import ExitStatus
from scripts.jobs import states
from scripts.jobs.names import project_of
from scripts.vertex.calls import CALL_TIMEOUT, RetryPolicy, explained_call
from scripts.vertex.progress import ProgressDisplay

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
    client: JobServiceClient, name: str, policy: RetryPolicy | None = None, *, emulator: str | None = None
) -> HyperparameterTuningJob:
    """The job with its trials. `emulator`: the address `client` talks to, for the error's hint."""
    read = client.get_hyperparameter_tuning_job
    return _job_call("GetHyperparameterTuningJob", read, f"reading job {name}", name, policy, emulator)


def cancel_job(
    client: JobServiceClient, name: str, policy: RetryPolicy | None = None, *, emulator: str | None = None
) -> None:
    """Ask the service to cancel; the job goes CANCELLING, then CANCELLED."""
    cancel = client.cancel_hyperparameter_tuning_job
    _job_call("CancelHyperparameterTuningJob", cancel, f"cancelling job {name}", name, policy, emulator)


def _job_call(
    rpc: str,
    method: Callable[..., Any],
    action: str,
    name: str,
    policy: RetryPolicy | None,
    emulator: str | None,
) -> Any:
    """One JobService call on the job `name`, retried by `policy` and explained when it fails."""
    return explained_call(
        rpc,
        lambda: method(name=name, retry=None, timeout=CALL_TIMEOUT),
        action=action,
        project=project_of(name),
        emulator=emulator,
        policy=policy,
    )


def poll(
    read: Callable[[str], HyperparameterTuningJob],
    names: Sequence[str],
    *,
    schedule: PollSchedule | None = None,
    on_read: Callable[[HyperparameterTuningJob], None] = lambda job: None,
    on_ended: Callable[[list[HyperparameterTuningJob]], None] = lambda jobs: None,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, HyperparameterTuningJob], list[str]]:
    """Read each job until it has ended, or until `deadline` (a `clock()` time) has passed.

    `on_read` sees every job read; `on_ended` the jobs that ended in each round, once each. The
    wait starts over from the schedule's first interval whenever a job changed. Returns the
    ended jobs by name, and the names still running at the deadline.
    """
    schedule = schedule or PollSchedule()
    pending = list(dict.fromkeys(names))
    ended: dict[str, HyperparameterTuningJob] = {}
    previous: dict[str, bytes] = {}
    while pending:
        changed, now_ended = False, []
        for name in list(pending):
            job = read(name)
            on_read(job)
            fingerprint = type(job).serialize(job)
            changed |= fingerprint != previous.get(name)
            previous[name] = fingerprint
            if is_terminal(job):
                pending.remove(name)
                ended[name] = job
                now_ended.append(job)
        if now_ended:
            on_ended(now_ended)
        if not pending:
            break
        wait = schedule.next(changed)
        if deadline is not None:
            left = deadline - clock()
            if left <= 0:
                break
            wait = min(wait, left)
        sleep(wait)
    return ended, pending


def follow(
    client: JobServiceClient,
    name: str,
    *,
    schedule: PollSchedule | None = None,
    policy: RetryPolicy | None = None,
    display: ProgressDisplay | None = None,
    sleep: Callable[[float], None] = time.sleep,
    emulator: str | None = None,
) -> HyperparameterTuningJob:
    """Poll the job until it ends, showing progress; returns the final job with its trials.

    Retries and log warnings are the display's notes meanwhile: above a live table, not through it."""
    display = display or ProgressDisplay()
    policy = dataclasses.replace(policy or RetryPolicy(), notify=display.note)
    with display.capturing_logs():
        try:
            ended, _ = poll(
                lambda each: get_job(client, each, policy, emulator=emulator),
                [name],
                schedule=schedule,
                on_read=display.update,
                sleep=sleep,
            )
            return ended[name]
        finally:
            display.close()
