"""The parallel-coordinates picture: every completed trial across all the parameters at once.

One axis per parameter and one for the metric, a line per completed trial coloured by its value,
the best trial's in red and drawn on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.results.analysis import Parameter, position
from scripts.results.plot_shared import BEST_COLOUR, Study, new_figure, short_text, show_nothing
from scripts.results.trials import trial_parameter

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def draw(study: Study) -> Figure:
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
