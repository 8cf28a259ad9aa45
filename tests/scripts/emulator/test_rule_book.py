"""One rule book, two doors: each Vertex AI rule refuses the same job in `validate` and in the emulator.

Every case is a bad experiments.yaml (through `load_text`: a located problem naming the field) and
the same mistake made in the message a client sends (through the real GAPIC client: INVALID_ARGUMENT
naming the proto field). The emulator's job starts from the valid experiment, compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, StudySpec, WorkerPoolSpec

from scripts.experiments import load_text
from scripts.experiments.compiler import CompileContext, compile_experiment
from scripts.jobs import fidelity
from tests.scripts.experiments.helpers import EXPERIMENT, HEADER, problems

from .conftest import PARENT

ParameterSpec = StudySpec.ParameterSpec
LR = "learning_rate: {type: double, min: 0.001, max: 1, scale: log}"
POOL = "      - machine_type: n1-standard-4\n"


@dataclass(frozen=True)
class Case:
    yaml: str  # the whole bad document
    yaml_field: str  # the dotted field validate names
    yaml_says: str  # in validate's message
    change: Callable[[HyperparameterTuningJob], None]  # the same mistake in the message
    proto_field: str  # the field the emulator names
    proto_says: str  # in the emulator's message


def _param(job: HyperparameterTuningJob, spec: ParameterSpec) -> None:
    job.study_spec.parameters.append(spec)


def _discrete(values):
    return ParameterSpec(
        parameter_id="units", discrete_value_spec=ParameterSpec.DiscreteValueSpec(values=values)
    )


def _categorical(values):
    return ParameterSpec(
        parameter_id="opt", categorical_value_spec=ParameterSpec.CategoricalValueSpec(values=values)
    )


def _pools(job: HyperparameterTuningJob, count: int) -> None:
    pools = job.trial_job_spec.worker_pool_specs
    pools.extend(WorkerPoolSpec(pools[0]) for _ in range(count - len(pools)))


def _machine(job: HyperparameterTuningJob, machine_type: str, accelerator=None, count: int = 0) -> None:
    spec = job.trial_job_spec.worker_pool_specs[0].machine_spec
    spec.machine_type = machine_type
    if accelerator:
        spec.accelerator_type = accelerator
        spec.accelerator_count = count


def _conditional_under_double(job: HyperparameterTuningJob) -> None:
    child = ParameterSpec.ConditionalParameterSpec(parameter_spec=_discrete([1, 2]))
    job.study_spec.parameters[0].conditional_parameter_specs.append(child)


def _set(**fields):
    def change(job: HyperparameterTuningJob) -> None:
        for name, value in fields.items():
            setattr(job, name, value)

    return change


def _doc(old: str, new: str) -> str:
    assert old in HEADER + EXPERIMENT
    return (HEADER + EXPERIMENT).replace(old, new)


CASES = {
    "display name over 128": Case(
        HEADER + "profiles:\n  " + "p" * 120 + ": {description: long}\n" + EXPERIMENT,
        "profiles." + "p" * 120,
        "at most 128 characters, got 133",
        _set(display_name="x" * 129),
        "display_name",
        "at most 128 characters, got 129",
    ),
    "five worker pools": Case(
        _doc(POOL, POOL * 5),
        "experiments.exp.worker_pools[4]",
        "Vertex AI has 4 worker pools",
        lambda job: _pools(job, 5),
        "trial_job_spec.worker_pool_specs",
        "Vertex AI has 4 worker pools",
    ),
    "unsorted discrete values": Case(
        _doc(LR, "units: {type: discrete, values: [64, 512, 128]}"),
        "experiments.exp.parameters.units.values[2]",
        "values must be increasing",
        lambda job: _param(job, _discrete([64, 512, 128])),
        "study_spec.parameters[1].discrete_value_spec.values[2]",
        "values must be increasing",
    ),
    "repeated discrete values": Case(
        _doc(LR, "units: {type: discrete, values: [64, 64]}"),
        "experiments.exp.parameters.units.values[1]",
        "values must be distinct",
        lambda job: _param(job, _discrete([64, 64])),
        "study_spec.parameters[1].discrete_value_spec.values[1]",
        "values must be distinct",
    ),
    "repeated categorical values": Case(
        _doc(LR, "opt: {type: categorical, values: [sgd, sgd]}"),
        "experiments.exp.parameters.opt.values",
        "values must be distinct: 'sgd' appears twice",
        lambda job: _param(job, _categorical(["sgd", "sgd"])),
        "study_spec.parameters[1].categorical_value_spec.values",
        "values must be distinct: 'sgd' appears twice",
    ),
    "repeated parameter ids": Case(
        _doc(
            LR,
            "units:\n        type: discrete\n        values: [1, 2]\n        children:\n"
            "          - when: [1]\n            parameters: {units: {type: discrete, values: [3]}}",
        ),
        "experiments.exp.parameters.units.children[0].parameters.units",
        "collides with",
        lambda job: job.study_spec.parameters.append(job.study_spec.parameters[0]),
        "study_spec.parameters",
        "parameter_id 'learning_rate' is used more than once",
    ),
    "reverse_log with min 0": Case(
        _doc(LR, "momentum: {type: double, min: 0, max: 1, scale: reverse_log}"),
        "experiments.exp.parameters.momentum.min",
        "reverse_log scale needs min > 0",
        lambda job: (
            setattr(
                job.study_spec.parameters[0], "scale_type", ParameterSpec.ScaleType.UNIT_REVERSE_LOG_SCALE
            )
            or setattr(job.study_spec.parameters[0].double_value_spec, "min_value", 0.0)
        ),
        "study_spec.parameters[0].double_value_spec.min_value",
        "reverse_log scale needs min > 0",
    ),
    "conditional under a double parent": Case(
        _doc(
            LR,
            "lr:\n        type: double\n        min: 0.1\n        max: 1\n        children:\n"
            "          - when: [0.5]\n            parameters: {units: {type: discrete, values: [3]}}",
        ),
        "experiments.exp.parameters.lr.children",
        "need a discrete, integer or categorical parent",
        _conditional_under_double,
        "study_spec.parameters[0].conditional_parameter_specs[0]",
        "need a discrete, integer or categorical parent",
    ),
    "metric goal unspecified": Case(
        _doc("metric: {id: accuracy, goal: maximize}", "metric: {id: accuracy}"),
        "experiments.exp.metric",
        "missing required key 'goal'",
        lambda job: setattr(job.study_spec.metrics[0], "goal", 0),
        "study_spec.metrics[0].goal",
        "required: MAXIMIZE or MINIMIZE",
    ),
    # [STUDY] MetricSpec.metricId: "Must not contain whitespaces"; Vertex AI refuses the job.
    "metric id with a space": Case(
        _doc("metric: {id: accuracy, goal: maximize}", 'metric: {id: "val accuracy", goal: maximize}'),
        "experiments.exp.metric.id",
        "'val accuracy' is not valid: the tag the trainer reports, without spaces",
        lambda job: setattr(job.study_spec.metrics[0], "metric_id", "val accuracy"),
        "study_spec.metrics[0].metric_id",
        "metric id 'val accuracy' must not contain whitespace",
    ),
    "metric id with a tab": Case(
        _doc("metric: {id: accuracy, goal: maximize}", 'metric: {id: "accuracy\\t", goal: maximize}'),
        "experiments.exp.metric.id",
        "is not valid: the tag the trainer reports, without spaces",
        lambda job: setattr(job.study_spec.metrics[0], "metric_id", "accuracy\t"),
        "study_spec.metrics[0].metric_id",
        "metric id 'accuracy\\t' must not contain whitespace",
    ),
    "label key breaking the rules": Case(
        HEADER + "  labels: {Team: ml}\n" + EXPERIMENT,
        "defaults.labels.Team",
        "label key 'Team' must be 1-63 lowercase letters",
        lambda job: job.labels.update({"Team": "ml"}),
        "labels['Team']",
        "label key 'Team' must be 1-63 lowercase letters",
    ),
    "label value breaking the rules": Case(
        HEADER + "  labels: {team: ML Team}\n" + EXPERIMENT,
        "defaults.labels.team",
        "label value 'ML Team' must be at most 63",
        lambda job: job.labels.update({"team": "ML Team"}),
        "labels['team']",
        "label value 'ML Team' must be at most 63",
    ),
    "parallel over max trials": Case(
        _doc("parallel_trial_count: 2", "parallel_trial_count: 5"),
        "experiments.exp.parallel_trial_count",
        "5 parallel trials is more than max_trial_count (4)",
        _set(parallel_trial_count=5),
        "parallel_trial_count",
        "5 parallel trials is more than max_trial_count (4)",
    ),
    "empty machine type": Case(
        _doc(POOL, '      - machine_type: ""\n'),
        "experiments.exp.worker_pools[0].machine_type",
        "a machine type is required",
        lambda job: _machine(job, ""),
        "trial_job_spec.worker_pool_specs[0].machine_spec",
        "a machine type is required",
    ),
    "machine type not in the catalog": Case(
        _doc(POOL, "      - machine_type: n1-standard-5\n"),
        "experiments.exp.worker_pools[0].machine_type",
        "did you mean 'n1-standard-8' or 'n1-standard-4'",
        lambda job: _machine(job, "n1-standard-5"),
        "trial_job_spec.worker_pool_specs[0].machine_spec",
        "did you mean 'n1-standard-8' or 'n1-standard-4'",
    ),
    "misspelt machine type": Case(
        _doc(POOL, "      - machine_type: n1-standrd-4\n"),
        "experiments.exp.worker_pools[0].machine_type",
        "did you mean 'n1-standard-4'",
        lambda job: _machine(job, "n1-standrd-4"),
        "trial_job_spec.worker_pool_specs[0].machine_spec",
        "did you mean 'n1-standard-4'",
    ),
    "accelerator count the machine cannot take": Case(
        _doc(POOL, POOL + "        accelerator: {type: NVIDIA_TESLA_T4, count: 3}\n"),
        "experiments.exp.worker_pools[0].accelerator",
        "takes NVIDIA_TESLA_T4 in counts of 1, 2, 4, not 3",
        lambda job: _machine(job, "n1-standard-4", "NVIDIA_TESLA_T4", 3),
        "trial_job_spec.worker_pool_specs[0].machine_spec",
        "takes NVIDIA_TESLA_T4 in counts of 1, 2, 4, not 3",
    ),
    "accelerator the machine family does not take": Case(
        _doc(POOL, "      - machine_type: e2-standard-4\n        accelerator: {type: NVIDIA_TESLA_T4}\n"),
        "experiments.exp.worker_pools[0].accelerator",
        "E2 machines take no accelerators",
        lambda job: _machine(job, "e2-standard-4", "NVIDIA_TESLA_T4", 1),
        "trial_job_spec.worker_pool_specs[0].machine_spec",
        "E2 machines take no accelerators",
    ),
    "a NUL byte in a trainer argument": Case(
        HEADER + EXPERIMENT + '    trainer: {args: ["--x=a\\0b"]}\n',
        "experiments.exp.trainer.args[0]",
        "contains a NUL byte",
        lambda job: job.trial_job_spec.worker_pool_specs[0].container_spec.args.append("--x=a\0b"),
        "trial_job_spec.worker_pool_specs[0].container_spec.args[0]",
        "contains a NUL byte",
    ),
    # [TB-SETUP]: streaming to a TensorBoard "requires attaching a service account".
    "a tensorboard without a service account": Case(
        HEADER + EXPERIMENT + "    tensorboard: '42'\n",
        "experiments.exp.tensorboard",
        "streaming to a TensorBoard needs a service_account",
        lambda job: setattr(job.trial_job_spec, "tensorboard", f"{PARENT}/tensorboards/42"),
        "trial_job_spec.service_account",
        "streaming to a TensorBoard needs a service_account",
    ),
    "a tensorboard name of another shape": Case(
        HEADER
        + "  service_account: sa@my-project.iam.gserviceaccount.com\n"
        + EXPERIMENT
        + "    tensorboard: tensorboards/42\n",
        "experiments.exp.tensorboard",
        "is not valid: expected projects/PROJECT/locations/REGION/tensorboards/ID",
        lambda job: (
            setattr(job.trial_job_spec, "tensorboard", "tensorboards/42")
            or setattr(job.trial_job_spec, "service_account", "sa@my-project.iam.gserviceaccount.com")
        ),
        "trial_job_spec.tensorboard",
        "is not valid: expected projects/PROJECT/locations/REGION/tensorboards/ID",
    ),
    "a chief with two replicas": Case(
        _doc(POOL, POOL + "        replica_count: 2\n"),
        "experiments.exp.worker_pools[0].replica_count",
        "exactly one replica",
        lambda job: setattr(job.trial_job_spec.worker_pool_specs[0], "replica_count", 2),
        "trial_job_spec.worker_pool_specs[0].replica_count",
        "exactly one replica",
    ),
}


def _valid_job() -> HyperparameterTuningJob:
    experiments = load_text(HEADER + EXPERIMENT, "experiments.yaml", {})
    compiled = compile_experiment(experiments, "exp", CompileContext(env={}, image_tag="test"))
    return HyperparameterTuningJob(compiled.job)


@pytest.mark.parametrize("name", list(CASES))
def test_validate_door(name):
    case = CASES[name]
    found = [problem for problem in problems(case.yaml) if problem.field == case.yaml_field]
    assert found, "\n".join(map(str, problems(case.yaml)))
    assert case.yaml_says in found[0].message
    assert found[0].line >= 1 and found[0].column >= 1


def test_the_valid_job_passes_the_emulator_door(emulator):
    created = emulator.submit(_valid_job())
    assert created.state == JobState.JOB_STATE_PENDING
    assert created.display_name == _valid_job().display_name
    emulator.client.cancel_hyperparameter_tuning_job(name=created.name)
    assert emulator.wait(created.name).state == JobState.JOB_STATE_CANCELLED


@pytest.mark.parametrize("name", list(CASES))
def test_emulator_door(emulator, name):
    case = CASES[name]
    job = _valid_job()
    case.change(job)
    with pytest.raises(exceptions.InvalidArgument) as raised:
        emulator.submit(job)
    message = raised.value.message
    assert message.startswith(f"hyperparameter_tuning_job.{case.proto_field}: "), message
    assert case.proto_says in message, message
    assert list(emulator.client.list_hyperparameter_tuning_jobs(parent=PARENT)) == []


def test_a_tensorboard_needs_an_output_directory_at_the_emulator_door(emulator):
    """Validate cannot write this mistake: every compiled job has a base output directory."""
    job = _valid_job()
    job.trial_job_spec.tensorboard = f"{PARENT}/tensorboards/42"
    job.trial_job_spec.service_account = "sa@my-project.iam.gserviceaccount.com"
    job.trial_job_spec.base_output_directory = None
    with pytest.raises(exceptions.InvalidArgument) as raised:
        emulator.submit(job)
    assert raised.value.message.startswith(
        "hyperparameter_tuning_job.trial_job_spec.base_output_directory: "
        "streaming to a TensorBoard needs a base_output_directory"
    )


def test_a_job_that_streams_to_a_tensorboard_runs_here_and_says_nothing_is_uploaded(emulator):
    job = _valid_job()
    job.trial_job_spec.tensorboard = f"{PARENT}/tensorboards/42"
    job.trial_job_spec.service_account = "sa@my-project.iam.gserviceaccount.com"
    job.max_trial_count, job.parallel_trial_count = 1, 1
    job.trial_job_spec.worker_pool_specs[0].container_spec.args = []
    done = emulator.wait(emulator.submit(job).name)
    assert done.state.name == "JOB_STATE_SUCCEEDED", done.error
    assert done.trial_job_spec.tensorboard == f"{PARENT}/tensorboards/42"
    reported = {item["field"]: item for item in fidelity.not_emulated(done)}
    assert reported["trial_job_spec.tensorboard"]["value"] == f"{PARENT}/tensorboards/42"
    assert "nothing is uploaded" in reported["trial_job_spec.tensorboard"]["why"]
