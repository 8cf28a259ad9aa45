"""How each picture of a study is drawn (`scripts.results.plots` styles and saves them).

What they share comes first: the job read once (`Study`) and one look (the best trial in red, each
way of ending a trial its marker, a figure with fixed margins, text from the job cut short and
shown as plain text). Then the pictures of the trials over time: each trial's value in turn
(`history`) and each trial's metric at every step it reported (`curves`); then the pictures of the
parameters: the metric against each one (`slices`) and every completed trial across all of them at
once (`parallel-coordinates`).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from scripts.jobs.states import TrialOutcome
from scripts.results import trials as trial_results
from scripts.results.analysis import Parameter, position, study_parameters, top_trial_ids

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


# -- the trials over time: history, curves --------------------------------------------------------


def draw_history(study: Study) -> Figure:
    """Each trial's value in the order the trials were created, and the best so far."""
    figure = new_figure(7.5, 4.0)
    axes = figure.add_subplot()
    axes.set_title(f"{study.title}\n{study.metric} per trial, and the best so far")
    if not study.trials:
        show_nothing(axes, "no trials")
        return figure
    positions = {t.id: index for index, t in enumerate(study.trials, 1)}
    valued = [t for t in study.trials if study.values[t.id] is not None]
    xs = [positions[t.id] for t in valued]
    ys = [study.values[t.id] for t in valued]
    axes.plot(xs, ys, "o", color=LINE_COLOUR, label=f"{study.metric} of a trial", zorder=3)
    best_so_far = list(itertools.accumulate(ys, max if study.maximize else min))
    if xs:
        # The best so far holds until the last trial, whatever that one's value.
        steps_x, steps_y = [*xs, len(study.trials)], [*best_so_far, best_so_far[-1]]
        axes.step(steps_x, steps_y, where="post", color=BEST_COLOUR, label="best so far", zorder=2)
    if study.best is not None:
        axes.plot(
            [positions[study.best]],
            [study.values[study.best]],
            "*",
            markersize=14,
            color=BEST_COLOUR,
            label=f"best trial ({short_text(study.best)})",
            zorder=4,
        )
    # Trials without a value are marked along the bottom, by how they ended.
    for outcome, (marker, colour) in ENDINGS.items():
        ended = [
            positions[t.id]
            for t in study.trials
            if study.values[t.id] is None and study.outcomes[t.id] == outcome
        ]
        if ended:
            axes.plot(
                ended,
                [0.03] * len(ended),
                marker,
                color=colour,
                transform=axes.get_xaxis_transform(),
                label="still running" if outcome == TrialOutcome.ACTIVE else f"{outcome.value} (no value)",
                clip_on=False,
            )
    axes.set_xlabel("trial")
    axes.set_ylabel(study.metric)
    _trial_ticks(axes, study)
    axes.legend(loc="best", fontsize=8)
    return figure


def _trial_ticks(axes, study: Study) -> None:
    if len(study.trials) <= LABELLED_TRIALS:
        axes.set_xticks(range(1, len(study.trials) + 1), [short_text(t.id, 8) for t in study.trials])
    axes.set_xlim(0.5, len(study.trials) + 0.5)


def draw_curves(study: Study) -> Figure:
    """The metric of every trial at each step it reported (the epochs).

    Where each curve ended is marked by how the trial ended (stopped, collapsed, diverged, failed, or
    ended before the others), and the measurement that gave the trial its value is circled (the best
    one or the last one, as the study's measurement selection says).
    """
    from matplotlib.lines import Line2D  # matplotlib: only what draws loads it (plots.write_pictures)

    figure = new_figure(7.5, 4.5)
    axes = figure.add_subplot()
    axes.set_title(f"{study.title}\n{study.metric} at each step of every trial")
    drawn = [t for t in study.trials if study.curves[t.id]]
    if not drawn:
        show_nothing(axes, "no trial reported a measurement")
        return figure
    longest = max(step for points in study.curves.values() for step, _ in points)
    endings_shown: dict[str, tuple[str, str]] = {}
    for trial in drawn:
        points = study.curves[trial.id]
        steps, values = [s for s, _ in points], [v for _, v in points]
        best = trial.id == study.best
        line = axes.plot(
            steps,
            values,
            color=BEST_COLOUR if best else None,
            linewidth=2.5 if best else 1.2,
            alpha=1.0 if best else 0.75,
            zorder=3 if best else 2,
        )[0]
        if trial.id in study.selected:
            step, value = study.selected[trial.id]
            axes.plot(
                step, value, "o", markerfacecolor="none", color=line.get_color(), markersize=8, zorder=4
            )
        ending = _ending(study.outcomes[trial.id], steps[-1], longest)
        if ending is not None:
            label, (marker, colour) = ending
            axes.plot(steps[-1], values[-1], marker, color=colour, markersize=9, zorder=4)
            endings_shown[label] = (marker, colour)
        if len(drawn) <= LABELLED_TRIALS:
            axes.annotate(
                short_text(trial.id, 8),
                (steps[-1], values[-1]),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=7,
                color=line.get_color(),
                va="center",
            )
    handles = [
        Line2D([], [], color=BEST_COLOUR, linewidth=2.5, label=f"best trial ({short_text(study.best)})")
    ]
    handles += [
        Line2D([], [], linestyle="", marker=marker, color=colour, markersize=8, label=label)
        for label, (marker, colour) in endings_shown.items()
    ]
    if study.best is None:
        handles = handles[1:]
    if study.selected:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker="o",
                markerfacecolor="none",
                color="black",
                label="the trial's value",
            )
        )
    if handles:
        axes.legend(handles=handles, loc="best", fontsize=8)
    axes.set_xlabel("step (epoch)")
    axes.set_ylabel(study.metric)
    if longest <= LABELLED_TRIALS:
        axes.set_xticks(sorted({step for points in study.curves.values() for step, _ in points}))
    return figure


def _ending(outcome: TrialOutcome, last_step: int, longest: int) -> tuple[str, tuple[str, str]] | None:
    """How a trial's curve ends, when that is worth a marker: any way but succeeding, or early."""
    if outcome in ENDINGS:
        return ("still running" if outcome == TrialOutcome.ACTIVE else outcome.value), ENDINGS[outcome]
    if last_step < longest:
        return "ended before the others", ENDED_EARLY
    return None


# -- the parameters: parallel coordinates, slices -------------------------------------------------


def draw_parallel_coordinates(study: Study) -> Figure:
    """Every completed trial across all the parameters at once: one axis per parameter and one for
    the metric, a line per completed trial coloured by its value, the best trial's in red and on top."""
    # matplotlib: only what draws loads it (plots.write_pictures).
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    axes_count = len(study.parameters) + 1
    figure = new_figure(max(5.0, 1.6 * axes_count + 1.5), 4.5, left=0.3, bottom=0.7)
    axes = figure.add_subplot()
    best = f"; best trial {short_text(study.best)} in red" if study.best is not None else ""
    axes.set_title(f"{study.title}\ncompleted trials, coloured by {study.metric}{best}")
    if not study.completed:
        show_nothing(axes, "no completed trial")
        return figure
    values = [study.values[t.id] for t in study.completed]
    low, high = min(values), max(values)
    norm = Normalize(low, high if high > low else low + 1)
    colours = colormaps["viridis" if study.maximize else "viridis_r"]
    names = [short_text(p.id) + ("\n(log scale)" if p.log else "") for p in study.parameters] + [study.metric]
    # Worst first, so the best lines are drawn on top.
    for trial in reversed(study.completed):
        ys = [_place(p, trial_results.trial_parameter(trial, p.id)) for p in study.parameters]
        ys.append((study.values[trial.id] - low) / (high - low) if high > low else 0.5)
        best = trial.id == study.best
        axes.plot(
            range(axes_count),
            ys,
            color=BEST_COLOUR if best else colours(norm(study.values[trial.id])),
            linewidth=2.5 if best else 1.2,
            alpha=1.0 if best else 0.8,
            zorder=3 if best else 2,
            marker="o",
            markersize=3,
        )
    for index in range(axes_count):
        axes.axvline(index, color="black", linewidth=0.8, zorder=1)
    for index, parameter in enumerate(study.parameters):
        for where, text in _axis_labels(parameter):
            axes.text(index + 0.04, where, text, fontsize=7, va="center", ha="left")
    axes.text(axes_count - 1 + 0.04, 0.0, f"{low:.4g}", fontsize=7, va="center")
    axes.text(axes_count - 1 + 0.04, 1.0, f"{high:.4g}", fontsize=7, va="center")
    axes.set_xticks(range(axes_count), names)
    axes.set_yticks([])
    axes.set_xlim(-0.2, axes_count - 0.6)
    axes.set_ylim(-0.08, 1.08)
    axes.grid(False)
    for side in ("left", "top", "right"):
        axes.spines[side].set_visible(False)
    figure.colorbar(ScalarMappable(norm, colours), ax=axes, label=study.metric, shrink=0.8)
    return figure


def _place(parameter: Parameter, value: Any) -> float:
    """Where a value sits on its parameter's axis, 0 to 1 (NaN: the trial did not use it)."""
    if value is None:
        return float("nan")
    if parameter.numeric and isinstance(value, int | float):
        return position(parameter, value) if parameter.high != parameter.low else 0.5
    choices = list(parameter.choices)
    if value not in choices:
        return float("nan")
    return choices.index(value) / (len(choices) - 1) if len(choices) > 1 else 0.5


def _axis_labels(parameter: Parameter) -> list[tuple[float, str]]:
    if parameter.numeric:
        return [(0.0, f"{parameter.low:.3g}"), (1.0, f"{parameter.high:.3g}")]
    return [(_place(parameter, choice), short_text(choice)) for choice in parameter.choices[:12]]


def draw_slices(study: Study) -> Figure:
    """The metric against each parameter, the top trials highlighted."""
    count = max(1, len(study.parameters))
    columns = min(3, count)
    rows = -(-count // columns)
    figure = new_figure(3.2 * columns + 0.5, 2.9 * rows + 0.6, bottom=0.55, top=0.8)
    figure.subplots_adjust(wspace=0.3, hspace=0.6)
    figure.suptitle(f"{study.title}\n{study.metric} against each parameter (top trials in colour)")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(study.parameters):
            axes.set_visible(index == 0 and not study.parameters)
            if index == 0:
                show_nothing(axes, "no parameters")
            continue
        parameter = study.parameters[index]
        _slice(axes, study, parameter)
        if index % columns == 0:
            axes.set_ylabel(study.metric)
    if study.parameters and study.completed:
        grid.flat[0].legend(fontsize=7, loc="best")
    return figure


def _slice(axes, study: Study, parameter: Parameter) -> None:
    axes.set_title(short_text(parameter.id, 40), fontsize=9)
    points = []
    for trial in study.completed:
        value = trial_results.trial_parameter(trial, parameter.id)
        if value is None:
            continue
        x = value if parameter.numeric else _choice_index(parameter, value)
        points.append((x, study.values[trial.id], trial.id))
    if not points:
        show_nothing(axes, "not used by a completed trial")
        return
    for top in (False, True):
        chosen = [(x, y) for x, y, i in points if (i in study.top) == top and i != study.best]
        if chosen:
            axes.plot(
                [x for x, _ in chosen],
                [y for _, y in chosen],
                "o",
                color=LINE_COLOUR if top else OTHER_COLOUR,
                alpha=0.9 if top else 0.6,
                label="top trials" if top else "other trials",
            )
    best = [(x, y) for x, y, i in points if i == study.best]
    if best:
        axes.plot(*best[0], "*", color=BEST_COLOUR, markersize=13, label="best trial", zorder=4)
    if parameter.numeric:
        if parameter.log:
            from matplotlib.ticker import FuncFormatter, NullFormatter  # matplotlib: as above

            axes.set_xscale("log")
            # Plain numbers (0.001, 0.01): the default labels are mathtext (10^-3), whose parser
            # costs a quarter of all the drawing.
            axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axes.xaxis.set_minor_formatter(NullFormatter())
        if parameter.low is not None and parameter.high is not None and parameter.high > parameter.low:
            axes.axvspan(parameter.low, parameter.high, color="black", alpha=0.04, zorder=0)
            margin = 0.0 if parameter.log else 0.03 * (parameter.high - parameter.low)
            axes.set_xlim(parameter.low - margin, parameter.high + margin)
        axes.set_xlabel("log scale" if parameter.log else "")
    else:
        choices = list(parameter.choices)
        shown = choices if len(choices) <= 12 else choices[:: -(-len(choices) // 12)]
        axes.set_xticks([choices.index(c) for c in shown], [short_text(c, 10) for c in shown])
        axes.set_xlim(-0.5, len(choices) - 0.5)


def _choice_index(parameter: Parameter, value: Any) -> float:
    choices = list(parameter.choices)
    return choices.index(value) if value in choices else float("nan")
