"""Submitters that nobody serializes (a laptop during a CI submission) converge on one job.

Four callers submit the same compiled experiment at the same moment against the real emulator,
each with its own client: every one of them reports the same job, and it is the only live one.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.emulator.embedded import running_emulator
from scripts.jobs import labels
from scripts.vertex.backend import Backend
from scripts.vertex.calls import RetryPolicy
from scripts.vertex.submit import find_jobs, submit_job
from tests.scripts.vertex.conftest import LOCATION, PARENT, codelab_job, make_compiled

STANDIN = Path(__file__).resolve().parents[2] / "fakes" / "trainer_standin.py"
CALLERS = 4


def test_four_concurrent_submitters_end_with_one_live_job_and_all_report_it(tmp_path):
    with running_emulator(
        tmp_path / "state", entrypoint=(sys.executable, str(STANDIN)), max_parallel=1
    ) as address:
        backend = Backend.emulator_at(address, tmp_path / "state")
        clients = [backend.job_service_client(LOCATION) for _ in range(CALLERS)]
        start = threading.Barrier(CALLERS)
        messages: list[str] = []

        def one(index: int):
            start.wait()
            return submit_job(
                clients[index], make_compiled(codelab_job()), notify=messages.append, emulator=address
            )

        with ThreadPoolExecutor(CALLERS) as pool:
            submissions = list(pool.map(one, range(CALLERS)))

        reported = {submission.job.name for submission in submissions}
        assert len(reported) == 1, messages
        (survivor,) = reported
        identity = {key: codelab_job().labels[key] for key in labels.IDENTITY}
        jobs = find_jobs(clients[0], PARENT, identity, RetryPolicy())
        live = [
            job.name for job in jobs if job.state.name not in ("JOB_STATE_CANCELLED", "JOB_STATE_CANCELLING")
        ]
        assert live == [survivor], (messages, [(job.name, job.state.name) for job in jobs])
        # Exactly one caller made the survivor; the others say they report another's job.
        assert sum(not submission.reused for submission in submissions) == 1
