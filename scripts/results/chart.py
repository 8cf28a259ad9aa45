"""A PNG chart of a tuning job: the selected measurement per trial, and the metric per epoch.

Left: each trial's `final_measurement` as a bar, in trial order, titled by what the job selects
(`measurement_selection`: the best of its epochs, or the last one), the best trial in a strong
colour, trials tied with it too (and the title says they tie). A trial that ended without a
final value (collapsed, diverged, failed, stopped, infeasible) is a hatched bar at the best
value it did report (none: an empty slot), labelled with how it ended. Right: one line per trial
through its measurements (x = `step_count`, the epoch), each with its own marker, dashed for a
trial that ended early, the best one bold; curves that coincide (trials flat at chance) are
named in the legend, since they draw over each other. Matplotlib's Agg backend: no display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, StudySpec, Trial

from scripts.results.trials import best_trial, final_value, objective, outcome

BEST_COLOUR = "#d62728"
OTHER_COLOUR = "#9ecae1"
ENDED_EARLY_COLOUR = "#bdbdbd"
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
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "*")


@dataclass
class Bar:
    trial_id: str
    value: float | None  # the selected value; for a trial without one, the best it reported
    selected: bool  # a final measurement the job selected (not a stand-in value)
    best: bool
    mark: str  # "" for a succeeded trial, else how it ended ("collapsed", "failed", ...)


@dataclass
class ChartData:
    metric: str
    selection: str  # "best" or "last"
    bars: list[Bar]
    best_ids: list[str]
    best_value: float | None
    overlapping: list[list[str]] = field(default_factory=list)  # trials whose curves coincide

    @property
    def title(self) -> str:
        title = f"{self.metric} per trial: {self.selection} measurement (as the job selects)"
        if self.best_value is None:
            return title
        if len(self.best_ids) > 1:
            return f"{title}\nbest: trials {', '.join(self.best_ids)} tied at {self.best_value:.4g}"
        return f"{title}\nbest: trial {self.best_ids[0]}, {self.best_value:.4g}"


def _selection(job: HyperparameterTuningJob) -> str:
    best = StudySpec.MeasurementSelectionType.BEST_MEASUREMENT
    return "best" if job.study_spec.measurement_selection_type == best else "last"


def _curve(trial: Trial) -> tuple[list[int], list[float]]:
    steps = [int(m.step_count) for m in trial.measurements if m.metrics]
    points = [m.metrics[0].value for m in trial.measurements if m.metrics]
    return steps, points


def chart_data(job: HyperparameterTuningJob) -> ChartData:
    """What the chart shows, computed without drawing (the same best pick as the summary)."""
    goal = objective(job)
    metric = goal.metric_id
    best = best_trial(job)
    best_value = final_value(best, metric) if best is not None else None
    bars, best_ids = [], []
    for trial in job.trials:
        value = final_value(trial, metric) if trial.state == Trial.State.SUCCEEDED else None
        is_best = value is not None and best_value is not None and value == best_value
        if is_best:
            best_ids.append(trial.id)
        if value is not None:
            bars.append(Bar(trial.id, value, True, is_best, ""))
            continue
        _, points = _curve(trial)
        reported = (min(points) if not goal.maximize else max(points)) if points else None
        bars.append(Bar(trial.id, reported, False, False, str(outcome(trial, metric))))
    by_curve: dict[tuple, list[str]] = {}
    for trial in job.trials:
        steps, points = _curve(trial)
        if points:
            by_curve.setdefault((tuple(steps), tuple(round(p, 6) for p in points)), []).append(trial.id)
    overlapping = [ids for ids in by_curve.values() if len(ids) > 1]
    return ChartData(metric, _selection(job), bars, best_ids, best_value, overlapping)


def write_chart(job: HyperparameterTuningJob, path: Path | str) -> Path:
    """Draw the chart of `job` (with its trials) into the PNG file `path`; the path written."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    data = chart_data(job)
    metric = data.metric
    figure = Figure(figsize=(11, 4.6), layout="constrained")
    per_trial, per_epoch = figure.subplots(1, 2)

    labels = [bar.trial_id for bar in data.bars]
    values = [0.0 if bar.value is None else bar.value for bar in data.bars]
    colours = [
        BEST_COLOUR if bar.best else (OTHER_COLOUR if bar.selected else ENDED_EARLY_COLOUR)
        for bar in data.bars
    ]
    drawn = per_trial.bar(labels, values, color=colours)
    for patch, bar in zip(drawn, data.bars, strict=True):
        middle = patch.get_x() + patch.get_width() / 2
        if not bar.selected:
            patch.set_hatch("//")
            patch.set_edgecolor("#636363")
            text = bar.mark if bar.value is not None else f"x {bar.mark}"
            per_trial.annotate(text, (middle, bar.value or 0), ha="center", va="bottom", fontsize="small")
        elif bar.value is not None:
            per_trial.annotate(
                f"{bar.value:.3f}", (middle, bar.value), ha="center", va="bottom", fontsize="x-small"
            )
    per_trial.set_xlabel("trial (hatched: ended without a selected value; its best report shown)")
    per_trial.set_ylabel(f"{metric} ({data.selection} measurement)")
    per_trial.set_title(data.title, fontsize="medium")

    ended_early = {bar.trial_id for bar in data.bars if not bar.selected}
    for index, trial in enumerate(job.trials):
        steps, points = _curve(trial)
        if not points:
            continue
        is_best = trial.id in data.best_ids
        label = f"trial {trial.id}" + (" (best)" if is_best else "")
        mark = next((bar.mark for bar in data.bars if bar.trial_id == trial.id and bar.mark), "")
        if mark:
            label += f" ({mark})"
        per_epoch.plot(
            steps,
            points,
            marker=MARKERS[index % len(MARKERS)],
            markersize=4,
            label=label,
            linewidth=2.5 if is_best else 1.0,
            linestyle="--" if trial.id in ended_early else "-",
            zorder=3 if is_best else 2,
            color=BEST_COLOUR if is_best else LINE_COLOURS[index % len(LINE_COLOURS)],
        )
    per_epoch.xaxis.set_major_locator(MaxNLocator(integer=True))
    per_epoch.set_xlabel("epoch (step)")
    per_epoch.set_ylabel(f"{metric} (every report)")
    title = f"{metric} per epoch"
    if data.overlapping:
        title += "\nsame curve, drawn over each other: " + "; ".join(
            "trials " + ", ".join(ids) for ids in data.overlapping
        )
    per_epoch.set_title(title, fontsize="medium")
    if per_epoch.lines:
        per_epoch.legend(fontsize="small", ncols=2)
    figure.suptitle(job.display_name or job.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
