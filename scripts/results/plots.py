"""Pictures of a finished study, drawn with matplotlib from the job's trials alone.

- `history`: each trial's value in the order the trials were created, and the best so far;
- `parallel-coordinates`: one axis per parameter and one for the metric, a line per completed
  trial coloured by its value;
- `curves`: the metric of every trial at each step it reported (the epochs), with where each one
  ended marked by how it ended (stopped, collapsed, diverged, failed, or ended before the others)
  and the measurement that gave the trial its value circled (the best one or the last one, as the
  study's measurement selection says);
- `slices`: the metric against each parameter, the top trials highlighted.

Each is written as PNG (to look at) and SVG (to zoom), beside summary.json. The output is
deterministic: the same job gives byte-identical files (the bundled DejaVu Sans font, glyphs as
paths, a fixed `svg.hashsalt` for the SVG's ids, no date in the metadata), so a rerun changes no
file. No pyplot: each figure is a `Figure` on the Agg canvas, nothing global is touched but the
rc settings inside `rc_context`, and no layout engine (fixed margins draw in half the time). Text
from the job (parameter ids, values) is drawn as plain text: its `$` never starts mathtext.

This module styles and saves the pictures; `plot_figures` draws each one, from what they share
(the job read once, the colours and markers, the figure).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scripts.results import plot_figures

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

PICTURES = ("history", "parallel-coordinates", "curves", "slices")
FORMATS = ("png", "svg")

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # bundled with matplotlib: the same glyphs everywhere
    "font.size": 9,
    "mathtext.fontset": "dejavusans",
    "svg.fonttype": "path",
    "svg.hashsalt": "hpt-results",  # fixed ids in the SVG
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
METADATA = {"png": {"Software": None}, "svg": {"Date": None}}


def picture_names() -> list[str]:
    """The file names `write_pictures` writes, in order."""
    return [f"{name}.{fmt}" for name in PICTURES for fmt in FORMATS]


def write_pictures(job: HyperparameterTuningJob, directory: Path) -> list[Path]:
    """Draw every picture of `job` into `directory`, as PNG and SVG; return the paths written."""
    # matplotlib takes a while to import: only the commands that draw pay for it.
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    directory.mkdir(parents=True, exist_ok=True)
    study = plot_figures.Study(job)
    drawers = {
        "history": plot_figures.draw_history,
        "parallel-coordinates": plot_figures.draw_parallel_coordinates,
        "curves": plot_figures.draw_curves,
        "slices": plot_figures.draw_slices,
    }
    written = []
    # The other trials' colours: tab10 without its red (the fourth), which marks the best trial.
    colours = [colour for index, colour in enumerate(matplotlib.colormaps["tab10"].colors) if index != 3]
    with matplotlib.rc_context({**STYLE, "axes.prop_cycle": matplotlib.cycler(color=colours)}):
        for name in PICTURES:
            figure = drawers[name](study)
            FigureCanvasAgg(figure)
            for fmt in FORMATS:
                path = directory / f"{name}.{fmt}"
                figure.savefig(path, format=fmt, metadata=METADATA[fmt])
                written.append(path)
    return written
