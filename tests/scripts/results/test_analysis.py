"""What the study found, from the job's trials alone: importance, best regions, advice, caveat;
in summary.json, summary.md (and so the comment and `report`), and best_params.json."""

from __future__ import annotations

import json
import math

import pytest
from google.cloud.aiplatform_v1 import StudySpec, Trial

from scripts.results.analysis import ENOUGH_TRIALS, analyze
from scripts.results.files import write_summary
from scripts.results.markdown import render_markdown
from scripts.results.summary import summary
from scripts.vertex.backend import Backend
from tests.fakes.job_service import make_trial
from tests.markdown_render import parse
from tests.scripts.results.study_jobs import (
    CODELAB,
    learning_rate_decides,
    momentum_decides,
    study_job,
)

VERTEX = Backend.vertex()


def test_the_parameter_that_decides_the_metric_gets_the_largest_importance():
    found = analyze(learning_rate_decides())
    importance = found["importance"]

    assert set(importance) == {"learning_rate", "momentum", "num_units"}  # every parameter
    assert all(value is not None and value >= 0 for value in importance.values())
    assert math.isclose(sum(importance.values()), 1.0, abs_tol=1e-9)
    assert max(importance, key=importance.get) == "learning_rate"
    assert importance["learning_rate"] > 0.5


def test_the_same_trials_give_the_same_numbers():
    assert analyze(learning_rate_decides()) == analyze(learning_rate_decides())


def test_the_best_region_is_what_the_top_quarter_spans_and_a_small_one_says_narrow_it():
    found = analyze(learning_rate_decides())
    top = found["analysis"]["top_trials"]
    assert len(top) == 4  # a quarter of 16

    region = found["best_region"]["learning_rate"]
    # The top 4 of 16 learning rates spaced 0.2 decades apart around the peak at 10^-1.5.
    assert region["low"] == pytest.approx(10**-1.8) and region["high"] == pytest.approx(10**-1.2)
    assert region["range"] == [0.001, 1] and region["scale"] == "log"
    assert found["best_region"]["num_units"]["choices"] == [64, 128, 512]
    assert (
        "All top trials have learning_rate in [0.0158, 0.0631]; the range spans 0.001–1: narrow it."
        in (found["analysis"]["advice"])
    )
    # The parameters that did not matter are named as such.
    assert any(line.startswith("momentum barely mattered") for line in found["analysis"]["advice"])
    assert found["analysis"]["caveat"] is None and found["analysis"]["enough_trials"] is True


def test_a_best_trial_on_a_bound_says_widen_it():
    found = analyze(momentum_decides())
    advice = found["analysis"]["advice"]

    assert "The best trial sits on momentum's upper bound (1): widen the range above it." in advice
    assert found["best_region"]["momentum"]["best"] == 1
    assert max(found["importance"], key=found["importance"].get) == "momentum"


def test_a_parameter_that_never_varied_gets_no_importance_and_says_so():
    found = analyze(momentum_decides())  # num_units is 128 in every trial
    assert found["importance"]["num_units"] == 0.0
    assert found["best_region"]["num_units"]["values"] == [128]
    assert (
        "num_units had the same value in every completed trial (128): the study says nothing about it."
        in found["analysis"]["advice"]
    )


def test_a_discrete_value_no_top_trial_took_is_named_apart_from_one_never_tried():
    trials = [
        make_trial(str(i), {"learning_rate": 0.01 * i, "momentum": 0.1 * i, "num_units": units}, value)
        for i, (units, value) in enumerate([(64.0, 0.6), (128.0, 0.9), (64.0, 0.5), (128.0, 0.95)], 1)
    ]
    advice = analyze(study_job(trials))["analysis"]["advice"]
    assert (
        "All top trials have num_units in {128}; the trials with 64 did worse: drop it "
        "(no completed trial had 512)." in advice
    )


def test_too_few_completed_trials_come_with_the_caveat():
    few = learning_rate_decides(count=6)
    found = analyze(few)
    assert found["analysis"]["enough_trials"] is False
    assert found["analysis"]["caveat"] == (
        f"Only 6 completed trials (fewer than {ENOUGH_TRIALS}): the importance, regions and advice are "
        "hints to check with a larger study, not findings."
    )
    assert math.isclose(sum(found["importance"].values()), 1.0, abs_tol=1e-9)  # still given


def test_with_two_completed_trials_there_is_no_importance_and_the_caveat_says_why():
    trials = [
        make_trial("1", {"learning_rate": 0.01, "momentum": 0.2, "num_units": 64.0}, 0.7),
        make_trial("2", {"learning_rate": 0.1, "momentum": 0.9, "num_units": 512.0}, 0.8),
        make_trial(
            "3",
            {"learning_rate": 0.5, "momentum": 0.5, "num_units": 128.0},
            None,
            state=Trial.State.INFEASIBLE,
        ),
    ]
    found = analyze(study_job(trials))
    assert found["importance"] == {"learning_rate": None, "momentum": None, "num_units": None}
    assert found["analysis"]["completed_trials"] == 2
    assert found["analysis"]["caveat"].startswith("Only 2 completed trials: too few to say which parameter")
    # The regions are still what the (two) top trials span.
    assert found["best_region"]["learning_rate"]["low"] == 0.01


def test_a_job_without_completed_trials_has_an_empty_analysis():
    trials = [make_trial("1", {"learning_rate": 0.01}, None, state=Trial.State.INFEASIBLE)]
    found = analyze(study_job(trials))
    assert found["best_region"] == {"learning_rate": None, "momentum": None, "num_units": None}
    assert found["analysis"]["top_trials"] == [] and found["analysis"]["advice"] == []


def test_minimize_ranks_the_lowest_values_on_top():
    job = learning_rate_decides()
    for trial in job.trials:
        trial.final_measurement.metrics[0].value = -trial.final_measurement.metrics[0].value
    job.study_spec.metrics[0].goal = StudySpec.MetricSpec.GoalType.MINIMIZE
    found = analyze(job)
    assert found["analysis"]["top_trials"] == analyze(learning_rate_decides())["analysis"]["top_trials"]
    assert max(found["importance"], key=found["importance"].get) == "learning_rate"


def test_parameters_the_spec_does_not_describe_are_analysed_as_observed():
    trials = [
        make_trial(str(i), {"optimizer": name, "x": float(i)}, i / 10) for i, name in enumerate("aabb", 1)
    ]
    found = analyze(study_job(trials, parameters=()))
    assert set(found["importance"]) == {"optimizer", "x"}
    assert found["best_region"]["optimizer"] == {"values": ["b"], "best": "b"}  # top 2: trials 4 and 3
    assert "range" not in found["best_region"]["x"]


def test_summary_json_and_the_markdown_carry_the_findings():
    job = learning_rate_decides()
    data = summary(job, backend=VERTEX.where(job))
    assert set(data["importance"]) == {spec.parameter_id for spec in CODELAB}
    assert set(data["best_region"]) == set(data["importance"])
    assert data["analysis"]["advice"]
    json.dumps(data)

    markdown = render_markdown(job, backend=VERTEX.where(job))
    section = markdown.split("#### What the study found\n", 1)[1].split("```mermaid", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `learning_rate` | 0.98")  # the most important first
    assert "| 0.0158 – 0.0631 (log) | 0.001 – 1 |" in rows[0]
    assert "- All top trials have learning\\_rate in" not in section  # `_` in a word stays as written
    assert "- All top trials have learning_rate in [0.0158, 0.0631]" in section


def test_a_parameter_id_from_the_file_cannot_build_markdown(tmp_path):
    hostile = "lr|<img src=x>@octocat"
    trials = [make_trial(str(i), {hostile: 0.1 * i}, 0.1 * i) for i in range(1, 6)]
    spec = StudySpec.ParameterSpec(
        parameter_id=hostile,
        double_value_spec=StudySpec.ParameterSpec.DoubleValueSpec(min_value=0, max_value=1),
    )
    job = study_job(trials, parameters=[spec])
    markdown = render_markdown(job, backend=VERTEX.where(job))
    root, stray = parse(markdown)
    assert not stray

    def tags(element):
        for child in element.children:
            if not isinstance(child, str):
                yield child.tag
                yield from tags(child)

    assert "img" not in set(tags(root))
    table = markdown.split("#### What the study found", 1)[1]
    row = next(line for line in table.splitlines() if line.startswith("| `lr"))
    assert len(row.replace("\\|", "").split("|")) == 6  # four cells: the id's `|` split nothing


def test_the_run_directory_holds_best_params_json(tmp_path):
    emulator = Backend.emulator_at("127.0.0.1:1", tmp_path / "state")
    job = learning_rate_decides()
    write_summary(job, tmp_path / "run", backend=emulator.where(job))
    best = json.loads((tmp_path / "run" / "best_params.json").read_text())

    assert best["trial"] == "8" and best["value"] == pytest.approx(
        1 - abs(math.log10(10 ** (-3 + 3 * 7 / 15)) + 1.5) / 3
    )
    assert best["metric"] == {"id": "accuracy", "goal": "maximize"}
    # As the trainer gets them: a discrete whole value without `.0`, a double as Python writes it.
    assert best["flags"] == [
        f"--learning_rate={10 ** (-3 + 3 * 7 / 15)!r}",
        f"--momentum={((7 * 7) % 16) / 15!r}",
        "--num_units=128",
    ]
    assert best["model_dir"] == f"{tmp_path / 'state' / 'gcs' / 'bucket' / 'hpt'}/8/model/"
    data = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert data["best_trial"]["id"] == best["trial"]
    assert "history.svg" in data["pictures"]
    markdown = (tmp_path / "run" / "summary.md").read_text()
    assert "[parallel-coordinates.svg](parallel-coordinates.svg)" in markdown  # beside it, linked


def test_best_params_json_of_a_job_without_a_best_trial_has_its_keys_empty(tmp_path):
    trials = [make_trial("1", {"learning_rate": 0.01}, None, state=Trial.State.INFEASIBLE)]
    job = study_job(trials)
    write_summary(job, tmp_path, backend=VERTEX.where(job))
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert best["trial"] is None and best["flags"] == [] and best["model_dir"] is None


def test_a_finished_codelab_run_has_an_importance_and_a_best_region_for_every_parameter(tmp_path):
    """Issue 25's target, on a real run: the job `make tune` ran (6 trials, offline profile), as
    `run --json` printed it, stored for the benchmark."""
    from scripts.paths import REPO_ROOT
    from scripts.results.plots import picture_names
    from scripts.vertex.jobjson import from_json

    job = from_json((REPO_ROOT / "bench" / "data" / "horses-humans-offline-job.json").read_text())
    emulator = Backend.emulator_at("127.0.0.1:1", tmp_path / "state")
    write_summary(job, tmp_path / "run", backend=emulator.where(job))
    data = json.loads((tmp_path / "run" / "summary.json").read_text())

    parameters = {"learning_rate", "momentum", "num_units"}
    assert set(data["importance"]) == parameters == set(data["best_region"])
    assert all(value >= 0 for value in data["importance"].values())
    assert math.isclose(sum(data["importance"].values()), 1.0, abs_tol=1e-6)
    assert all(region is not None for region in data["best_region"].values())
    assert data["analysis"]["caveat"].startswith("Only 6 completed trials")
    assert data["pictures"] == picture_names()
    assert all((tmp_path / "run" / name).stat().st_size > 0 for name in picture_names())
    assert (tmp_path / "run" / "best_params.json").is_file()
