"""A job's states in the store: PENDING to RUNNING, and how it ends, by the failed-trials rule.

Failed (INFEASIBLE) trials and `max_failed_trial_count`: N > 0 fails the job once N trials have
failed, as the API text says ("the number of failed Trials that need to be seen before failing").
With 0 Vertex "decides"; its rule is not published, so the emulator fails the job when its first
`DEFAULT_FAILED_TRIALS` trials (or all of them, if fewer) fail without one success, and a job
that ends with no successful trial ends FAILED.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, Trial
from google.rpc import code_pb2, status_pb2

from scripts.emulator.store import Store, now

logger = logging.getLogger("scripts.emulator")

DEFAULT_FAILED_TRIALS = 3


def start(store: Store, job: HyperparameterTuningJob) -> None:
    """A PENDING job is RUNNING from its first runner on; a resumed job keeps its start time."""
    if job.state == JobState.JOB_STATE_PENDING:
        job.state = JobState.JOB_STATE_RUNNING
        job.start_time = now()
        store.save_job(job)


def failure(job: HyperparameterTuningJob, trials: Sequence[Trial]) -> str | None:
    """Why the job fails now, by the failed-trials rule; None while it may go on."""
    states = [trial.state for trial in trials]
    failed = states.count(Trial.State.INFEASIBLE)
    succeeded = states.count(Trial.State.SUCCEEDED)
    if job.max_failed_trial_count > 0:
        if failed >= job.max_failed_trial_count:
            return (
                f"{failed} failed trials reached max_failed_trial_count {job.max_failed_trial_count}"
                f"{_last_reason(trials)}"
            )
        return None
    threshold = min(DEFAULT_FAILED_TRIALS, job.max_trial_count)
    if succeeded == 0 and failed >= threshold:
        return f"{failed} failed trials and none succeeded{_last_reason(trials)}"
    return None


def _last_reason(trials: Sequence[Trial]) -> str:
    reasons = [trial.infeasible_reason for trial in trials if trial.infeasible_reason]
    return f"; the last: {reasons[-1]}" if reasons else ""


def finish(store: Store, job: HyperparameterTuningJob, trials: Sequence[Trial]) -> None:
    """End a job whose trials have all ended: SUCCEEDED if one succeeded and the rule allows."""
    failed = failure(job, trials)
    if not failed and Trial.State.SUCCEEDED in [trial.state for trial in trials]:
        end(store, job, JobState.JOB_STATE_SUCCEEDED)
    else:
        reason = failed or f"no trial succeeded{_last_reason(trials)}"
        end(store, job, JobState.JOB_STATE_FAILED, code_pb2.FAILED_PRECONDITION, reason)


def end(
    store: Store, job: HyperparameterTuningJob, state: JobState, code: int = 0, message: str = ""
) -> None:
    job.state = state
    job.end_time = now()
    if code:
        job.error = status_pb2.Status(code=code, message=message)
    store.save_job(job)
    logger.info("job %s: %s%s", job.name, state.name, f" ({message})" if message else "")
