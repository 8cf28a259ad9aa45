"""Drives jobs to an end: one runner thread per job, the machine's slots shared by them all.

Beyond the local limits (`local_limit_problem`) the emulator refuses a job (INVALID_ARGUMENT).
They are checked before anything is stored or started, and again when a stored job is resumed,
so that no request can make the emulator loop, fill the disk or take every port. Vertex AI's own
limits are in the rule book (`scripts.experiments.rules`); these are the local machine's.

`start` gives a job a runner (`JobRunner`: asks for trials, runs them, ends the job), `cancel`
has it stop its trials and end CANCELLED, `resume` starts a runner for every job a killed
emulator left unfinished, `shutdown` stops them all and leaves their jobs unfinished in the
store. A trial takes a slot per replica; the slots are the machine's cores, or `--max-parallel`.
A job runs `parallel_trial_count` trials at once when the slots allow, fewer (said in the log)
when they do not (its `share`), and a job waiting for a slot is woken when another job frees one.

A job's runner, every `poll_interval` seconds: looks at each running trial (new measurements,
early stopping, an end: `trial_lifecycle`), fails the job if too many trials failed (below),
then starts trials until the job's share of the machine runs or
`max_trial_count` trials exist. A trial's process wakes its runner when it exits. Every change
is written to the store first, so a killed emulator restarts each unfinished job where it was:
trials that had ended are kept, trials that were running are started again under the same id
with the same parameters.

A job is PENDING until its first runner starts it; it ends SUCCEEDED once its trials have all
ended and one succeeded, unless the failed-trials rule has failed it first. Failed (INFEASIBLE)
trials and `max_failed_trial_count`: N > 0 fails the job once N trials have failed, as the API
text says ("the number of failed Trials that need to be seen before failing"). With 0 Vertex
"decides"; its rule is not published, so the emulator fails the job when its first
`DEFAULT_FAILED_TRIALS` trials (or all of them, if fewer) fail without one success, and a job
that ends with no successful trial ends FAILED.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, Measurement, Trial
from google.rpc import code_pb2, status_pb2

from scripts.emulator.contract import OutsideStateDir, output_directory
from scripts.emulator.optimizer import Optimizer
from scripts.emulator.store import Store, TrialRecord, now
from scripts.emulator.trial_lifecycle import (
    ENDED,
    RunningTrial,
    TrialLifecycle,
    end_infeasible,
    substituted_rule,
)
from scripts.emulator.trials import Options, kill_leftover, replica_counts
from scripts.jobs import fidelity
from scripts.jobs.names import job_id
from scripts.jobs.states import TrialOutcome

logger = logging.getLogger("scripts.emulator")

DEFAULT_FAILED_TRIALS = 3
MAX_LOCAL_TRIALS = 1000  # max_trial_count
MAX_LOCAL_PARALLEL = 64  # parallel_trial_count
MAX_LOCAL_REPLICAS = 32  # replicas of one trial, over its worker pools


def local_limit_problem(job: HyperparameterTuningJob, state_dir: Path) -> str | None:
    """Why this emulator will not run `job` on this machine (None: it will), naming the field."""
    where = "hyperparameter_tuning_job"
    if job.max_trial_count > MAX_LOCAL_TRIALS:
        return (
            f"{where}.max_trial_count: at most {MAX_LOCAL_TRIALS} trials locally, got {job.max_trial_count}"
        )
    if job.parallel_trial_count > MAX_LOCAL_PARALLEL:
        return (
            f"{where}.parallel_trial_count: at most {MAX_LOCAL_PARALLEL} parallel trials locally, "
            f"got {job.parallel_trial_count}"
        )
    replicas = 0
    for index, pool in enumerate(job.trial_job_spec.worker_pool_specs):
        replicas += pool.replica_count
        if pool.replica_count > MAX_LOCAL_REPLICAS or replicas > MAX_LOCAL_REPLICAS:
            return (
                f"{where}.trial_job_spec.worker_pool_specs[{index}].replica_count: at most "
                f"{MAX_LOCAL_REPLICAS} replicas per trial locally, got {pool.replica_count}"
            )
    prefix = job.trial_job_spec.base_output_directory.output_uri_prefix
    if prefix:
        try:
            output_directory(prefix, state_dir)
        except OutsideStateDir as error:
            return f"{where}.trial_job_spec.base_output_directory.output_uri_prefix: {error}"
    return None


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Slots:
    """Trials' replicas running at once, over all jobs: at most `capacity`."""

    def __init__(self, capacity: int, on_free: Callable[[], None]) -> None:
        self.capacity = capacity
        self._on_free = on_free  # wakes the jobs that wait for a slot
        self._lock = threading.Lock()
        self._in_use = 0

    def take(self, count: int) -> bool:
        with self._lock:
            if self._in_use + count > self.capacity:
                return False
            self._in_use += count
            return True

    def free(self, count: int) -> None:
        with self._lock:
            self._in_use -= count
        self._on_free()


@dataclass(frozen=True)
class Share:
    """One job's share of the machine."""

    parallel: int  # trials at once
    slots_per_trial: int
    threads_per_replica: int


def share(job: HyperparameterTuningJob, capacity: int, max_parallel: int | None) -> Share:
    """Trials of this job at once: `parallel_trial_count` within the machine's slots."""
    wanted = max(1, job.parallel_trial_count)
    # A trial of several replicas takes a slot per replica (all the slots, at most).
    replicas = sum(replica_counts(job))
    slots_per_trial = min(replicas, capacity)
    parallel = min(wanted, max(1, capacity // slots_per_trial))
    if parallel < wanted:
        logger.warning(
            "job %s: parallel_trial_count %d capped to %d (%d slots: this machine's %s; %d per trial)",
            job.name,
            wanted,
            parallel,
            capacity,
            "--max-parallel" if max_parallel else "cores",
            slots_per_trial,
        )
    threads_per_replica = max(1, machine_cores() // (parallel * replicas))
    return Share(parallel, slots_per_trial, threads_per_replica)


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

    def resume(self) -> None:
        """Start a runner for every job the store left unfinished."""
        for name in self.store.unfinished_jobs():
            logger.info("resuming %s", name)
            self.start(name)

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


class JobRunner(threading.Thread):
    """Runs one job to its end; `cancel`, `shutdown` and `wake` are how the scheduler reaches it."""

    def __init__(self, store: Store, options: Options, slots: Slots, name: str) -> None:
        super().__init__(name=f"job-{job_id(name)}", daemon=True)
        self.store = store
        self.options = options
        self.slots = slots
        self.job_name = name
        self.cancel = threading.Event()
        self.shutdown = threading.Event()
        self.wake = threading.Event()
        self.running: dict[int, RunningTrial] = {}

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # the job must end, whatever went wrong here
            logger.exception("job %s: the emulator failed", self.job_name)
            self._kill_all()
            job = self.store.job(self.job_name, with_trials=False)
            if job is not None:
                self._end(job, JobState.JOB_STATE_FAILED, code_pb2.INTERNAL, f"emulator error: {error}")

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        job = self.store.job(self.job_name, with_trials=False)
        if job is None:
            return
        self.job = job
        self.records = {int(r.trial.id): r for r in self.store.trials(job.name)}
        self.trials = TrialLifecycle(job, self.store, self.options, self.wake.set)
        if job.state == JobState.JOB_STATE_CANCELLING:
            self._end_cancelled_before_crash(job)
            return
        too_much = local_limit_problem(job, self.options.state_dir)
        if too_much:  # stored by an emulator without today's limits: end it rather than run it
            self._end(job, JobState.JOB_STATE_FAILED, code_pb2.INVALID_ARGUMENT, too_much)
            return
        self.optimizer = Optimizer(self.options.state_dir, job, self.options.seed)
        self.optimizer.forget_unknown({r.optimizer_number for r in self.records.values()})
        for record in self.records.values():  # a crash may have come between a trial's end and its tell
            if record.trial.state in ENDED:
                self.optimizer.tell_trial(record.optimizer_number, record.trial)
        self.relaunch = self._interrupted_trials()
        self.exhausted = False  # the search space has no more points (a grid)
        if job.state == JobState.JOB_STATE_PENDING:  # a resumed job keeps its start time
            job.state = JobState.JOB_STATE_RUNNING
            job.start_time = now()
            self.store.save_job(job)
        self.share: Share = share(job, self.slots.capacity, self.options.max_parallel)
        for item in fidelity.not_emulated(job):  # said out loud: what runs here without its effect
            logger.warning(
                "job %s: not emulated here: %s = %s (%s)", job.name, item["field"], item["value"], item["why"]
            )
        substituted = substituted_rule(job.study_spec)
        if substituted:
            logger.warning("job %s: %s is applied as the median stopping rule locally", job.name, substituted)

        while True:
            if self.cancel.is_set():
                self._stop_all_and_end(job, cancelled=True)
                return
            if self.shutdown.is_set():
                self._kill_all()
                return  # the job stays RUNNING in the store; the next start resumes it
            for trial_id in list(self.running):
                if self.trials.watch(self.running[trial_id], self._completed_measurements):
                    self._end_trial(trial_id)
            failed = failure(job, self._trials())
            if failed:
                self._stop_all_and_end(job, cancelled=False, message=failed)
                return
            self._start_trials()
            if not self.running and not self._more_trials():
                self._finish(job)
                return
            self.wake.wait(self.options.poll_interval)
            self.wake.clear()

    def _trials(self) -> list[Trial]:
        return [record.trial for record in self.records.values()]

    def _more_trials(self) -> bool:
        return bool(self.relaunch) or (len(self.records) < self.job.max_trial_count and not self.exhausted)

    def _start_trials(self) -> None:
        """Start trials while the job wants more at once and the machine has a free slot."""
        slots = self.share.slots_per_trial
        while len(self.running) < self.share.parallel and self._more_trials() and self.slots.take(slots):
            try:
                if self.relaunch:
                    record = self.records[self.relaunch.pop(0)]
                else:
                    record = self._new_trial(len(self.records))
                    if record is None:
                        self.exhausted = True
                        self.slots.free(slots)
                        continue
                self._launch(record)
            except BaseException:
                self.slots.free(slots)
                raise

    def _end_cancelled_before_crash(self, job: HyperparameterTuningJob) -> None:
        """Cancelled just before a crash: end what the crash left running, then the job."""
        for record in self.records.values():
            if record.trial.state not in ENDED:
                kill_leftover(record.pid, record.pid_start_time)
                end_infeasible(
                    record.trial, TrialOutcome.STOPPED, "stopped before it finished: the job was cancelled."
                )
                record.trial.end_time = now()
                record.pid = record.pid_start_time = None
                self.store.save_trial(self.job_name, record)
        self._stop_all_and_end(job, cancelled=True)

    def _interrupted_trials(self) -> list[int]:
        """Trials a crash left unfinished: kill what is left of them; they run again, same id."""
        interrupted = []
        for trial_id, record in sorted(self.records.items()):
            if record.trial.state in ENDED:
                continue
            if kill_leftover(record.pid, record.pid_start_time):
                logger.info("job %s: killed the leftover process of trial %s", self.job_name, trial_id)
            trial = record.trial
            trial.state = Trial.State.REQUESTED
            del trial.measurements[:]
            trial.final_measurement = None
            record.pid = record.pid_start_time = None
            record.stopped_early = False
            self.store.save_trial(self.job_name, record)
            interrupted.append(trial_id)
        return interrupted

    def _new_trial(self, index: int) -> TrialRecord | None:
        asked = self.optimizer.ask(index)
        if asked is None:
            return None
        number, parameters = asked
        trial = Trial(id=str(index + 1), state=Trial.State.REQUESTED, parameters=parameters)
        record = TrialRecord(trial, number)
        self.records[index + 1] = record
        self.store.save_trial(self.job_name, record)
        return record

    def _launch(self, record: TrialRecord) -> None:
        running = self.trials.launch(record, self.share.threads_per_replica)
        if running is None:  # its command could not start: the trial has failed
            self.optimizer.tell(record.optimizer_number, None)
            self.slots.free(self.share.slots_per_trial)
            return
        self.running[int(record.trial.id)] = running

    def _end_trial(self, trial_id: int) -> None:
        running = self.running.pop(trial_id)
        self.slots.free(self.share.slots_per_trial)
        record, trial = running.record, running.record.trial
        trial.end_time = now()
        record.pid = record.pid_start_time = None
        self.store.save_trial(self.job_name, record)
        self.optimizer.tell_trial(record.optimizer_number, trial)
        logger.info("job %s: trial %s %s", self.job_name, trial.id, trial.state.name)

    def _completed_measurements(self) -> list[list[Measurement]]:
        succeeded = [r.trial for r in self.records.values() if r.trial.state == Trial.State.SUCCEEDED]
        return [list(trial.measurements) for trial in succeeded]

    # -- the job's end ------------------------------------------------------------------------

    def _stop_all_and_end(self, job: HyperparameterTuningJob, cancelled: bool, message: str = "") -> None:
        why = "the job was cancelled" if cancelled else "the job failed"
        for trial_id in list(self.running):
            self.trials.stop(self.running[trial_id], why)
            self._end_trial(trial_id)
        if cancelled:
            self._end(job, JobState.JOB_STATE_CANCELLED, code_pb2.CANCELLED, "the job was cancelled")
        else:
            self._end(job, JobState.JOB_STATE_FAILED, code_pb2.FAILED_PRECONDITION, message)

    def _kill_all(self) -> None:
        """Kill every running trial, leaving it as it is in the store (resumed, or ended by the caller)."""
        for trial_id in list(self.running):
            self.running.pop(trial_id).process.kill(self.options.stop_grace_seconds)
            self.slots.free(self.share.slots_per_trial)

    def _finish(self, job: HyperparameterTuningJob) -> None:
        """End a job whose trials have all ended: SUCCEEDED if one succeeded and the rule allows."""
        trials = self._trials()
        failed = failure(job, trials)
        if not failed and Trial.State.SUCCEEDED in [trial.state for trial in trials]:
            self._end(job, JobState.JOB_STATE_SUCCEEDED)
        else:
            reason = failed or f"no trial succeeded{_last_reason(trials)}"
            self._end(job, JobState.JOB_STATE_FAILED, code_pb2.FAILED_PRECONDITION, reason)

    def _end(self, job: HyperparameterTuningJob, state: JobState, code: int = 0, message: str = "") -> None:
        job.state = state
        job.end_time = now()
        if code:
            job.error = status_pb2.Status(code=code, message=message)
        self.store.save_job(job)
        logger.info("job %s: %s%s", job.name, state.name, f" ({message})" if message else "")


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
