"""The PNG chart: written, readable, the best trial highlighted, robust to trials without values."""

from __future__ import annotations

import numpy as np
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, StudySpec, Trial

from scripts.results.chart import BEST_COLOUR, write_chart


def _trial(trial_id: str, values: list[float], state=Trial.State.SUCCEEDED) -> Trial:
    measurements = [
        Measurement(step_count=step, metrics=[Measurement.Metric(metric_id="accuracy", value=value)])
        for step, value in enumerate(values, start=1)
    ]
    return Trial(
        id=trial_id,
        state=state,
        measurements=measurements,
        final_measurement=measurements[-1] if values and state == Trial.State.SUCCEEDED else None,
    )


def _job(trials, goal=StudySpec.MetricSpec.GoalType.MAXIMIZE) -> HyperparameterTuningJob:
    return HyperparameterTuningJob(
        display_name="chart-test",
        trials=trials,
        study_spec=StudySpec(metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=goal)]),
    )


def _red_pixels(path) -> int:
    import matplotlib.image

    image = matplotlib.image.imread(path)[..., :3]
    red = np.array([int(BEST_COLOUR[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image - red).sum(axis=-1) < 0.05).sum())


def test_the_chart_is_a_png_with_the_best_trial_highlighted(tmp_path):
    job = _job(
        [
            _trial("1", [0.5, 0.6, 0.7]),
            _trial("2", [0.6, 0.8, 0.9]),
            _trial("3", [0.4], Trial.State.INFEASIBLE),
        ]
    )
    path = write_chart(job, tmp_path / "out" / "chart.png")

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _red_pixels(path) > 500  # the best bar and its bold line

    nothing_best = write_chart(_job([_trial("1", [], Trial.State.INFEASIBLE)]), tmp_path / "empty.png")
    assert _red_pixels(nothing_best) == 0


def _highlighted_bar_columns(path) -> np.ndarray:
    """Where the red (best) bar is across the left panel, as fractions of the image width."""
    import matplotlib.image

    image = matplotlib.image.imread(path)[..., :3]
    red = np.array([int(BEST_COLOUR[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    columns = np.nonzero((np.abs(image - red).sum(axis=-1) < 0.05).any(axis=0))[0] / image.shape[1]
    return columns[columns < 0.5]


def test_minimizing_highlights_the_lowest(tmp_path):
    # Two bars in the left panel: trial 1 in its left half, trial 2 in its right half.
    minimize = write_chart(
        _job([_trial("1", [0.5]), _trial("2", [0.2])], StudySpec.MetricSpec.GoalType.MINIMIZE),
        tmp_path / "min.png",
    )
    maximize = write_chart(_job([_trial("1", [0.5]), _trial("2", [0.2])]), tmp_path / "max.png")
    assert _highlighted_bar_columns(minimize).min() > _highlighted_bar_columns(maximize).max()


def _selecting(job, selection=StudySpec.MeasurementSelectionType.BEST_MEASUREMENT):
    job.study_spec.measurement_selection_type = selection
    return job


def test_the_title_names_the_selected_measurement_and_ties(tmp_path):
    from scripts.results.chart import chart_data

    tied = _selecting(_job([_trial("1", [0.9]), _trial("2", [0.5, 0.9]), _trial("3", [0.7])]))
    data = chart_data(tied)
    assert data.title.startswith("accuracy per trial: best measurement (as the job selects)")
    assert "best: trials 1, 2 tied at 0.9" in data.title
    assert [bar.best for bar in data.bars] == [True, True, False]
    last = chart_data(
        _selecting(_job([_trial("1", [0.9])]), StudySpec.MeasurementSelectionType.LAST_MEASUREMENT)
    )
    assert "last measurement" in last.title and "best: trial 1, 0.9" in last.title
    write_chart(tied, tmp_path / "tied.png")


def test_collapsed_and_failed_trials_are_marked_and_overlapping_curves_named(tmp_path):
    from scripts.results.chart import chart_data

    collapsed = _trial("2", [0.5, 0.5], Trial.State.INFEASIBLE)
    collapsed.infeasible_reason = (
        "collapsed: collapsed at epoch 2: constant predictions (0.513 for every image)"
    )
    failed = _trial("3", [], Trial.State.INFEASIBLE)
    failed.infeasible_reason = "failed: the trial's process exited with status 1"
    flat = _trial("4", [0.5, 0.5])
    data = chart_data(_job([_trial("1", [0.6, 0.8]), collapsed, failed, flat]))
    marks = {bar.trial_id: (bar.mark, bar.selected, bar.value) for bar in data.bars}
    assert marks == {
        "1": ("", True, 0.8),
        "2": ("collapsed", False, 0.5),  # drawn at what it reported, hatched, labelled
        "3": ("failed", False, None),
        "4": ("", True, 0.5),
    }
    assert data.overlapping == [["2", "4"]]  # flat at 0.5: one line hides the other
    assert write_chart(_job([_trial("1", [0.6, 0.8]), collapsed, failed, flat]), tmp_path / "c.png").exists()
