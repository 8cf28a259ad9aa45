"""Hand-made finished jobs whose structure is known: which parameter decides the metric, where the
best trial sits. Shared by the analysis, pictures and summary tests."""

from __future__ import annotations

import math

from google.cloud.aiplatform_v1 import (
    CustomJobSpec,
    GcsDestination,
    HyperparameterTuningJob,
    JobState,
    StudySpec,
)

from tests.fakes.job_service import make_trial

Spec = StudySpec.ParameterSpec
LEARNING_RATE = Spec(
    parameter_id="learning_rate",
    double_value_spec=Spec.DoubleValueSpec(min_value=0.001, max_value=1),
    scale_type=Spec.ScaleType.UNIT_LOG_SCALE,
)
MOMENTUM = Spec(
    parameter_id="momentum",
    double_value_spec=Spec.DoubleValueSpec(min_value=0, max_value=1),
    scale_type=Spec.ScaleType.UNIT_LINEAR_SCALE,
)
NUM_UNITS = Spec(parameter_id="num_units", discrete_value_spec=Spec.DiscreteValueSpec(values=[64, 128, 512]))
CODELAB = (LEARNING_RATE, MOMENTUM, NUM_UNITS)


def study_job(trials, parameters=CODELAB, goal: str = "MAXIMIZE") -> HyperparameterTuningJob:
    spec = StudySpec(
        metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=StudySpec.MetricSpec.GoalType[goal])],
        parameters=list(parameters),
    )
    return HyperparameterTuningJob(
        name="projects/demo/locations/us-central1/hyperparameterTuningJobs/77",
        display_name="study-test",
        study_spec=spec,
        trials=list(trials),
        max_trial_count=len(trials),
        state=JobState.JOB_STATE_SUCCEEDED,
        trial_job_spec=CustomJobSpec(
            base_output_directory=GcsDestination(output_uri_prefix="gs://bucket/hpt")
        ),
    )


def learning_rate_decides(count: int = 16) -> HyperparameterTuningJob:
    """`count` trials spread over the codelab's space; only the learning rate moves the accuracy,
    which peaks at 10^-1.5 (about 0.032); momentum and num_units take every value, unrelated."""
    trials = []
    for i in range(count):
        learning_rate = 10 ** (-3 + 3 * i / (count - 1))
        momentum = ((i * 7) % count) / (count - 1)
        units = [64.0, 128.0, 512.0][i % 3]
        accuracy = 1 - abs(math.log10(learning_rate) + 1.5) / 3
        trials.append(
            make_trial(
                str(i + 1),
                {"learning_rate": learning_rate, "momentum": momentum, "num_units": units},
                accuracy,
            )
        )
    return study_job(trials)


def momentum_decides(count: int = 12) -> HyperparameterTuningJob:
    """The accuracy grows with momentum, and the best trial has momentum 1: the range's upper bound."""
    trials = []
    for i in range(count):
        momentum = i / (count - 1)
        learning_rate = 10 ** (-3 + 3 * ((i * 5) % count) / (count - 1))
        trials.append(
            make_trial(
                str(i + 1),
                {"learning_rate": learning_rate, "momentum": momentum, "num_units": 128.0},
                0.5 + 0.4 * momentum,
            )
        )
    return study_job(trials)
