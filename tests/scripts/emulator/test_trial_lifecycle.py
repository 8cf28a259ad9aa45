"""Median automated stopping: the rule itself, and a clearly worse trial stopped by the emulator."""

from __future__ import annotations

import json

from google.cloud.aiplatform_v1 import JobState, Measurement, Trial

from scripts.emulator.trial_lifecycle import should_stop

from .conftest import StudySpec, categorical, make_job

MEDIAN = StudySpec.MedianAutomatedStoppingSpec()


def _curve(*values: float) -> list[Measurement]:
    return [
        Measurement(step_count=step, metrics=[Measurement.Metric(metric_id="accuracy", value=value)])
        for step, value in enumerate(values, start=1)
    ]


def _spec(goal=StudySpec.MetricSpec.GoalType.MAXIMIZE) -> StudySpec:
    return StudySpec(
        metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=goal)], median_automated_stopping_spec=MEDIAN
    )


def test_the_median_rule_compares_the_best_so_far_with_completed_running_averages_up_to_that_step():
    completed = [_curve(0.5, 0.7, 0.9), _curve(0.6, 0.8, 1.0)]
    # By step 1 the completed trials averaged 0.5 and 0.6 (median 0.55).
    assert should_stop(_spec(), _curve(0.5), completed)
    assert not should_stop(_spec(), _curve(0.56), completed)
    # By step 2 they averaged 0.6 and 0.7 (median 0.65): the best so far (0.62) counts, not the last.
    assert should_stop(_spec(), _curve(0.5, 0.6), completed)
    assert not should_stop(_spec(), _curve(0.66, 0.1), completed)
    # Minimizing, lower is better.
    minimize = _spec(StudySpec.MetricSpec.GoalType.MINIMIZE)
    assert should_stop(minimize, _curve(0.7), completed)
    assert not should_stop(minimize, _curve(0.5), completed)


def test_use_elapsed_duration_compares_by_time_not_step():
    def timed(*pairs: tuple[float, float]) -> list[Measurement]:
        return [
            Measurement(
                step_count=1,
                elapsed_duration={"seconds": int(seconds)},
                metrics=[Measurement.Metric(metric_id="accuracy", value=value)],
            )
            for seconds, value in pairs
        ]

    spec = StudySpec(
        metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=1)],
        median_automated_stopping_spec=StudySpec.MedianAutomatedStoppingSpec(use_elapsed_duration=True),
    )
    completed = [timed((10, 0.2), (100, 0.9)), timed((10, 0.3), (100, 0.9))]
    # At 10 s the completed trials averaged 0.2 and 0.3; at 100 s, 0.55 and 0.6.
    assert not should_stop(spec, timed((10, 0.4)), completed)
    assert should_stop(spec, timed((100, 0.4)), completed)


def test_no_stopping_without_a_spec_or_enough_completed_trials():
    no_spec = StudySpec(metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=1)])
    assert not should_stop(no_spec, _curve(0.0), [_curve(0.9), _curve(0.9)])
    assert not should_stop(_spec(), _curve(0.0), [_curve(0.9)])


def test_the_emulator_stops_a_clearly_worse_trial_and_keeps_its_measurements(emulator):
    # Grid order: two good trials complete first, then one far worse.
    job = make_job(
        args=["--steps=8", "--sleep=0.15", f"--record={emulator.records}"],
        parameters=[categorical("base", ["0.8", "0.82", "0.1"])],  # discrete values must increase
        max_trials=3,
        parallel=1,
        algorithm=StudySpec.Algorithm.GRID_SEARCH,
        median_automated_stopping_spec=MEDIAN,
    )
    job = emulator.wait(emulator.submit(job).name)

    assert job.state == JobState.JOB_STATE_SUCCEEDED
    good, better, worse = job.trials
    assert len(good.measurements) == len(better.measurements) == 8
    assert worse.state == Trial.State.SUCCEEDED  # as Vertex records a stopped trial
    assert 1 <= len(worse.measurements) < 8
    assert worse.final_measurement.metrics[0].value == 0.1
    assert json.loads((emulator.records / "trial-3.json").read_text())["terminated"]
    log = emulator.state_dir / "jobs" / "1" / "trials" / "3" / "trial.log"
    assert "[emulator] stopped early by the median rule after step" in log.read_text()


# A trainer that reports one epoch, then stops a collapsed model as trainer/task.py does: a last
# line on stderr, `hpt-trial-outcome: <outcome>: <reason>`, and a non-zero status.
_COLLAPSING_TRAINER = """
import sys, hypertune
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="accuracy", metric_value=0.5, global_step=1)
print("hpt-trial-outcome: collapsed: collapsed at epoch 2: constant predictions (0.513 for every image)",
      file=sys.stderr)
sys.exit(4)
"""


def test_a_trial_the_trainer_stopped_as_collapsed_is_recorded_with_its_reason(emulator):
    import sys

    from scripts.results.trials import count_outcomes

    job = make_job(max_trials=1)
    job.trial_job_spec.worker_pool_specs[0].container_spec.command = [
        sys.executable,
        "-c",
        _COLLAPSING_TRAINER,
    ]
    ended = emulator.wait(emulator.submit(job).name)

    trial = ended.trials[0]
    assert trial.state == Trial.State.INFEASIBLE
    assert (
        trial.infeasible_reason
        == "collapsed: collapsed at epoch 2: constant predictions (0.513 for every image)"
    )
    assert [m.metrics[0].value for m in trial.measurements] == [0.5]  # kept for the chart
    assert count_outcomes(ended)["collapsed"] == 1


def test_the_trainers_outcome_line_is_read_from_the_end_of_the_log(tmp_path):
    from scripts.emulator.trial_lifecycle import trainer_outcome
    from scripts.jobs.states import TrialOutcome

    log = tmp_path / "trial.log"
    log.write_text(
        "x\n" * 50_000 + "hpt-trial-outcome: diverged: diverged at epoch 1: loss became nan\nbye\n"
    )
    assert trainer_outcome(log) == (TrialOutcome.DIVERGED, "diverged at epoch 1: loss became nan")
    log.write_text("hpt-trial-outcome: failed: anything else is not the trainer's to say\n")
    assert trainer_outcome(log) is None
    log.write_text("Traceback (most recent call last):\n")
    assert trainer_outcome(log) is None
    assert trainer_outcome(tmp_path / "missing.log") is None
