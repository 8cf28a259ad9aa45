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
