"""The history picture: each trial's value in the order the trials were created, and the best so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scripts.jobs.outcomes import TrialOutcome
from scripts.results.plot_shared import (
    BEST_COLOUR,
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


def draw(study: Study) -> Figure:
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
    best_so_far, running = [], None
    for value in ys:
        better = running is None or (value > running if study.maximize else value < running)
        running = value if better else running
        best_so_far.append(running)
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
