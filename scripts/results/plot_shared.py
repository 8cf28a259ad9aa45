"""What every picture of a study shares: the job read once (`Study`), and one look.

The colours and markers (the best trial in red, each way of ending a trial its marker), a figure
with fixed margins, and text from the job cut short and shown as plain text, so that each picture
module draws only its own picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.jobs.outcomes import TrialOutcome
from scripts.results import trials as trial_results
from scripts.results.analysis import study_parameters, top_trial_ids

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob
    from matplotlib.figure import Figure

BEST_COLOUR = "#d62728"
LINE_COLOUR = "#1f77b4"
OTHER_COLOUR = "#9e9e9e"
# How each way of ending is marked: (marker, colour). Succeeded trials are plain points.
ENDINGS = {
    TrialOutcome.STOPPED: ("s", "#7f7f7f"),
    TrialOutcome.COLLAPSED: ("X", "#ff7f0e"),
    TrialOutcome.DIVERGED: ("X", "#9467bd"),
    TrialOutcome.FAILED: ("x", "#8c564b"),
    TrialOutcome.INFEASIBLE: ("x", "#bcbd22"),
    TrialOutcome.ACTIVE: ("o", "#17becf"),
}
ENDED_EARLY = ("v", "#2ca02c")  # succeeded, but reported fewer steps than the longest trial
# More trials than this: no label per trial.
LABELLED_TRIALS = 30


class Study:
    """What the pictures need of a job, read once."""

    def __init__(self, job: HyperparameterTuningJob) -> None:
        goal = trial_results.objective(job)
        self.title = short_text(job.display_name or job.name, 60)
        self.metric = short_text(goal.metric_id or "metric", 40)
        self.maximize = goal.maximize
        self.trials = sorted(job.trials, key=lambda t: trial_results.trial_sort_key(t.id))
        self.values = {t.id: trial_results.final_value(t, goal.metric_id) for t in self.trials}
        self.outcomes = {t.id: trial_results.outcome(t, goal.metric_id) for t in self.trials}
        ranked = trial_results.ranked(job)
        self.completed = ranked
        self.best = ranked[0].id if ranked else None
        self.top = set(top_trial_ids(job))
        self.parameters = study_parameters(job)
        # The step whose measurement is the trial's value (its final measurement).
        self.selected = {
            t.id: (int(t.final_measurement.step_count), value)
            for t in self.trials
            if (value := self.values[t.id]) is not None
        }
        self.curves = {
            t.id: [
                (int(m.step_count), value)
                for m in t.measurements
                if (value := trial_results.metric_value(m, goal.metric_id)) is not None
            ]
            for t in self.trials
        }


def new_figure(
    width: float, height: float, *, left: float = 0.8, bottom: float = 0.6, top: float = 0.6
) -> Figure:
    """A figure with fixed margins, in inches (a layout engine would draw each figure twice more)."""
    from matplotlib.figure import Figure  # matplotlib: only what draws loads it (plots.write_pictures)

    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=left / width, right=1 - 0.25 / width, bottom=bottom / height, top=1 - top / height
    )
    return figure


def show_nothing(axes, text: str) -> None:
    """Say in the middle of `axes` that there is nothing to draw, without ticks."""
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color=OTHER_COLOUR)
    axes.set_xticks([])
    axes.set_yticks([])


def short_text(value: Any, width: int = 16) -> str:
    """A value from the job, cut to `width` characters, as plain text: a `$` is a dollar sign, not
    the start of a formula."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return (text if len(text) <= width else text[: width - 1] + "…").replace("$", r"\$")
