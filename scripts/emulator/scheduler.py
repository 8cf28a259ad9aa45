"""Drives jobs to an end: one runner thread per job asks for trials, runs them, and ends the job.

A runner loop, every `poll_interval` seconds: read each running trial's new measurements, apply
early stopping, finish the trials whose process ended, fail the job if too many trials failed,
then start trials until `parallel_trial_count` run (and the machine has a free slot: the
scheduler caps trials at once over all jobs to the cores or `max_parallel`) or `max_trial_count`
trials exist. A trial's process wakes its runner when it exits. Every change is written to the
store first, so a killed emulator restarts each unfinished job where it was: trials that had
ended are kept, trials that were running are started again under the same id with the same
parameters.

How trials end (the v1 `Trial.State` has no FAILED; Vertex marks a failed trial INFEASIBLE):

- exit status 0 with measurements: SUCCEEDED, `final_measurement` by `measurement_selection_type`;
- exit status 0 without a measurement: INFEASIBLE, `infeasible_reason` says so;
- any other exit status: INFEASIBLE, `infeasible_reason` names the status and the trial's log;
  or, when the trainer's last line says it stopped a collapsed or diverged model
  (`early_stopping.trainer_outcome`), that reason, tagged `collapsed` or `diverged`;
- a command that cannot start: INFEASIBLE, `infeasible_reason` quotes the error;
  (each reason starts with the outcome decided here, `failed: ...`, for summaries to count);
- stopped early: STOPPING while its process is asked to stop, then SUCCEEDED with the final
  measurement chosen among the measurements it reported (Vertex keeps no separate flag for it);
- cut off by a cancelled or failed job: INFEASIBLE, with its measurements so far.

Failed (INFEASIBLE) trials and `max_failed_trial_count`: N > 0 fails the job once N trials have
failed, as the API text says ("the number of failed Trials that need to be seen before failing").
With 0 Vertex "decides"; its rule is not published, so the emulator fails the job when its first
`DEFAULT_FAILED_TRIALS` trials (or all of them, if fewer) fail without one success, and a job
that ends with no successful trial ends FAILED.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, Measurement, Trial
from google.rpc import code_pb2, status_pb2

from scripts.emulator import early_stopping
from scripts.emulator.limits import local_limit_problem
from scripts.emulator.optimizer import Optimizer
from scripts.emulator.store import Store, TrialRecord, now
from scripts.emulator.trials import (
    DEFAULT_ENTRYPOINT,
    TrialProcess,
    build_launch,
    final_measurement,
    kill_leftover,
    read_measurements,
    replica_counts,
    reported_tags,
)
from scripts.jobs import fidelity, outcomes
from scripts.jobs.names import job_id
from scripts.jobs.outcomes import TrialOutcome

logger = logging.getLogger("scripts.emulator")

DEFAULT_FAILED_TRIALS = 3
ENDED = (Trial.State.SUCCEEDED, Trial.State.INFEASIBLE)


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class Options:
    """How the emulator runs trials; the same for every job it serves."""

    state_dir: Path
    max_parallel: int | None = None  # None: this machine's cores
    entrypoint: tuple[str, ...] = DEFAULT_ENTRYPOINT
    seed: int | None = None  # None: derived from each job (see optimizer)
    poll_interval: float = 0.1
    stop_grace_seconds: float = 5.0
    # Opt-in: a SPOT job's trials are preempted once, this many seconds after they start (their
    # replicas get SIGTERM, then start again with the same parameters and output directories, so
    # the trainer's backup and restore is exercised). None: no preemption.
    preempt_after: float | None = None


@dataclass
class _Running:
    record: TrialRecord
    process: TrialProcess
    reports: dict[float, Measurement] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)  # the trial's, across restarts
    timed_out: bool = False
    restarts: int = 0  # of its replicas, after a failure (restart_job_on_worker_restart)
    preempted: bool = False  # by the simulated spot preemption (once per trial)


# Restarts of a trial's replicas after a failure, with `restart_job_on_worker_restart`, before the
# trial fails for good.
MAX_WORKER_RESTARTS = 3


class Scheduler:
    """The runners of every unfinished job in the store."""

    def __init__(self, store: Store, options: Options) -> None:
        self.store = store
        self.options = options
        self._runners: dict[str, _JobRunner] = {}
        self._lock = threading.Lock()
        # Trials running at once, over all jobs: the machine's cores (or --max-parallel).
        self.capacity = options.max_parallel or machine_cores()
        self._slots_in_use = 0

    def take_slots(self, count: int) -> bool:
        with self._lock:
            if self._slots_in_use + count > self.capacity:
                return False
            self._slots_in_use += count
            return True

    def free_slots(self, count: int) -> None:
        with self._lock:
            self._slots_in_use -= count
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
            runner = _JobRunner(self, name)
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

    def wait(self, name: str, timeout: float | None = None) -> bool:
        with self._lock:
            runner = self._runners.get(name)
        if runner is not None:
            runner.join(timeout)
            return not runner.is_alive()
        return True

    def shutdown(self) -> None:
        """Stop every trial and runner, leaving jobs unfinished in the store, to resume later."""
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.shutdown.set()
            runner.wake.set()
        for runner in runners:
            runner.join()


class _JobRunner(threading.Thread):
    def __init__(self, scheduler: Scheduler, name: str) -> None:
        super().__init__(name=f"job-{job_id(name)}", daemon=True)
        self.scheduler = scheduler
        self.store = scheduler.store
        self.options = scheduler.options
        self.job_name = name
        self.cancel = threading.Event()
        self.shutdown = threading.Event()
        self.wake = threading.Event()
        self.running: dict[int, _Running] = {}

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # the job must end, whatever went wrong here
            logger.exception("job %s: the emulator failed", self.job_name)
            for trial_id in list(self.running):
                self.running.pop(trial_id).process.kill(self.options.stop_grace_seconds)
                self.scheduler.free_slots(self.slots_per_trial)
            job = self.store.job(self.job_name, with_trials=False)
            if job is not None:
                self._end_job(job, JobState.JOB_STATE_FAILED, code_pb2.INTERNAL, f"emulator error: {error}")

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        job = self.store.job(self.job_name, with_trials=False)
        if job is None:
            return
        self.job = job
        self.records = {int(r.trial.id): r for r in self.store.trials(job.name)}
        if job.state == JobState.JOB_STATE_CANCELLING:
            self._end_cancelled_before_crash(job)
            return
        too_much = local_limit_problem(job, self.options.state_dir)
        if too_much:  # stored by an emulator without today's limits: end it rather than run it
            self._end_job(job, JobState.JOB_STATE_FAILED, code_pb2.INVALID_ARGUMENT, too_much)
            return
        self.optimizer = Optimizer(self.options.state_dir, job, self.options.seed)
        self.optimizer.forget_unknown({r.optimizer_number for r in self.records.values()})
        for record in self.records.values():  # a crash may have come between a trial's end and its tell
            if record.trial.state in ENDED:
                self.optimizer.tell_trial(record.optimizer_number, record.trial)
        self.relaunch = self._interrupted_trials()
        self.exhausted = False  # the search space has no more points (a grid)
        if job.state == JobState.JOB_STATE_PENDING:
            job.state = JobState.JOB_STATE_RUNNING
            job.start_time = now()
            self.store.save_job(job)
        parallel = self._parallel(job)
        for item in fidelity.not_emulated(job):  # said out loud: what runs here without its effect
            logger.warning(
                "job %s: not emulated here: %s = %s (%s)", job.name, item["field"], item["value"], item["why"]
            )
        substituted = early_stopping.substituted_rule(job.study_spec)
        if substituted:
            logger.warning("job %s: %s is applied as the median stopping rule locally", job.name, substituted)

        while True:
            if self.cancel.is_set():
                self._stop_all_and_end(job, cancelled=True)
                return
            if self.shutdown.is_set():
                for trial_id in list(self.running):
                    self.running.pop(trial_id).process.kill(self.options.stop_grace_seconds)
                    self.scheduler.free_slots(self.slots_per_trial)
                return  # the job stays RUNNING in the store; the next start resumes it
            for trial_id in list(self.running):
                self._watch(trial_id)
            failure = self._failure(job)
            if failure:
                self._stop_all_and_end(job, cancelled=False, message=failure)
                return
            self._start_trials(parallel)
            if not self.running and not self._more_trials():
                self._finish(job)
                return
            self.wake.wait(self.options.poll_interval)
            self.wake.clear()

    def _more_trials(self) -> bool:
        return bool(self.relaunch) or (len(self.records) < self.job.max_trial_count and not self.exhausted)

    def _start_trials(self, parallel: int) -> None:
        """Start trials while the job wants more at once and the machine has a free slot."""
        while (
            len(self.running) < parallel
            and self._more_trials()
            and self.scheduler.take_slots(self.slots_per_trial)
        ):
            try:
                if self.relaunch:
                    record = self.records[self.relaunch.pop(0)]
                else:
                    record = self._new_trial(len(self.records))
                    if record is None:
                        self.exhausted = True
                        self.scheduler.free_slots(self.slots_per_trial)
                        continue
                self._launch(record)
            except BaseException:
                self.scheduler.free_slots(self.slots_per_trial)
                raise

    def _end_cancelled_before_crash(self, job: HyperparameterTuningJob) -> None:
        """Cancelled just before a crash: end what the crash left running, then the job."""
        for record in self.records.values():
            if record.trial.state not in ENDED:
                kill_leftover(record.pid, record.pid_start_time)
                self._infeasible(
                    record.trial, TrialOutcome.STOPPED, "stopped before it finished: the job was cancelled."
                )
                record.trial.end_time = now()
                record.pid = record.pid_start_time = None
                self.store.save_trial(self.job_name, record)
        self._stop_all_and_end(job, cancelled=True)

    def _parallel(self, job: HyperparameterTuningJob) -> int:
        """Trials of this job at once: `parallel_trial_count` within the machine's slots."""
        wanted = max(1, job.parallel_trial_count)
        cap = self.scheduler.capacity
        # A trial of several replicas takes a slot per replica (all the slots, at most).
        replicas = sum(replica_counts(job))
        self.slots_per_trial = min(replicas, cap)
        parallel = min(wanted, max(1, cap // self.slots_per_trial))
        if parallel < wanted:
            logger.warning(
                "job %s: parallel_trial_count %d capped to %d (%d slots: this machine's %s; %d per trial)",
                job.name,
                wanted,
                parallel,
                cap,
                "--max-parallel" if self.options.max_parallel else "cores",
                self.slots_per_trial,
            )
        self.threads_per_replica = max(1, machine_cores() // (parallel * replicas))
        return parallel

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
        launch = build_launch(
            self.job, record.trial, self.options.state_dir, self.options.entrypoint, self.threads_per_replica
        )
        trial = record.trial
        trial.start_time = now()
        try:
            process = TrialProcess(launch, on_exit=self.wake.set)
        except OSError as error:  # e.g. the command does not exist: the trial fails, not the emulator
            self._infeasible(trial, TrialOutcome.FAILED, f"the trial's command could not start: {error}.")
            trial.end_time = now()
            self.store.save_trial(self.job_name, record)
            self.optimizer.tell(record.optimizer_number, None)
            self.scheduler.free_slots(self.slots_per_trial)
            logger.info("job %s: trial %s could not start: %s", self.job_name, trial.id, error)
            return
        trial.state = Trial.State.ACTIVE
        record.pid, record.pid_start_time = process.pid, process.start_time
        self.store.save_trial(self.job_name, record)
        self.running[int(trial.id)] = _Running(record, process)
        flags = launch.argv[len(launch.argv) - len(trial.parameters) :]
        logger.info("job %s: trial %s started: %s", self.job_name, trial.id, " ".join(flags))

    # -- one trial ----------------------------------------------------------------------------

    def _read(self, running: _Running) -> bool:
        metric_id = self.job.study_spec.metrics[0].metric_id
        fresh = read_measurements(running.process.launch.metric_file, metric_id, running.process.started)
        if fresh.keys() <= running.reports.keys():
            return False
        running.reports.update(fresh)
        trial = running.record.trial
        del trial.measurements[:]
        trial.measurements.extend(running.reports[stamp] for stamp in sorted(running.reports))
        return True

    def _watch(self, trial_id: int) -> None:
        running = self.running[trial_id]
        record, process, trial = running.record, running.process, running.record.trial
        changed = self._read(running)
        status = process.poll()
        if status is None:
            timeout = self._timeout_seconds()
            if timeout and not running.timed_out and time.monotonic() - running.started > timeout:
                # As Vertex AI ends a job that runs past `scheduling.timeout`: stop it; it fails.
                running.timed_out = True
                process.note(f"stopped: the trial ran longer than scheduling.timeout ({timeout:g}s)")
                process.stop(self.options.stop_grace_seconds)
                logger.info("job %s: trial %s ran past its timeout (%gs)", self.job_name, trial.id, timeout)
            elif self._preempt_now(running):
                return
            if process.stopping:
                process.stop(self.options.stop_grace_seconds)  # SIGKILL once the grace period is over
            elif changed and early_stopping.should_stop(
                self.job.study_spec, list(trial.measurements), self._completed_measurements()
            ):
                record.stopped_early = True
                trial.state = Trial.State.STOPPING
                step = trial.measurements[-1].step_count
                process.note(f"stopped early by the median rule after step {step}")
                process.stop(self.options.stop_grace_seconds)
                logger.info("job %s: trial %s stopped early (median rule)", self.job_name, trial.id)
                changed = True
            if changed:
                self.store.save_trial(self.job_name, record)
            return
        self._read(running)
        if running.timed_out:
            timeout = self._timeout_seconds()
            self._infeasible(
                trial,
                TrialOutcome.FAILED,
                f"the trial ran longer than scheduling.timeout ({timeout:g}s) and was stopped, "
                f"as Vertex AI stops a job at its timeout; see {process.launch.log_path}.",
            )
        elif (
            status != 0
            and not record.stopped_early
            and self.job.trial_job_spec.scheduling.restart_job_on_worker_restart
            and running.restarts < MAX_WORKER_RESTARTS
        ):
            running.restarts += 1
            failed = process.failed_replica or process.launch.replicas[0].task
            self._restart(
                running,
                f"replica {failed} exited with status {status}; restarting the trial's replicas "
                f"(restart_job_on_worker_restart), restart {running.restarts} of {MAX_WORKER_RESTARTS}",
            )
            return
        elif record.stopped_early or status == 0:
            chosen = final_measurement(list(trial.measurements), self.job.study_spec)
            if chosen is not None:
                trial.state = Trial.State.SUCCEEDED
                trial.final_measurement = chosen
            else:
                self._infeasible(trial, TrialOutcome.INFEASIBLE, self._no_measurement_reason(process))
        else:  # the trainer may have said why it stopped (a collapsed or diverged model)
            ended = early_stopping.trainer_outcome(process.launch.log_path)
            self._infeasible(trial, *(ended or (TrialOutcome.FAILED, self._failure_reason(process, status))))
        self._end_trial(trial_id)

    def _timeout_seconds(self) -> float | None:
        scheduling = self.job.trial_job_spec.scheduling
        if "timeout" not in scheduling:
            return None
        return scheduling.timeout.total_seconds()

    def _preempt_now(self, running: _Running) -> bool:
        """The simulated spot preemption (opt-in, `Options.preempt_after`): once per trial of a
        SPOT job, its replicas are stopped as a preempted VM's are, then started again."""
        after = self.options.preempt_after
        strategy = self.job.trial_job_spec.scheduling.strategy
        if after is None or running.preempted or strategy.name != "SPOT" or running.process.stopping:
            return False
        if time.monotonic() - running.started < after:
            return False
        running.preempted = True
        self._restart(running, f"simulated spot preemption after {after:g}s; restarting the trial's replicas")
        return True

    def _restart(self, running: _Running, why: str) -> None:
        """Stop the trial's replicas (SIGTERM, then SIGKILL after the grace period) and start them
        again with the same command lines, parameters and output directories."""
        record, trial = running.record, running.record.trial
        running.process.note(why)
        running.process.kill(self.options.stop_grace_seconds)
        self._read(running)
        logger.info("job %s: trial %s: %s", self.job_name, trial.id, why)
        running.process = TrialProcess(running.process.launch, on_exit=self.wake.set)
        record.pid, record.pid_start_time = running.process.pid, running.process.start_time
        self.store.save_trial(self.job_name, record)

    @staticmethod
    def _failure_reason(process: TrialProcess, status: int) -> str:
        if process.failed_replica is None:
            text = f"the trial's process exited with status {status}; see {process.launch.log_path}."
        else:
            replica = next(r for r in process.launch.replicas if r.task == process.failed_replica)
            text = f"the trial's replica {replica.task} exited with status {status}; see {replica.log_path}."
        return text

    def _no_measurement_reason(self, process: TrialProcess) -> str:
        text = f"the trial reported no measurement of metric '{self.job.study_spec.metrics[0].metric_id}'"
        others = sorted(reported_tags(process.launch.metric_file))
        if others:
            text = f"{text}; it reported {', '.join(repr(tag) for tag in others)} instead"
        return f"{text}."

    def _infeasible(self, trial: Trial, outcome: TrialOutcome, text: str) -> None:
        """End the trial INFEASIBLE, its reason tagged with how it ended (`scripts.jobs.outcomes`)."""
        trial.state = Trial.State.INFEASIBLE
        trial.infeasible_reason = outcomes.reason(outcome, text)

    def _end_trial(self, trial_id: int) -> None:
        running = self.running.pop(trial_id)
        self.scheduler.free_slots(self.slots_per_trial)
        record, trial = running.record, running.record.trial
        trial.end_time = now()
        record.pid = record.pid_start_time = None
        self.store.save_trial(self.job_name, record)
        self.optimizer.tell_trial(record.optimizer_number, trial)
        logger.info("job %s: trial %s %s", self.job_name, trial.id, trial.state.name)

    def _completed_measurements(self) -> list[list[Measurement]]:
        succeeded = [r.trial for r in self.records.values() if r.trial.state == Trial.State.SUCCEEDED]
        return [list(trial.measurements) for trial in succeeded]

    # -- the job ------------------------------------------------------------------------------

    def _failure(self, job: HyperparameterTuningJob) -> str | None:
        states = [r.trial.state for r in self.records.values()]
        failed = states.count(Trial.State.INFEASIBLE)
        succeeded = states.count(Trial.State.SUCCEEDED)
        if job.max_failed_trial_count > 0:
            if failed >= job.max_failed_trial_count:
                return (
                    f"{failed} failed trials reached max_failed_trial_count {job.max_failed_trial_count}"
                    f"{self._last_reason()}"
                )
            return None
        threshold = min(DEFAULT_FAILED_TRIALS, job.max_trial_count)
        if succeeded == 0 and failed >= threshold:
            return f"{failed} failed trials and none succeeded{self._last_reason()}"
        return None

    def _last_reason(self) -> str:
        reasons = [r.trial.infeasible_reason for r in self.records.values() if r.trial.infeasible_reason]
        return f"; the last: {reasons[-1]}" if reasons else ""

    def _finish(self, job: HyperparameterTuningJob) -> None:
        states = [r.trial.state for r in self.records.values()]
        failure = self._failure(job)
        if failure:
            self._end_job(job, JobState.JOB_STATE_FAILED, code_pb2.FAILED_PRECONDITION, failure)
        elif Trial.State.SUCCEEDED in states:
            self._end_job(job, JobState.JOB_STATE_SUCCEEDED)
        else:
            self._end_job(
                job,
                JobState.JOB_STATE_FAILED,
                code_pb2.FAILED_PRECONDITION,
                f"no trial succeeded{self._last_reason()}",
            )

    def _stop_all_and_end(self, job: HyperparameterTuningJob, cancelled: bool, message: str = "") -> None:
        why = "the job was cancelled" if cancelled else "the job failed"
        for trial_id in list(self.running):
            running = self.running[trial_id]
            running.process.kill(self.options.stop_grace_seconds)
            self._read(running)
            self._infeasible(
                running.record.trial, TrialOutcome.STOPPED, f"stopped before it finished: {why}."
            )
            self._end_trial(trial_id)
        if cancelled:
            self._end_job(job, JobState.JOB_STATE_CANCELLED, code_pb2.CANCELLED, "the job was cancelled")
        else:
            self._end_job(job, JobState.JOB_STATE_FAILED, code_pb2.FAILED_PRECONDITION, message)

    def _end_job(
        self, job: HyperparameterTuningJob, state: JobState, code: int = 0, message: str = ""
    ) -> None:
        job.state = state
        job.end_time = now()
        if code:
            job.error = status_pb2.Status(code=code, message=message)
        self.store.save_job(job)
        logger.info("job %s: %s%s", job.name, state.name, f" ({message})" if message else "")
