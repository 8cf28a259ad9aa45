"""Trials of a HyperparameterTuningJob: their metric, their outcome, and the best of them.

The v1 job has no best-trial field, so the best trial is picked here: among SUCCEEDED trials
whose final measurement carries the study's metric (a finite number), the highest value when
the goal is MAXIMIZE, the lowest when MINIMIZE. Ties go to the trial that was created first
(the lowest numeric trial id), so the same job always gives the same answer.

Outcomes, counted for summaries (Vertex has only five trial states; the rest is in the reason):

- `succeeded`: SUCCEEDED with a final value of the metric;
- `stopped`: stopped early by the service: STOPPING, or ended with an infeasible reason that
  says it was stopped;
- `failed`: INFEASIBLE with a reason that says the trial failed (its container exited non-zero,
  crashed or was killed);
- `infeasible`: any other INFEASIBLE trial (it ended without a final measurement), and a
  SUCCEEDED trial whose final measurement lacks the metric;
- `active`: REQUESTED or ACTIVE, still running.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, Trial

OUTCOMES = ("succeeded", "infeasible", "failed", "stopped", "active")
# Words of an infeasible reason that mean the trial's program failed (not that it reported nothing).
_FAILURE_MARKERS = ("fail", "exited", "exit status", "exit code", "non-zero", "crash", "killed")


@dataclass(frozen=True)
class Objective:
    metric_id: str
    maximize: bool

    @property
    def goal(self) -> str:
        return "maximize" if self.maximize else "minimize"


def objective(job: HyperparameterTuningJob) -> Objective:
    """The study's (first) metric and its goal."""
    from google.cloud.aiplatform_v1 import StudySpec

    metrics = job.study_spec.metrics
    if not metrics:
        return Objective(metric_id="", maximize=True)
    spec = metrics[0]
    return Objective(spec.metric_id, spec.goal != StudySpec.MetricSpec.GoalType.MINIMIZE)


def metric_value(measurement: Measurement | None, metric_id: str) -> float | None:
    """The metric's value in a measurement, or None when absent or not a finite number."""
    if measurement is None:
        return None
    for metric in measurement.metrics:
        if metric.metric_id == metric_id:
            return metric.value if math.isfinite(metric.value) else None
    return None


def final_value(trial: Trial, metric_id: str) -> float | None:
    """The trial's final value of the metric, or None when it has none."""
    if "final_measurement" not in trial:
        return None
    return metric_value(trial.final_measurement, metric_id)


def latest_value(trial: Trial, metric_id: str) -> float | None:
    """The final value, else the value of the last intermediate measurement (for running trials)."""
    value = final_value(trial, metric_id)
    if value is not None:
        return value
    for measurement in reversed(trial.measurements):
        value = metric_value(measurement, metric_id)
        if value is not None:
            return value
    return None


def outcome(trial: Trial, metric_id: str) -> str:
    """One of OUTCOMES (see the module docstring for the rules)."""
    from google.cloud.aiplatform_v1 import Trial

    state = trial.state
    reason = trial.infeasible_reason.lower()
    if state == Trial.State.SUCCEEDED:
        return "succeeded" if final_value(trial, metric_id) is not None else "infeasible"
    if state == Trial.State.STOPPING:
        return "stopped"
    if state == Trial.State.INFEASIBLE:
        if "stop" in reason:
            return "stopped"
        if any(marker in reason for marker in _FAILURE_MARKERS):
            return "failed"
        return "infeasible"
    return "active"


def trial_sort_key(trial_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order ("2" before "10"), then any others by text."""
    return (0, int(trial_id), "") if trial_id.isdigit() else (1, 0, trial_id)


def ranked(job: HyperparameterTuningJob) -> list[Trial]:
    """SUCCEEDED trials with a final metric value, best first; ties by trial id."""
    goal = objective(job)
    scored = [(final_value(t, goal.metric_id), t) for t in job.trials if t.state == t.State.SUCCEEDED]
    scored = [(value, t) for value, t in scored if value is not None]
    sign = -1.0 if goal.maximize else 1.0
    scored.sort(key=lambda pair: (sign * pair[0], trial_sort_key(pair[1].id)))
    return [t for _, t in scored]


def best_trial(job: HyperparameterTuningJob) -> Trial | None:
    """The best trial by the metric's goal, or None when no trial succeeded with a value."""
    order = ranked(job)
    return order[0] if order else None


def count_outcomes(job: HyperparameterTuningJob) -> dict[str, int]:
    """How many trials ended each way, every outcome present (zero included), plus `total`."""
    metric_id = objective(job).metric_id
    counts = Counter(outcome(t, metric_id) for t in job.trials)
    result = {name: counts.get(name, 0) for name in OUTCOMES}
    result["total"] = len(job.trials)
    return result


def parameter_value(parameter) -> object:
    """A trial parameter's value as plain Python (a float, an int when whole, or a string)."""
    value = parameter.value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
