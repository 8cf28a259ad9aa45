"""A PNG chart of a tuning job: the metric per trial (best highlighted) and per epoch.

Left: each trial's final measurement as a bar, in trial order, the best one in a strong colour
(infeasible trials as an empty slot marked "x"). Right: one line per trial through its
measurements (x = `step_count`, the epoch), the best trial's line drawn bold. Rendered with
matplotlib's Agg backend: no display needed.
"""

from __future__ import annotations

from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Trial

from scripts.results.trials import best_trial, final_value

BEST_COLOUR = "#d62728"
OTHER_COLOUR = "#9ecae1"
# Line colours of the other trials: matplotlib's tab10 without its red, which marks the best.
LINE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def write_chart(job: HyperparameterTuningJob, path: Path | str) -> Path:
    """Draw the chart of `job` (with its trials) into the PNG file `path`; the path written."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    metric = job.study_spec.metrics[0].metric_id if job.study_spec.metrics else "metric"
    # the same pick as the summary, so the chart and the comment never disagree
    best = best_trial(job)
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    per_trial, per_epoch = figure.subplots(1, 2)

    labels, values, colours = [], [], []
    for trial in job.trials:
        labels.append(trial.id)
        value = final_value(trial, metric) if trial.state == Trial.State.SUCCEEDED else None
        values.append(0.0 if value is None else value)
        colours.append(BEST_COLOUR if best is not None and trial.id == best.id else OTHER_COLOUR)
    bars = per_trial.bar(labels, values, color=colours)
    for bar, trial in zip(bars, job.trials, strict=True):
        if trial.state != Trial.State.SUCCEEDED:
            per_trial.annotate("x", (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom")
    per_trial.set_xlabel("trial")
    per_trial.set_ylabel(metric)
    title = f"final {metric} per trial"
    if best is not None:
        title += f" (best: trial {best.id}, {final_value(best, metric):.4g})"
    per_trial.set_title(title)

    for index, trial in enumerate(job.trials):
        steps = [m.step_count for m in trial.measurements if m.metrics]
        points = [m.metrics[0].value for m in trial.measurements if m.metrics]
        if not points:
            continue
        is_best = best is not None and trial.id == best.id
        label = f"trial {trial.id}" + (" (best)" if is_best else "")
        per_epoch.plot(
            steps,
            points,
            marker="o",
            markersize=3,
            label=label,
            linewidth=2.5 if is_best else 1.0,
            zorder=3 if is_best else 2,
            color=BEST_COLOUR if is_best else LINE_COLOURS[index % len(LINE_COLOURS)],
        )
    per_epoch.xaxis.set_major_locator(MaxNLocator(integer=True))
    per_epoch.set_xlabel("epoch (step)")
    per_epoch.set_ylabel(metric)
    per_epoch.set_title(f"{metric} per epoch")
    if per_epoch.lines:
        per_epoch.legend(fontsize="small", ncols=2)
    figure.suptitle(job.display_name or job.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
