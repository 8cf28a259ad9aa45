"""Results in minutes: the submitting job follows the jobs it submitted and posts their results.

A job that ends within `$HPT_FOLLOW_MINUTES` (default 0: do not follow) of its submission gets
its best trial posted by the same workflow job, seconds after it ends, instead of waiting for
the scheduled reporter (which stays the fallback for longer jobs; `report` can be dispatched by
hand). The window must fit in the job's `timeout-minutes`. The result is posted through the
reporter's own code, so the reporter later finds it there and posts nothing twice. A pull
request's job gets its check run `hpt / NAME` in progress when following starts, completed with
the verdict when its result is posted (`scripts.github.verdicts`).

The winner is handed on: the first followed job that ended with a best trial sets the submitting
step's outputs, which the next step of a workflow (retrain, register, deploy) takes as they are,
without reading the comment:

- `best-job`: the job's resource name;
- `best-value`: the best trial's value of the metric;
- `best-flags`: its parameters as the trainer flags a trial gets (`--learning_rate=0.01
  --momentum=0.9`), quoted for a shell where a value needs it;
- `best-model-dir`: where that trial saved its model (its `AIP_MODEL_DIR`);
- `best-parameters`: the parameters as one line of JSON.

They are read from the `best_params.json` the result's files hold (`$HPT_RESULTS_DIR/<job id>/`,
written when the result was posted), so the outputs, the artifact and the comment say the same.
A job that did not end while it was followed, or ended without a best trial, hands nothing on.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.errors import UserError
from scripts.github.report_flow import report
from scripts.github.runner import Step
from scripts.github.tuning_jobs import RESULTS_DIR_VARIABLE, EndedJob, TuningJobs
from scripts.github.verdicts import Verdicts
from scripts.jobs import labels, states
from scripts.jobs.names import job_id
from scripts.vertex.service import PollSchedule

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.github.api import GitHubClient
    from scripts.github.comment_sections import Submitted
    from scripts.vertex.backend import Backend

FOLLOW_VARIABLE = "HPT_FOLLOW_MINUTES"
# Polls start quick (short jobs) and settle at this interval (growing while nothing changes): a
# result is posted at most this long after its job ends.
FIRST_INTERVAL, MAX_INTERVAL = 5.0, 30.0
# The first interval instead, in seconds (at least MIN_FIRST_INTERVAL): for jobs that end within
# seconds, such as the emulator's in the tests. The workflows leave it unset.
FIRST_INTERVAL_VARIABLE = "HPT_FOLLOW_FIRST_POLL_SECONDS"
MIN_FIRST_INTERVAL = 0.1


def follow_minutes(env: Mapping[str, str]) -> float:
    text = (env.get(FOLLOW_VARIABLE) or "").strip()
    try:
        return max(0.0, float(text)) if text else 0.0
    except ValueError:
        raise UserError(f"{FOLLOW_VARIABLE}={text!r} is not a number of minutes") from None


def first_interval(env: Mapping[str, str]) -> float:
    """Seconds from the first poll to the second: `$HPT_FOLLOW_FIRST_POLL_SECONDS`, else FIRST_INTERVAL."""
    text = (env.get(FIRST_INTERVAL_VARIABLE) or "").strip()
    try:
        return min(MAX_INTERVAL, max(MIN_FIRST_INTERVAL, float(text))) if text else FIRST_INTERVAL
    except ValueError:
        raise UserError(f"{FIRST_INTERVAL_VARIABLE}={text!r} is not a number of seconds") from None


def follow(
    jobs: Sequence[Submitted],
    backend: Backend,
    client: Callable[[], GitHubClient],
    step: Step,
    *,
    winners: Sequence[Submitted] | None = None,
) -> None:
    """Follow the submitted jobs for `$HPT_FOLLOW_MINUTES` and post the results of those that end;
    the first of `winners` (default: `jobs`) that ended with a best trial is handed on as the
    step's `best-*` outputs."""
    minutes = follow_minutes(step.env)
    names = [job.job_name for job in jobs if job.job_name]
    if minutes > 0 and names:
        follow_and_report(names, backend, client, minutes, step)
        hand_on([job.job_name for job in (jobs if winners is None else winners) if job.job_name], step)


def follow_and_report(
    job_names: Sequence[str],
    backend: Backend,
    client: Callable[[], GitHubClient],
    minutes: float,
    step: Step,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Poll the jobs until each has ended or `minutes` have passed; post the ended ones' results.

    Returns the names of the jobs still running at the end of the window (the scheduled
    reporter posts those).
    """
    tuning = TuningJobs(backend, step.env.get(RESULTS_DIR_VARIABLE, ""))
    made: list[Verdicts] = []

    def verdicts() -> Verdicts:
        """Made on first use: a dispatch without a pull request may have no GitHub token."""
        if not made:
            made.append(Verdicts(client(), tuning, step))
        return made[0]

    _start_checks(job_names, tuning, verdicts, step)
    # Proposals whose baseline still ran, confirmations whose siblings did: tried again as more jobs end.
    waiting: list[EndedJob] = []

    def post(jobs: list[HyperparameterTuningJob]) -> None:
        ended = list(waiting)
        for job in jobs:
            step.say(f"{job.name} ended: {states.short(job.state.name)}")
            ended.append(EndedJob.of(job))
        counts = report(ended, client(), tuning.markdown, step, include_unlinked=True, verdicts=verdicts())
        waiting[:] = verdicts().waiting
        step.say(", ".join(f"{count} {what}" for what, count in counts.items()))

    schedule = PollSchedule(initial=first_interval(step.env), maximum=MAX_INTERVAL)
    _, pending = tuning.service.poll(
        job_names, minutes=minutes, schedule=schedule, on_ended=post, sleep=sleep, clock=clock
    )
    step.set_output("results", tuning.results_output())
    if pending or waiting:
        step.notice(
            f"{len(pending)} job(s) still running after {minutes:g} min, {len(waiting)} waiting for "
            "their baseline or other confirmations: the scheduled report posts their results"
        )
    return pending


def _start_checks(
    job_names: Sequence[str], tuning: TuningJobs, verdicts: Callable[[], Verdicts], step: Step
) -> None:
    """Each pull-request job's check run, in progress from its submission (`scripts.github.verdicts`).
    A check that cannot be started is a warning: the job runs, and its result is posted all the same."""
    for name in job_names:
        try:
            job = tuning.service.get(name)
            if job.labels.get(labels.PULL_REQUEST):
                verdicts().start_check(job)
        except UserError as error:
            step.warning(f"{name}: the check run was not started: {error}")


def winner_of(job_names: Sequence[str], results_dir: str) -> dict[str, Any] | None:
    """The `best_params.json` of the first of `job_names` whose result has a best trial, else None."""
    if not results_dir:
        return None
    for name in job_names:
        path = Path(results_dir) / job_id(name) / "best_params.json"
        try:
            best = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(best, dict) and best.get("trial") is not None:
            return best
    return None


def hand_on(job_names: Sequence[str], step: Step) -> dict[str, Any] | None:
    """Set the step's `best-*` outputs from the first of `job_names` with a best trial; that winner."""
    best = winner_of(job_names, step.env.get(RESULTS_DIR_VARIABLE, ""))
    if best is None:
        return None
    step.set_output("best-job", str(best.get("job") or ""))
    step.set_output("best-value", json.dumps(best.get("value")))
    step.set_output("best-flags", shlex.join(str(flag) for flag in best.get("flags") or []))
    step.set_output("best-model-dir", str(best.get("model_dir") or ""))
    step.set_output("best-parameters", json.dumps(best.get("parameters") or {}, sort_keys=True))
    return best
