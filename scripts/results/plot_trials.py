"""The pictures of the trials over time: each trial's value in turn (`history`), and each trial's
metric at every step it reported (`curves`)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from scripts.jobs.outcomes import TrialOutcome
from scripts.results.plot_shared import (
    BEST_COLOUR,
    ENDED_EARLY,
    ENDINGS,
    LABELLED_TRIALS,
    LINE_COLOUR,
    Study,
    new_figure,
    short_text,
    show_nothing,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
