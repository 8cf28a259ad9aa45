"""Drives jobs to an end: one runner thread per job, the machine's slots shared by them all.

`start` gives a job a runner (`job_runner`: asks for trials, runs them, ends the job), `cancel`
has it stop its trials and end CANCELLED, `resume` starts a runner for every job a killed
emulator left unfinished, `shutdown` stops them all and leaves their jobs unfinished in the
store. Trials run at once over all jobs are capped to the cores or `max_parallel`
(`admission`); a slot one job frees wakes the others.
"""

from __future__ import annotations

import logging
import threading

from scripts.emulator.admission import Slots, machine_cores
from scripts.emulator.job_runner import JobRunner
from scripts.emulator.store import Store
from scripts.emulator.trials import Options

logger = logging.getLogger("scripts.emulator")


class Scheduler:
    """The runners of every unfinished job in the store."""

    def __init__(self, store: Store, options: Options) -> None:
        self.store = store
        self.options = options
        self._runners: dict[str, JobRunner] = {}
        self._lock = threading.Lock()
        # Trials running at once, over all jobs: the machine's cores (or --max-parallel).
        self.slots = Slots(options.max_parallel or machine_cores(), on_free=self._wake_all)

    def _wake_all(self) -> None:
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:  # a job waiting for a slot can start a trial now
            runner.wake.set()

    def resume(self) -> list[str]:
        """Start a runner for every job the store left unfinished; their names."""
        names = self.store.unfinished_jobs()
        for name in names:
            logger.info("resuming %s", name)
            self.start(name)
        return names

    def start(self, name: str) -> None:
        with self._lock:
            runner = self._runners.get(name)
            if runner is not None and runner.is_alive():
                return
            runner = JobRunner(self.store, self.options, self.slots, name)
            self._runners[name] = runner
            runner.start()

    def cancel(self, name: str) -> None:
        """The job is CANCELLING in the store; have its runner stop its trials and end it."""
        with self._lock:
            runner = self._runners.get(name)
        if runner is not None and runner.is_alive():
            runner.cancel.set()
            runner.wake.set()
        else:
            self.start(name)  # no runner (yet): one will end it as CANCELLED

    def shutdown(self) -> None:
        """Stop every trial and runner, leaving jobs unfinished in the store, to resume later."""
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.shutdown.set()
            runner.wake.set()
        for runner in runners:
            runner.join()
