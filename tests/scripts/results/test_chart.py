"""The SVG chart: well-formed whatever the job says, one bar per trial, the best highlighted,
trials without values hatched and labelled, coinciding curves named in the legend."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, StudySpec, Trial

from scripts.results.chart import BEST_COLOUR, HATCH, chart_data, render_svg, write_chart

SVG = "{http://www.w3.org/2000/svg}"


def _trial(trial_id: str, values: list[float], state=Trial.State.SUCCEEDED, metric="accuracy") -> Trial:
    measurements = [
        Measurement(step_count=step, metrics=[Measurement.Metric(metric_id=metric, value=value)])
        for step, value in enumerate(values, start=1)
    ]
    return Trial(
        id=trial_id,
        state=state,
        measurements=measurements,
        final_measurement=measurements[-1] if values and state == Trial.State.SUCCEEDED else None,
    )


def _job(trials, goal=StudySpec.MetricSpec.GoalType.MAXIMIZE, metric="accuracy") -> HyperparameterTuningJob:
    return HyperparameterTuningJob(
        display_name="chart-test",
        trials=trials,
        study_spec=StudySpec(metrics=[StudySpec.MetricSpec(metric_id=metric, goal=goal)]),
    )


def _svg(job: HyperparameterTuningJob) -> ET.Element:
    return ET.fromstring(render_svg(job).encode("utf-8"))


def _bars(root: ET.Element) -> dict[str, ET.Element]:
    bars = [rect for rect in root.iter(f"{SVG}rect") if "bar" in rect.get("class", "").split()]
    return {bar.get("data-trial"): bar for bar in bars}


def _texts(root: ET.Element) -> list[str]:
    """Every line of text a reader sees (not the tooltips)."""
    return ["".join(text.itertext()) for text in root.iter(f"{SVG}text")]


def _job_with_every_kind_of_trial() -> HyperparameterTuningJob:
    collapsed = _trial("2", [0.5, 0.5], Trial.State.INFEASIBLE)
    collapsed.infeasible_reason = (
        "collapsed: collapsed at epoch 2: constant predictions (0.5 for every image)"
    )
    failed = _trial("3", [], Trial.State.INFEASIBLE)
    failed.infeasible_reason = "failed: the trial's process exited with status 1"
    return _job(
        [_trial("1", [0.6, 0.8]), collapsed, failed, _trial("4", [0.5, 0.5]), _trial("5", [0.7, 0.75])]
    )


def test_the_chart_is_an_svg_file_with_one_bar_per_trial_and_the_best_highlighted(tmp_path):
    path = write_chart(_job_with_every_kind_of_trial(), tmp_path / "out" / "chart.svg")

    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    assert int(root.get("width")) >= 1000 and 400 <= int(root.get("height")) <= 600
    assert root.get("font-family") == "sans-serif"
    assert "chart-test" in root.find(f"{SVG}title").text  # what a screen reader announces
    bars = _bars(root)
    assert sorted(bars) == ["1", "2", "3", "4", "5"]
    assert [name for name, bar in bars.items() if bar.get("fill") == BEST_COLOUR] == ["1"]
    assert "trial 1: 0.8 (best)" in bars["1"].find(f"{SVG}title").text
    assert "0.800" in _texts(root)  # the value over the bar
    best_curve = [g for g in root.iter(f"{SVG}g") if g.get("class") == "curve best"]
    assert [g.get("data-trial") for g in best_curve] == ["1"]
    assert best_curve[0].find(f"{SVG}polyline").get("stroke") == BEST_COLOUR


def test_trials_without_a_value_are_hatched_labelled_or_an_empty_slot():
    root = _svg(_job_with_every_kind_of_trial())
    bars = _bars(root)
    pattern = root.find(f"{SVG}defs/{SVG}pattern")
    assert f"url(#{pattern.get('id')})" == HATCH
    assert bars["2"].get("fill") == HATCH  # collapsed: hatched at the 0.5 it reported
    assert float(bars["2"].get("height")) > 10
    assert bars["3"].get("fill") != HATCH and float(bars["3"].get("height")) <= 1  # failed: empty slot
    texts = _texts(root)
    assert "collapsed" in texts and "failed, no value" in texts
    curves = [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("curve")]
    dashed = {g.get("data-trial"): g.find(f"{SVG}polyline").get("stroke-dasharray") for g in curves}
    assert dashed["2"] and not dashed["1"]  # the collapsed trial's line is dashed


def test_the_title_names_the_selection_and_the_legend_names_overlapping_curves():
    job = _job_with_every_kind_of_trial()
    job.study_spec.measurement_selection_type = StudySpec.MeasurementSelectionType.BEST_MEASUREMENT
    texts = _texts(_svg(job))
    assert "accuracy per trial: best measurement (as the job selects)" in texts
    assert "best: trial 1, 0.8" in texts
    assert "same curve, drawn over each other: trials 2, 4" in texts
    assert "trial 2 (collapsed; same as 4)" in texts and "trial 4 (same as 2)" in texts
    assert "trial 1 (best)" in texts


def test_minimizing_highlights_the_lowest_and_ties_are_named():
    root = _svg(
        _job(
            [_trial("1", [0.5]), _trial("2", [0.2]), _trial("3", [0.2])],
            StudySpec.MetricSpec.GoalType.MINIMIZE,
        )
    )
    assert sorted(name for name, bar in _bars(root).items() if bar.get("fill") == BEST_COLOUR) == ["2", "3"]
    assert "best: trials 2, 3 tied at 0.2" in _texts(root)


def test_hostile_strings_from_the_job_are_escaped_and_the_document_still_parses():
    hostile = '<script>&"'
    failed = _trial("</svg>", [0.3], Trial.State.INFEASIBLE, metric=hostile)
    failed.infeasible_reason = "failed: <b>&amp; \x00 \x1b ' \"</b>"
    job = _job([_trial("1&2", [0.4, 0.6], metric=hostile), failed], metric=hostile)
    job.display_name = "</title><script>alert(1)</script>"

    text = render_svg(job)
    assert "<script>" not in text and "</svg>" not in text.removesuffix("</svg>\n")
    root = ET.fromstring(text.encode("utf-8"))
    assert f"{hostile} per trial: last measurement (as the job selects)" in _texts(root)
    assert sorted(_bars(root)) == ["1&2", "</svg>"]
    assert root.find(f"{SVG}title").text.startswith("</title><script>")
    assert not root.findall(f".//{SVG}script")


def test_a_job_without_trials_is_still_a_chart_saying_so(tmp_path):
    root = ET.parse(write_chart(_job([]), tmp_path / "chart.svg")).getroot()
    assert root.tag == f"{SVG}svg"
    assert not _bars(root)
    assert "no trials" in _texts(root) and "no measurements reported" in _texts(root)


def test_a_long_job_keeps_the_legend_short():
    trials = [_trial(str(n), [0.1 + n / 100, 0.2 + n / 100]) for n in range(1, 61)]
    root = _svg(_job(trials))
    assert len(_bars(root)) == 60
    (legend_group,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
    legend = _texts(legend_group)
    assert "trial 60 (best)" in legend and "and 40 more trials (a line's tooltip names it)" in legend
    assert len(legend) == 21
    assert int(root.get("height")) < 700


def test_the_title_names_the_selected_measurement_and_ties():
    def selecting(job, selection=StudySpec.MeasurementSelectionType.BEST_MEASUREMENT):
        job.study_spec.measurement_selection_type = selection
        return job

    tied = selecting(_job([_trial("1", [0.9]), _trial("2", [0.5, 0.9]), _trial("3", [0.7])]))
    data = chart_data(tied)
    assert data.title.startswith("accuracy per trial: best measurement (as the job selects)")
    assert "best: trials 1, 2 tied at 0.9" in data.title
    assert [bar.best for bar in data.bars] == [True, True, False]
    last = chart_data(
        selecting(_job([_trial("1", [0.9])]), StudySpec.MeasurementSelectionType.LAST_MEASUREMENT)
    )
    assert "last measurement" in last.title and "best: trial 1, 0.9" in last.title


def test_collapsed_and_failed_trials_are_marked_and_overlapping_curves_named():
    data = chart_data(_job_with_every_kind_of_trial())
    marks = {bar.trial_id: (bar.mark, bar.selected, bar.value) for bar in data.bars}
    assert marks == {
        "1": ("", True, 0.8),
        "2": ("collapsed", False, 0.5),  # drawn at what it reported, hatched, labelled
        "3": ("failed", False, None),
        "4": ("", True, 0.5),
        "5": ("", True, 0.75),
    }
    assert data.overlapping == [["2", "4"]]  # flat at 0.5: one line hides the other


def test_values_that_are_not_numbers_are_left_out_of_the_drawing():
    diverged = _trial("2", [0.5, float("nan"), float("inf")], Trial.State.INFEASIBLE)
    diverged.infeasible_reason = "diverged: the loss is not a number"
    text = render_svg(_job([_trial("1", [0.6, 0.7]), diverged]))
    assert "nan" not in text.lower() and "inf" not in text.replace("infeasible", "")
    ET.fromstring(text.encode("utf-8"))
