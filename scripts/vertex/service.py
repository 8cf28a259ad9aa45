"""The JobService as commands and workflows use it: one object that holds its backend.

    service = JobService(wiring.backend)            # the backend the CLI built once
    submission = service.submit(compiled)              # exactly once (reused when it exists)
    job = service.follow(submission.job.name)          # to its end, with the live table
    jobs = service.list_jobs(parent, "exp", states)    # newest first, filtered by the server
    ended, running = service.poll(names, minutes=...)  # several jobs, for a window: the workflows

Everything that depends on which backend it is (the emulator's address in an error's hint,
whether images are pinned by digest, one client per location) is answered here from the
backend, never rediscovered from a client object.

`poll` is the only loop that polls jobs, with a growing interval (`PollSchedule`): `follow` (one
job, a live progress display: `run --wait`, `status --wait`) and the workflows' follow-and-report
window (`JobService.poll`) both use it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scripts.errors import ExitStatus
from scripts.jobs import labels, states
from scripts.jobs.names import parse_job_name, project_of
from scripts.vertex import submit as submitting
from scripts.vertex.backend import Backend
from scripts.vertex.calls import CALL_TIMEOUT, RetryPolicy, explained_call
from scripts.vertex.progress import ProgressDisplay

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobServiceClient

    from scripts.experiments import CompiledExperiment


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
        return get_job(self.client_for(name), name, emulator=self.backend.emulator)

    def cancel(self, name: str) -> None:
        cancel_job(self.client_for(name), name, emulator=self.backend.emulator)

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
        schedule: PollSchedule | None = None,
        display: ProgressDisplay | None = None,
    ) -> HyperparameterTuningJob:
        """One job to its end, with the live trial table (or `display`)."""
        return follow(
            self.client_for(name), name, schedule=schedule, display=display, emulator=self.backend.emulator
        )

    def poll(
        self,
        names: Sequence[str],
        *,
        minutes: float,
        schedule: PollSchedule | None = None,
        on_ended: Callable[[list[HyperparameterTuningJob]], None] = lambda jobs: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> tuple[dict[str, HyperparameterTuningJob], list[str]]:
        """Several jobs for at most `minutes`: those that ended, and the names still running."""
        return poll(
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
