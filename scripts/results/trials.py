"""Trials of a HyperparameterTuningJob: their metric, their outcome, and the best of them.

The v1 job has no best-trial field, so the best trial is picked here: among SUCCEEDED trials
whose final measurement carries the study's metric (a finite number), the highest value when
the goal is MAXIMIZE, the lowest when MINIMIZE. Ties go to the trial that was created first
(the lowest numeric trial id), so the same job always gives the same answer.

Outcomes, counted for summaries (`scripts.jobs.states.TrialOutcome`; Vertex has only five
trial states, so whoever ends a trial INFEASIBLE tags its reason with the outcome):

- `succeeded`: SUCCEEDED with a final value of the metric;
- `stopped`: STOPPING (the service is stopping it), or INFEASIBLE with a reason tagged `stopped`
  (its job was cancelled or failed). A trial stopped early by the study's stopping rule ends
  SUCCEEDED on both backends, its final measurement chosen among what it reported: the v1 Trial
  has no "stopped early" flag, and Vertex AI sets INFEASIBLE only for a trial that is "done but
  missing the final_measurement" (`Trial.State`); so it counts as `succeeded` wherever it ran;
- `failed`: INFEASIBLE with a reason tagged `failed` (the program exited non-zero, crashed, was killed);
- `collapsed` / `diverged`: INFEASIBLE with a reason so tagged (the trainer stopped a model that
  collapsed to constant predictions, or whose loss became NaN or infinite);
- `infeasible`: any other INFEASIBLE trial (it ended without a final measurement, or Vertex AI
  gave its own reason), and a SUCCEEDED trial whose final measurement lacks the metric;
- `active`: REQUESTED or ACTIVE, still running.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.jobs import states
from scripts.jobs.states import TrialOutcome

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, Trial

OUTCOMES = tuple(outcome.value for outcome in TrialOutcome)
# The outcomes an INFEASIBLE trial's tagged reason may carry.
_TAGGED_ENDS = (TrialOutcome.FAILED, TrialOutcome.STOPPED, TrialOutcome.COLLAPSED, TrialOutcome.DIVERGED)


@dataclass(frozen=True)
class Objective:
    metric_id: str
    maximize: bool

    @property
    def goal(self) -> str:
        return "maximize" if self.maximize else "minimize"


def objective(job: HyperparameterTuningJob) -> Objective:
    """The study's (first) metric and its goal."""
    from google.cloud.aiplatform_v1 import StudySpec  # the Vertex AI types: only once a job is at hand

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


def outcome(trial: Trial, metric_id: str) -> TrialOutcome:
    """How the trial ended (see the module docstring for the rules)."""
    from google.cloud.aiplatform_v1 import Trial  # the Vertex AI types: only once a job is at hand

    state = trial.state
    if state == Trial.State.SUCCEEDED:
        has_value = final_value(trial, metric_id) is not None
        return TrialOutcome.SUCCEEDED if has_value else TrialOutcome.INFEASIBLE
    if state == Trial.State.STOPPING:
        return TrialOutcome.STOPPED
    if state == Trial.State.INFEASIBLE:
        tagged = states.from_reason(trial.infeasible_reason)
        return tagged if tagged in _TAGGED_ENDS else TrialOutcome.INFEASIBLE
    return TrialOutcome.ACTIVE


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


def plain(value: object) -> object:
    """A whole float as an int (`128`, not `128.0`), as trial values are shown; anything else as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def parameter_value(parameter) -> object:
    """A trial parameter's value as plain Python (a float, an int when whole, or a string)."""
    return plain(parameter.value)


def trial_parameter(trial: Trial, parameter_id: str) -> object:
    """The value `trial` took for a parameter (`parameter_value`); None: a conditional one it did not use."""
    for parameter in trial.parameters:
        if parameter.parameter_id == parameter_id:
            return parameter_value(parameter)
    return None


def run_seconds(run: HyperparameterTuningJob | Trial, now: dt.datetime | None = None) -> float | None:
    """Seconds a job or trial ran: start to end, or to `now` while it runs; None before it starts,
    and for one still running without `now`."""
    if "start_time" not in run or ("end_time" not in run and now is None):
        return None
    end = run.end_time if "end_time" in run else now
    return max(0.0, (end - run.start_time).total_seconds())
