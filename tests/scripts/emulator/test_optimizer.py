"""Suggestions: grid, scales (log and reverse log), conditional parameters, seeds; real Optuna."""

from __future__ import annotations

import math
import statistics

import pytest
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState

from scripts.emulator.optimizer import Optimizer, study_seed

from .conftest import ParameterSpec, StudySpec, discrete, double, make_job

Scale = ParameterSpec.ScaleType
Conditional = ParameterSpec.ConditionalParameterSpec


def _optimizer(tmp_path, parameters, algorithm=StudySpec.Algorithm.RANDOM_SEARCH, name="1", seed=7, **job):
    spec = make_job(parameters=parameters, algorithm=algorithm, **job)
    spec.name = f"projects/p/locations/l/hyperparameterTuningJobs/{name}"
    return Optimizer(tmp_path, HyperparameterTuningJob(spec), seed=seed)


def _values(optimizer, count):
    return [{p.parameter_id: p.value for p in optimizer.ask(i)[1]} for i in range(count)]


def _categorical(parameter_id, values, children=()):
    return ParameterSpec(
        parameter_id=parameter_id,
        categorical_value_spec=ParameterSpec.CategoricalValueSpec(values=values),
        conditional_parameter_specs=list(children),
    )


def _integer(parameter_id, low, high, scale=Scale.UNIT_LINEAR_SCALE):
    bounds = ParameterSpec.IntegerValueSpec(min_value=low, max_value=high)
    return ParameterSpec(parameter_id=parameter_id, integer_value_spec=bounds, scale_type=scale)


def test_grid_enumerates_every_combination_once_then_stops(tmp_path):
    parameters = [
        _categorical(
            "optimizer",
            ["sgd", "adam"],
            children=[
                Conditional(
                    parent_categorical_values=Conditional.CategoricalValueCondition(values=["sgd"]),
                    parameter_spec=discrete("momentum", [0.0, 0.9]),
                ),
            ],
        ),
        _integer("layers", 1, 2),
    ]
    optimizer = _optimizer(tmp_path, parameters, StudySpec.Algorithm.GRID_SEARCH, max_trials=20)

    points = [optimizer.ask(i) for i in range(7)]

    assert points[-1] is None  # (sgd x 2 momenta + adam) x 2 layer counts = 6 points
    seen = [tuple(sorted((p.parameter_id, p.value) for p in parameters)) for _, parameters in points[:6]]
    assert len(set(seen)) == 6
    assert set(seen) == {
        (("layers", layers), ("momentum", momentum), ("optimizer", "sgd"))
        for layers in (1, 2)
        for momentum in (0.0, 0.9)
    } | {(("layers", layers), ("optimizer", "adam")) for layers in (1, 2)}


def test_grid_search_through_the_emulator_runs_each_point_and_ends_when_the_grid_does(emulator):
    job = make_job(
        parameters=[discrete("base", [0.1, 0.2, 0.3])],
        max_trials=10,
        parallel=2,
        algorithm=StudySpec.Algorithm.GRID_SEARCH,
    )
    job = emulator.wait(emulator.submit(job).name)

    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert sorted(t.parameters[0].value for t in job.trials) == [0.1, 0.2, 0.3]


def test_log_scale_is_sampled_uniformly_in_log_space(tmp_path):
    optimizer = _optimizer(tmp_path, [double("learning_rate", 1e-4, 1.0, Scale.UNIT_LOG_SCALE)])
    samples = [v["learning_rate"] for v in _values(optimizer, 80)]

    assert all(1e-4 <= x <= 1.0 for x in samples)
    # Uniform in log10 space over [-4, 0]: the median exponent is near -2; a linear scale gives ~-0.3.
    assert -2.7 < statistics.median(math.log10(x) for x in samples) < -1.3
    assert sum(x < 1e-2 for x in samples) >= 25


def test_reverse_log_scale_spreads_out_the_top_of_the_range(tmp_path):
    parameters = [
        double("momentum", 0.0, 1.0, Scale.UNIT_REVERSE_LOG_SCALE),
        double("beta", 1e-4, 1.0, Scale.UNIT_REVERSE_LOG_SCALE),
        _integer("width", 1, 1000, Scale.UNIT_REVERSE_LOG_SCALE),
    ]
    samples = _values(_optimizer(tmp_path, parameters), 80)

    widths = [v["width"] for v in samples]
    assert all(float(w).is_integer() and 1 <= w <= 1000 for w in widths)
    assert sum(w > 990 for w in widths) >= 25  # dense near the top, like beta

    assert all(0.0 <= v["momentum"] <= 1.0 and 1e-4 <= v["beta"] <= 1.0 for v in samples)
    # beta = 1 + 1e-4 - y with y log-uniform on [1e-4, 1]: half the samples lie above ~0.99.
    assert 25 <= sum(v["beta"] > 0.99 for v in samples) <= 55
    # momentum on [0, 1]: y log-uniform on [0.01, 1.01], so the median is near 1 - 0.09.
    assert statistics.median(v["momentum"] for v in samples) > 0.8


def test_conditional_parameters_appear_only_under_matching_parents(tmp_path):
    parameters = [
        _categorical(
            "optimizer",
            ["sgd", "adam"],
            children=[
                Conditional(
                    parent_categorical_values=Conditional.CategoricalValueCondition(values=["sgd"]),
                    parameter_spec=double("momentum", 0.0, 1.0),
                ),
            ],
        ),
        ParameterSpec(
            parameter_id="layers",
            integer_value_spec=ParameterSpec.IntegerValueSpec(min_value=1, max_value=3),
            conditional_parameter_specs=[
                Conditional(
                    parent_int_values=Conditional.IntValueCondition(values=[3]),
                    parameter_spec=discrete("width", [32, 64]),
                ),
            ],
        ),
        ParameterSpec(
            parameter_id="dropout",
            discrete_value_spec=ParameterSpec.DiscreteValueSpec(values=[0.0, 0.5]),
            conditional_parameter_specs=[
                Conditional(
                    parent_discrete_values=Conditional.DiscreteValueCondition(values=[0.5]),
                    parameter_spec=_categorical("where", ["early", "late"]),
                ),
            ],
        ),
    ]
    samples = _values(_optimizer(tmp_path, parameters), 40)
    # The default algorithm (a GP over the parameters every trial has) keeps to the conditions too.
    bayesian = _optimizer(tmp_path / "gp", parameters, StudySpec.Algorithm.ALGORITHM_UNSPECIFIED)
    for index in range(12):
        number, suggested = bayesian.ask(index)
        values = _as_dict(suggested)
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        assert ("width" in values) == (values["layers"] == 3)
        bayesian.tell(number, float(index % 5))

    for values in samples:
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        assert ("width" in values) == (values["layers"] == 3)
        assert ("where" in values) == (values["dropout"] == 0.5)
    # Both branches of each condition were explored.
    assert {v["optimizer"] for v in samples} == {"sgd", "adam"}
    assert {v["layers"] for v in samples} == {1, 2, 3}


def test_the_same_seed_suggests_the_same_trials(tmp_path):
    parameters = [double("learning_rate", 1e-3, 1.0, Scale.UNIT_LOG_SCALE), discrete("units", [64, 128, 512])]
    bayesian = StudySpec.Algorithm.ALGORITHM_UNSPECIFIED
    first = _values(_optimizer(tmp_path / "a", parameters, bayesian), 3)
    again = _values(_optimizer(tmp_path / "b", parameters, bayesian), 3)
    other = _values(_optimizer(tmp_path / "c", parameters, bayesian, seed=8), 3)

    assert first == again
    assert first != other
    # Without a seed option, the seed comes from the job: same spec, same seed.
    assert study_seed(make_job()) == study_seed(make_job())
    assert study_seed(make_job()) != study_seed(make_job(display_name="another"))


def _codelab_space():
    return [
        double("learning_rate", 1e-3, 1.0, Scale.UNIT_LOG_SCALE),
        double("momentum", 0.0, 1.0),
        discrete("num_units", [64, 128, 512]),
    ]


def _as_dict(parameters):
    return {p.parameter_id: p.value for p in parameters}


def test_a_resumed_study_proposes_what_the_uninterrupted_one_would_and_repeats_nothing(tmp_path):
    bayesian = StudySpec.Algorithm.ALGORITHM_UNSPECIFIED
    values = [0.9, 0.6, 0.8]

    def study(directory, resume_after=None):
        optimizer = _optimizer(directory, _codelab_space(), bayesian, max_trials=6)
        suggested = []
        for index in range(6):
            if index == resume_after:  # the emulator restarts: a new sampler over the stored study
                optimizer = _optimizer(directory, _codelab_space(), bayesian, max_trials=6)
            number, parameters = optimizer.ask(index)
            suggested.append(_as_dict(parameters))
            optimizer.tell(number, values[index % 3])
        return suggested

    uninterrupted = study(tmp_path / "a")
    for resume_after in (1, 2, 4):
        assert study(tmp_path / f"resumed-{resume_after}", resume_after) == uninterrupted
    assert len({tuple(sorted(values.items())) for values in uninterrupted}) == 6


def test_collapsed_and_diverged_trials_are_told_as_pruned_other_failures_as_failed(tmp_path):
    from optuna.trial import TrialState

    from scripts.jobs.states import TrialOutcome

    optimizer = _optimizer(tmp_path, _codelab_space(), StudySpec.Algorithm.ALGORITHM_UNSPECIFIED)
    numbers = [optimizer.ask(index)[0] for index in range(4)]
    optimizer.tell(numbers[0], 0.9)
    optimizer.tell(numbers[1], None, TrialOutcome.COLLAPSED)
    optimizer.tell(numbers[2], None, TrialOutcome.DIVERGED)
    optimizer.tell(numbers[3], None, TrialOutcome.FAILED)
    states = [trial.state for trial in optimizer._study.get_trials(deepcopy=False)]
    assert states == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED, TrialState.FAIL]


def test_the_default_algorithm_keeps_away_from_a_collapsed_region(tmp_path):
    """After the start-up trials, TPE proposes learning rates away from the ones that collapsed."""
    from scripts.jobs.states import TrialOutcome

    optimizer = _optimizer(
        tmp_path, _codelab_space(), StudySpec.Algorithm.ALGORITHM_UNSPECIFIED, max_trials=30
    )
    later = []
    for index in range(30):
        number, parameters = optimizer.ask(index)
        learning_rate = _as_dict(parameters)["learning_rate"]
        if index >= 10:
            later.append(learning_rate)
        if learning_rate > 0.1:
            optimizer.tell(number, None, TrialOutcome.COLLAPSED)
        else:
            optimizer.tell(number, 0.9 - abs(math.log10(learning_rate) + 1.7) / 10)
    assert sum(rate > 0.1 for rate in later) <= 3, later


def test_run_seed_is_the_jobs_label_its_own_identity_and_the_studys_seed(tmp_path):
    import dataclasses

    from scripts.commands.run import with_seed
    from scripts.emulator.optimizer import job_seed
    from scripts.jobs import labels

    job = make_job(labels={labels.SPEC_HASH: "0123456789abcdef0123"})

    @dataclasses.dataclass(frozen=True)
    class Compiled:
        job: HyperparameterTuningJob
        spec_hash: str

    compiled = Compiled(job, "0123456789abcdef0123")
    one, two, again = with_seed(compiled, 1), with_seed(compiled, 2), with_seed(compiled, 1)
    assert one.job.labels[labels.SEED] == "1" and two.job.labels[labels.SEED] == "2"
    # Each seed is a job of its own; the same seed finds the job it made.
    assert len({compiled.spec_hash, one.spec_hash, two.spec_hash}) == 3
    assert one.spec_hash == again.spec_hash == one.job.labels[labels.SPEC_HASH]
    assert labels.SEED not in compiled.job.labels  # the compiled job is left as it was
    # The emulator seeds the study from the label, before its own option and the job's hash.
    assert job_seed(one.job, default=99) == 1
    assert job_seed(job, default=99) == 99
    assert job_seed(job) == study_seed(job)


def test_the_default_algorithm_learns_within_a_few_trials(tmp_path):
    """A smooth objective with its peak at learning_rate 0.03: after 2 random trials the GP closes in."""
    optimizer = _optimizer(
        tmp_path, [double("learning_rate", 1e-3, 1.0, Scale.UNIT_LOG_SCALE)],
        StudySpec.Algorithm.ALGORITHM_UNSPECIFIED, max_trials=8,
    )  # fmt: skip
    found = []
    for index in range(8):
        number, parameters = optimizer.ask(index)
        rate = _as_dict(parameters)["learning_rate"]
        found.append(rate)
        optimizer.tell(number, 1.0 - (math.log10(rate) - math.log10(0.03)) ** 2)
    assert min(abs(math.log10(rate) - math.log10(0.03)) for rate in found[2:]) < 0.15, found


def test_the_default_search_starts_at_the_centre_of_the_space(tmp_path):
    parameters = [*_codelab_space(), _integer("layers", 1, 5)]
    optimizer = _optimizer(tmp_path, parameters, StudySpec.Algorithm.ALGORITHM_UNSPECIFIED)
    first = _as_dict(optimizer.ask(0)[1])
    assert first == {"learning_rate": pytest.approx(10**-1.5), "momentum": 0.5, "num_units": 128, "layers": 3}
    assert _as_dict(optimizer.ask(1)[1]) != first
    # Random search does not.
    assert _as_dict(_optimizer(tmp_path / "r", parameters).ask(0)[1])["momentum"] != 0.5
