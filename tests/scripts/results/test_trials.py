"""Best trial and trial counts: the v1 job has no best-trial field, so we pick it ourselves."""

from __future__ import annotations

import math

import pytest
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, StudySpec, Trial

from scripts.results.trials import best_trial, count_outcomes, outcome, ranked
from tests.fakes.job_service import make_trial

INFEASIBLE = Trial.State.INFEASIBLE


def job_with(*trials: Trial, goal: str = "MAXIMIZE", metric: str = "accuracy") -> HyperparameterTuningJob:
    spec = StudySpec(
        metrics=[StudySpec.MetricSpec(metric_id=metric, goal=StudySpec.MetricSpec.GoalType[goal])]
    )
    return HyperparameterTuningJob(study_spec=spec, trials=list(trials), max_trial_count=len(trials))


def test_maximize_picks_the_highest_final_value():
    job = job_with(
        make_trial("1", {"lr": 0.1}, 0.7), make_trial("2", {"lr": 0.2}, 0.9), make_trial("3", {}, 0.8)
    )
    assert best_trial(job).id == "2"
    assert [t.id for t in ranked(job)] == ["2", "3", "1"]


def test_minimize_picks_the_lowest_final_value():
    job = job_with(
        make_trial("1", {}, 0.7, metric="loss"),
        make_trial("2", {}, 0.2, metric="loss"),
        make_trial("3", {}, 0.4, metric="loss"),
        goal="MINIMIZE",
        metric="loss",
    )
    assert best_trial(job).id == "2"
    assert [t.id for t in ranked(job)] == ["2", "3", "1"]


def test_ties_go_to_the_trial_created_first_by_numeric_id():
    job = job_with(make_trial("10", {}, 0.9), make_trial("9", {}, 0.9), make_trial("2", {}, 0.5))
    assert best_trial(job).id == "9"  # "9" < "10" as numbers, not as text
    assert [t.id for t in ranked(job)] == ["9", "10", "2"]


def test_the_final_measurement_decides_not_a_better_intermediate_one():
    trial = make_trial("1", {}, 0.6)
    trial.measurements[0].metrics[0].value = 0.99  # an earlier epoch was better
    job = job_with(trial, make_trial("2", {}, 0.7))
    assert best_trial(job).id == "2"


def test_only_succeeded_trials_with_a_finite_metric_compete():
    no_final = make_trial("2", {}, None)  # SUCCEEDED without a final measurement
    other_metric = make_trial("3", {}, 0.99, metric="loss")
    not_a_number = make_trial("4", {}, math.nan)
    infeasible_with_value = make_trial(
        "5", {}, 0.98, state=INFEASIBLE, reason="stopped: stopped before it finished: cancel."
    )
    job = job_with(make_trial("1", {}, 0.5), no_final, other_metric, not_a_number, infeasible_with_value)
    assert best_trial(job).id == "1"
    assert [t.id for t in ranked(job)] == ["1"]


def test_all_infeasible_trials_have_no_best_and_are_counted():
    job = job_with(
        make_trial(
            "1", {}, None, state=INFEASIBLE, reason="The trial reported no measurement of metric 'accuracy'."
        ),
        make_trial("2", {}, None, state=INFEASIBLE, reason=""),
    )
    assert best_trial(job) is None
    counts = count_outcomes(job)
    assert counts["infeasible"] == 2 and counts["succeeded"] == 0 and counts["total"] == 2


@pytest.mark.parametrize(
    ("state", "reason", "expected"),
    [
        (Trial.State.SUCCEEDED, "", "succeeded"),
        (INFEASIBLE, "The trial reported no measurement of metric 'accuracy'.", "infeasible"),
        (INFEASIBLE, "", "infeasible"),
        (INFEASIBLE, "The trial reported no measurement of metric 'error_rate'.", "infeasible"),
        (INFEASIBLE, "failed: the trial's process exited with status 1; see trial.log.", "failed"),
        (INFEASIBLE, "stopped: stopped before it finished: the job was cancelled.", "stopped"),
        # Only the tag that whoever ended the trial set counts, never the wording around it.
        (INFEASIBLE, "infeasible: the trial's replica failed to report; it stopped.", "infeasible"),
        (INFEASIBLE, "Trial job failed with error: OOM", "infeasible"),
        (INFEASIBLE, "Stopped: the job was cancelled.", "infeasible"),
        (Trial.State.STOPPING, "", "stopped"),
        (Trial.State.ACTIVE, "", "active"),
        (Trial.State.REQUESTED, "", "active"),
        (INFEASIBLE, "collapsed: collapsed at epoch 2: constant predictions", "collapsed"),
        (INFEASIBLE, "diverged: diverged at epoch 1: val_loss became nan", "diverged"),
    ],
)
def test_outcome_of_each_kind_of_trial(state, reason, expected):
    value = 0.5 if state == Trial.State.SUCCEEDED else None
    assert outcome(make_trial("1", {}, value, state=state, reason=reason), "accuracy") == expected


def test_counts_cover_every_outcome_with_zeros():
    job = job_with(
        make_trial("1", {}, 0.5),
        make_trial("2", {}, None, state=INFEASIBLE, reason="failed: exited with status 2"),
        make_trial("3", {}, None, state=Trial.State.ACTIVE),
    )
    assert count_outcomes(job) == {
        "succeeded": 1,
        "infeasible": 0,
        "failed": 1,
        "stopped": 0,
        "collapsed": 0,
        "diverged": 0,
        "active": 1,
        "total": 3,
    }
