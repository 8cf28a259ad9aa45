"""The flags a trial's parameters become on the trainer's command line: what the emulator launches
a trial with and what best_params.json hands on, one formatting for both."""

from __future__ import annotations

from google.cloud.aiplatform_v1 import StudySpec, Trial

from scripts.jobs.trial_flags import trial_flags

Spec = StudySpec.ParameterSpec


def _spec() -> StudySpec:
    units = Spec(parameter_id="num_units", discrete_value_spec=Spec.DiscreteValueSpec(values=[64, 128, 0.5]))
    epochs = Spec(parameter_id="epochs", integer_value_spec=Spec.IntegerValueSpec(min_value=1, max_value=9))
    optimizer = Spec(
        parameter_id="optimizer",
        categorical_value_spec=Spec.CategoricalValueSpec(values=["sgd", "adam"]),
        conditional_parameter_specs=[
            Spec.ConditionalParameterSpec(
                parameter_spec=Spec(
                    parameter_id="momentum", double_value_spec=Spec.DoubleValueSpec(min_value=0, max_value=1)
                ),
                parent_categorical_values=Spec.ConditionalParameterSpec.CategoricalValueCondition(
                    values=["sgd"]
                ),
            )
        ],
    )
    return StudySpec(parameters=[units, epochs, optimizer])


def _trial(**values: object) -> Trial:
    return Trial(id="1", parameters=[Trial.Parameter(parameter_id=k, value=v) for k, v in values.items()])


def test_whole_numbers_of_integer_and_discrete_parameters_have_no_decimal_point():
    trial = _trial(num_units=128.0, epochs=3.0, optimizer="sgd", momentum=0.9)
    assert trial_flags(trial, _spec()) == [
        "--num_units=128",
        "--epochs=3",
        "--optimizer=sgd",
        "--momentum=0.9",
    ]


def test_a_double_keeps_the_value_python_writes_and_a_fractional_discrete_value_its_fraction():
    trial = _trial(num_units=0.5, momentum=1.0)
    assert trial_flags(trial, _spec()) == ["--num_units=0.5", "--momentum=1.0"]
