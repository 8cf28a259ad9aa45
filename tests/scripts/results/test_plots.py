"""The pictures of a study: every one written as a valid PNG and SVG, the same bytes on every
render, whatever the job holds (no trials, failed and collapsed trials, odd parameter ids)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from google.cloud.aiplatform_v1 import StudySpec, Trial

from scripts.results.plots import picture_names, write_pictures
from tests.fakes.job_service import make_trial
from tests.scripts.results.study_jobs import CODELAB, learning_rate_decides, study_job

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def every_kind_of_trial():
    """Succeeded trials (one that ended before the others), stopped, collapsed, diverged, failed
    and running ones, a categorical parameter, and a parameter id with a `$` in it."""
    optimizer = StudySpec.ParameterSpec(
        parameter_id="optimizer", categorical_value_spec={"values": ["sgd", "adam", "rms$prop"]}
    )
    trials = [
        make_trial(
            "1",
            {"learning_rate": 0.01, "momentum": 0.5, "num_units": 128.0, "optimizer": "sgd"},
            0.8,
            steps=4,
        ),
        make_trial(
            "2", {"learning_rate": 0.3, "momentum": 1.0, "num_units": 64.0, "optimizer": "adam"}, 0.9, steps=2
        ),
        make_trial(
            "3",
            {"learning_rate": 0.001, "momentum": 0.0, "num_units": 512.0, "optimizer": "rms$prop"},
            0.6,
            steps=4,
        ),
    ]
    for trial_id, outcome, state in (
        ("4", "collapsed", Trial.State.INFEASIBLE),
        ("5", "diverged", Trial.State.INFEASIBLE),
        ("6", "stopped", Trial.State.INFEASIBLE),
        ("7", "failed", Trial.State.INFEASIBLE),
    ):
        ended = make_trial(
            trial_id, {"learning_rate": 0.5, "momentum": 0.9, "optimizer": "adam"}, 0.5, steps=2
        )
        ended.state = state
        ended.infeasible_reason = f"{outcome}: at epoch 2"
        del ended.final_measurement
        trials.append(ended)
    trials.append(Trial(id="8", state=Trial.State.ACTIVE))
    return study_job(trials, parameters=[*CODELAB, optimizer])


def _check_pictures(directory, written):
    assert [path.name for path in written] == picture_names()
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC), path
        else:
            root = ET.fromstring(data)
            assert root.tag == "{http://www.w3.org/2000/svg}svg", path


def test_every_picture_is_written_as_png_and_svg(tmp_path):
    written = write_pictures(learning_rate_decides(), tmp_path / "run")
    assert {path.stem for path in written} == {"history", "parallel-coordinates", "curves", "slices"}
    _check_pictures(tmp_path / "run", written)


def test_two_renders_of_the_same_job_are_byte_identical(tmp_path):
    first = write_pictures(every_kind_of_trial(), tmp_path / "first")
    second = write_pictures(every_kind_of_trial(), tmp_path / "second")
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_the_curves_mark_how_each_trial_ended(tmp_path):
    written = write_pictures(every_kind_of_trial(), tmp_path)
    _check_pictures(tmp_path, written)
    # matplotlib writes each text's string as a comment beside its glyphs.
    curves = (tmp_path / "curves.svg").read_text()
    for label in (
        "collapsed",
        "diverged",
        "stopped",
        "failed",
        "ended before the others",
        "best trial (2)",
        "the trial's value",
    ):
        assert f"<!-- {label} -->" in curves, label
    # A `$` in a value is text, not the start of a formula.
    assert "<!-- rms$prop -->" in (tmp_path / "slices.svg").read_text()


def test_a_job_without_trials_still_gets_every_picture(tmp_path):
    written = write_pictures(study_job([]), tmp_path)
    _check_pictures(tmp_path, written)
    assert "<!-- no trials -->" in (tmp_path / "history.svg").read_text()
