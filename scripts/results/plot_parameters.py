"""The pictures of the parameters: the metric against each one (`slices`), and every completed trial
across all of them at once (`parallel-coordinates`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.results.analysis import Parameter, position
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
        ys = [_place(p, trial_parameter(trial, p.id)) for p in study.parameters]
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
