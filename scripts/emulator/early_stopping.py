"""Automated early stopping: the median rule, as Vertex's `MedianAutomatedStoppingSpec` defines it.

Vertex: "stops a pending Trial if the Trial's best objective_value is strictly below the median
'performance' of all completed Trials reported up to the Trial's last measurement", where
performance is the running average of a trial's objective values. "Up to" is by step count, or
by elapsed time with `use_elapsed_duration`. "Below" means worse for the goal.

The emulator applies the same rule for `decay_curve_stopping_spec` and
`convex_automated_stopping_spec` (they are model-based on Vertex and not reproduced here); the
runner logs that substitution. A rule needs `MIN_COMPLETED_TRIALS` completed trials with a
measurement by that point before it stops anything: one reference trial is no median.

The trainer stops trials too: a model that collapsed to constant predictions, or whose loss
became NaN or infinite, ends with a non-zero status and a last line saying so
(`trainer_outcome`); the runner records the trial INFEASIBLE with that reason, tagged
`collapsed` or `diverged`, instead of a plain failure.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from google.cloud.aiplatform_v1 import Measurement, StudySpec

from scripts.jobs.states import TrialOutcome

MIN_COMPLETED_TRIALS = 2


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
