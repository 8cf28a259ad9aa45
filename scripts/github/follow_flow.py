"""Results in minutes: the submitting job follows the jobs it submitted and posts their results.

A job that ends within `$HPT_FOLLOW_MINUTES` (default 0: do not follow) of its submission gets
its best trial posted by the same workflow job, seconds after it ends, instead of waiting for
the scheduled reporter (which stays the fallback for longer jobs; `report` can be dispatched by
hand). The window must fit in the job's `timeout-minutes`. The result is posted through the
reporter's own code, so the reporter later finds it there and posts nothing twice.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.github import runner
from scripts.github.report_flow import report
from scripts.github.tuning_jobs import EndedJob, TuningJobs
from scripts.jobs import labels, states

if TYPE_CHECKING:
    from scripts.github.api import GitHubClient
    from scripts.vertex.backend import Backend

FOLLOW_VARIABLE = "HPT_FOLLOW_MINUTES"
# Polls start quick (short jobs) and settle at this interval: a result is posted at most this
# long after its job ends.
FIRST_INTERVAL, MAX_INTERVAL = 5.0, 30.0


def follow_minutes(env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    text = (env.get(FOLLOW_VARIABLE) or "").strip()
    try:
        return max(0.0, float(text)) if text else 0.0
    except ValueError:
        raise UserError(f"{FOLLOW_VARIABLE}={text!r} is not a number of minutes") from None


def follow_and_report(
    job_names: Sequence[str],
    backend: Backend,
    client: Callable[[], GitHubClient],
    minutes: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Poll the jobs until each has ended or `minutes` have passed; post the ended ones' results.

    Returns the names of the jobs still running at the end of the window (the scheduled
    reporter posts those).
    """
    from scripts.jobs.names import parse_job_name
    from scripts.vertex.follow import get_job

    tuning = TuningJobs(backend)
    deadline = clock() + minutes * 60
    pending = list(dict.fromkeys(job_names))
    interval = FIRST_INTERVAL
    while pending:
        ended: list[EndedJob] = []
        for name in list(pending):
            parsed = parse_job_name(name)
            job = get_job(tuning.client(parsed.location if parsed else ""), name)
            if states.is_terminal(job.state.name):
                pending.remove(name)
                pull = job.labels.get(labels.PULL_REQUEST, "")
                experiment = job.labels.get(labels.EXPERIMENT, job.display_name)
                ended.append(EndedJob(name, experiment, int(pull) if pull.isdigit() else None, job))
                print(f"{name} ended: {states.short(job.state.name)}", file=sys.stderr)
        if ended:
            counts = report(ended, client(), tuning.markdown, include_unlinked=True)
            print(", ".join(f"{count} {what}" for what, count in counts.items()), file=sys.stderr)
        left = deadline - clock()
        if not pending or left <= 0:
            break
        sleep(min(interval, left))
        interval = min(MAX_INTERVAL, interval * 1.5)
    runner.set_output("results", tuning.results_output())
    if pending:
        runner.notice(
            f"{len(pending)} job(s) still running after {minutes:g} min: "
            "the scheduled report posts their results"
        )
    return pending
