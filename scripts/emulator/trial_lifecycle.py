"""One trial from start to end: launch it, read its measurements, stop it, restart it, say how it ended.

How trials end (the v1 `Trial.State` has no FAILED; Vertex marks a failed trial INFEASIBLE):

- exit status 0 with measurements: SUCCEEDED, `final_measurement` by `measurement_selection_type`;
- exit status 0 without a measurement: INFEASIBLE, `infeasible_reason` says so;
- any other exit status: INFEASIBLE, `infeasible_reason` names the status and the trial's log;
  or, when the trainer's last line says it stopped a collapsed or diverged model
  (`trainer_outcome`), that reason, tagged `collapsed` or `diverged`;
- a command that cannot start: INFEASIBLE, `infeasible_reason` quotes the error;
  (each reason starts with the outcome decided here, `failed: ...`, for summaries to count);
- stopped early: STOPPING while its process is asked to stop, then SUCCEEDED with the final
  measurement chosen among the measurements it reported (Vertex keeps no separate flag for it);
- cut off by a cancelled or failed job: INFEASIBLE, with its measurements so far.

Every change is written to the store as it happens. Slots, the optimizer and the job's end are
the job runner's (`scheduler.JobRunner`): `watch` says when a trial has ended, and the runner
takes it on.

Automated early stopping: the median rule, as Vertex's `MedianAutomatedStoppingSpec` defines it.
Vertex: "stops a pending Trial if the Trial's best objective_value is strictly below the median
'performance' of all completed Trials reported up to the Trial's last measurement", where
performance is the running average of a trial's objective values. "Up to" is by step count, or
by elapsed time with `use_elapsed_duration`. "Below" means worse for the goal.

The emulator applies the same rule for `decay_curve_stopping_spec` and
`convex_automated_stopping_spec` (they are model-based on Vertex and not reproduced here); the
runner logs that substitution. A rule needs `MIN_COMPLETED_TRIALS` completed trials with a
measurement by that point before it stops anything: one reference trial is no median.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, StudySpec, Trial

from scripts.emulator.store import Store, TrialRecord, now
from scripts.emulator.trials import (
    Options,
    TrialProcess,
    build_launch,
    final_measurement,
    read_measurements,
    reported_tags,
)
from scripts.jobs import states
from scripts.jobs.states import TrialOutcome
from scripts.jobs.trial_flags import trial_flags

logger = logging.getLogger("scripts.emulator")

ENDED = (Trial.State.SUCCEEDED, Trial.State.INFEASIBLE)
# Restarts of a trial's replicas after a failure, with `restart_job_on_worker_restart`, before the
# trial fails for good.
MAX_WORKER_RESTARTS = 3
MIN_COMPLETED_TRIALS = 2


@dataclass
class RunningTrial:
    record: TrialRecord
    process: TrialProcess
    reports: dict[float, Measurement] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)  # the trial's, across restarts
    timed_out: bool = False
    restarts: int = 0  # of its replicas, after a failure (restart_job_on_worker_restart)
    preempted: bool = False  # by the simulated spot preemption (once per trial)


def end_infeasible(trial: Trial, outcome: TrialOutcome, text: str) -> None:
    """End the trial INFEASIBLE, its reason tagged with how it ended (`scripts.jobs.states`)."""
    trial.state = Trial.State.INFEASIBLE
    trial.infeasible_reason = states.reason(outcome, text)


class TrialLifecycle:
    """The trials of one job, each from launch to end; `on_exit` wakes the job's runner."""

    def __init__(
        self, job: HyperparameterTuningJob, store: Store, options: Options, on_exit: Callable[[], None]
    ) -> None:
        self.job = job
        self.job_name = job.name
        self.store = store
        self.options = options
        self.on_exit = on_exit

    def launch(self, record: TrialRecord, threads_per_replica: int) -> RunningTrial | None:
        """Start the trial's replicas; None when its command could not start (the trial has ended)."""
        launch = build_launch(
            self.job, record.trial, self.options.state_dir, self.options.entrypoint, threads_per_replica
        )
        trial = record.trial
        trial.start_time = now()
        try:
            process = TrialProcess(launch, on_exit=self.on_exit)
        except OSError as error:  # e.g. the command does not exist: the trial fails, not the emulator
            end_infeasible(trial, TrialOutcome.FAILED, f"the trial's command could not start: {error}.")
            trial.end_time = now()
            self.store.save_trial(self.job_name, record)
            logger.info("job %s: trial %s could not start: %s", self.job_name, trial.id, error)
            return None
        trial.state = Trial.State.ACTIVE
        record.pid, record.pid_start_time = process.pid, process.start_time
        self.store.save_trial(self.job_name, record)
        flags = " ".join(trial_flags(trial, self.job.study_spec))
        logger.info("job %s: trial %s started: %s", self.job_name, trial.id, flags)
        return RunningTrial(record, process)

    def read(self, running: RunningTrial) -> bool:
        """Take the trial's new measurements; whether there were any."""
        metric_id = self.job.study_spec.metrics[0].metric_id
        fresh = read_measurements(running.process.launch.metric_file, metric_id, running.process.started)
        if fresh.keys() <= running.reports.keys():
            return False
        running.reports.update(fresh)
        trial = running.record.trial
        del trial.measurements[:]
        trial.measurements.extend(running.reports[stamp] for stamp in sorted(running.reports))
        return True

    def watch(self, running: RunningTrial, completed: Callable[[], list[list[Measurement]]]) -> bool:
        """One look at a trial: new measurements, its timeout, preemption, early stopping (against
        the `completed` trials' measurements), its end. True when it has ended."""
        record, process, trial = running.record, running.process, running.record.trial
        changed = self.read(running)
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
                return False
            if process.stopping:
                process.stop(self.options.stop_grace_seconds)  # SIGKILL once the grace period is over
            elif changed and should_stop(self.job.study_spec, list(trial.measurements), completed()):
                record.stopped_early = True
                trial.state = Trial.State.STOPPING
                step = trial.measurements[-1].step_count
                process.note(f"stopped early by the median rule after step {step}")
                process.stop(self.options.stop_grace_seconds)
                logger.info("job %s: trial %s stopped early (median rule)", self.job_name, trial.id)
                changed = True
            if changed:
                self.store.save_trial(self.job_name, record)
            return False
        self.read(running)
        if running.timed_out:
            timeout = self._timeout_seconds()
            end_infeasible(
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
            return False
        elif record.stopped_early or status == 0:
            chosen = final_measurement(list(trial.measurements), self.job.study_spec)
            if chosen is not None:
                trial.state = Trial.State.SUCCEEDED
                trial.final_measurement = chosen
            else:
                end_infeasible(trial, TrialOutcome.INFEASIBLE, self._no_measurement_reason(process))
        else:  # the trainer may have said why it stopped (a collapsed or diverged model)
            ended = trainer_outcome(process.launch.log_path)
            end_infeasible(trial, *(ended or (TrialOutcome.FAILED, self._failure_reason(process, status))))
        return True

    def stop(self, running: RunningTrial, why: str) -> None:
        """Cut the trial off (the job was cancelled or failed): INFEASIBLE with its measurements so far."""
        running.process.kill(self.options.stop_grace_seconds)
        self.read(running)
        end_infeasible(running.record.trial, TrialOutcome.STOPPED, f"stopped before it finished: {why}.")

    def _timeout_seconds(self) -> float | None:
        scheduling = self.job.trial_job_spec.scheduling
        if "timeout" not in scheduling:
            return None
        return scheduling.timeout.total_seconds()

    def _preempt_now(self, running: RunningTrial) -> bool:
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

    def _restart(self, running: RunningTrial, why: str) -> None:
        """Stop the trial's replicas (SIGTERM, then SIGKILL after the grace period) and start them
        again with the same command lines, parameters and output directories."""
        record, trial = running.record, running.record.trial
        running.process.note(why)
        running.process.kill(self.options.stop_grace_seconds)
        self.read(running)
        logger.info("job %s: trial %s: %s", self.job_name, trial.id, why)
        running.process = TrialProcess(running.process.launch, on_exit=self.on_exit)
        record.pid, record.pid_start_time = running.process.pid, running.process.start_time
        self.store.save_trial(self.job_name, record)

    @staticmethod
    def _failure_reason(process: TrialProcess, status: int) -> str:
        if process.failed_replica is None:
            return f"the trial's process exited with status {status}; see {process.launch.log_path}."
        replica = next(r for r in process.launch.replicas if r.task == process.failed_replica)
        return f"the trial's replica {replica.task} exited with status {status}; see {replica.log_path}."

    def _no_measurement_reason(self, process: TrialProcess) -> str:
        text = f"the trial reported no measurement of metric '{self.job.study_spec.metrics[0].metric_id}'"
        others = sorted(reported_tags(process.launch.metric_file))
        if others:
            text = f"{text}; it reported {', '.join(repr(tag) for tag in others)} instead"
        return f"{text}."


# -- the median rule ------------------------------------------------------------------------------


def substituted_rule(spec: StudySpec) -> str | None:
    """The name of the spec's rule when the emulator applies the median rule in its place."""
    which = StudySpec.pb(spec).WhichOneof("automated_stopping_spec")
    return which if which not in (None, "median_automated_stopping_spec") else None


def should_stop(
    spec: StudySpec, measurements: Sequence[Measurement], completed: Sequence[Sequence[Measurement]]
) -> bool:
    """Whether a running trial with `measurements` should stop, given the completed trials' ones."""
    rule = StudySpec.pb(spec).WhichOneof("automated_stopping_spec")
    if rule is None or not measurements:
        return False
    by_time = getattr(spec, rule).use_elapsed_duration  # each of the three rules can say so

    def position(measurement: Measurement) -> float:
        if by_time:
            return measurement.elapsed_duration.total_seconds()
        return float(measurement.step_count)

    minimize = spec.metrics[0].goal == StudySpec.MetricSpec.GoalType.MINIMIZE
    values = [m.metrics[0].value for m in measurements]
    best = min(values) if minimize else max(values)
    horizon = position(measurements[-1])

    performances = []
    for other in completed:
        upto = [m.metrics[0].value for m in other if position(m) <= horizon]
        if upto:
            performances.append(sum(upto) / len(upto))
    if len(performances) < MIN_COMPLETED_TRIALS:
        return False
    median = statistics.median(performances)
    return best > median if minimize else best < median


# -- trials the trainer ended itself ----------------------------------------------------------------

# The trainer's last word on a trial it stopped (docs/trainer.md): one line on stderr,
# `hpt-trial-outcome: <outcome>: <text>`, with a non-zero exit status.
TRAINER_OUTCOME_PREFIX = "hpt-trial-outcome: "
_TRAINER_OUTCOMES = (TrialOutcome.COLLAPSED, TrialOutcome.DIVERGED)
_LOG_TAIL_BYTES = 64 * 1024


def trainer_outcome(log_path: Path) -> tuple[TrialOutcome, str] | None:
    """How the trainer said it ended the trial (collapsed or diverged), from its log's tail; else None."""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
            tail = log.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        if line.startswith(TRAINER_OUTCOME_PREFIX):
            tag, _, text = line[len(TRAINER_OUTCOME_PREFIX) :].strip().partition(": ")
            if tag in {outcome.value for outcome in _TRAINER_OUTCOMES} and text:
                return TrialOutcome(tag), text
            return None
    return None
