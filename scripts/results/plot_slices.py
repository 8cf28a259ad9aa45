"""The slices picture: the metric against each parameter, the top trials highlighted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.results.analysis import Parameter
from scripts.results.plot_shared import (
    BEST_COLOUR,
    LINE_COLOUR,
    OTHER_COLOUR,
    Study,
    new_figure,
    short_text,
    show_nothing,
)
from scripts.results.trials import trial_parameter

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def draw(study: Study) -> Figure:
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
        value = trial_parameter(trial, parameter.id)
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
            from matplotlib.ticker import FuncFormatter, NullFormatter

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
