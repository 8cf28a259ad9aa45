"""A checked experiment as the `aiplatform_v1` messages it is sent as: study spec and trial job spec.

Each field is set through the message types, so a name, an enum value or a range the API does
not have fails here rather than at the API. A field is left unset where the experiment leaves it
to the API's default; the JSON mapping then leaves it out, as Vertex AI prints it.

Imports the `aiplatform_v1` types: `validate` never imports this module.
"""

from __future__ import annotations

from typing import Any

from google.cloud.aiplatform_v1.types import custom_job, env_var, io, machine_resources, study
from google.cloud.aiplatform_v1.types.hyperparameter_tuning_job import HyperparameterTuningJob
from google.protobuf import duration_pb2, json_format

from scripts.experiments import rules
from scripts.experiments.model import Experiment, Parameter, WorkerPool

StudySpec = study.StudySpec
ParameterSpec = StudySpec.ParameterSpec
ConditionalParameterSpec = ParameterSpec.ConditionalParameterSpec

_ALGORITHMS = {"bayesian": None, "grid": "GRID_SEARCH", "random": "RANDOM_SEARCH"}
_SELECTIONS = {"best": "BEST_MEASUREMENT", "last": "LAST_MEASUREMENT"}
_STRATEGIES = {"standard": "STANDARD", "spot": "SPOT"}
_STOPPING_SPECS = {
    "median": ("median_automated_stopping_spec", StudySpec.MedianAutomatedStoppingSpec),
    "decay_curve": ("decay_curve_stopping_spec", StudySpec.DecayCurveAutomatedStoppingSpec),
    "convex": ("convex_automated_stopping_spec", StudySpec.ConvexAutomatedStoppingSpec),
}
_VALUE_SPECS = {
    "double": ParameterSpec.DoubleValueSpec,
    "integer": ParameterSpec.IntegerValueSpec,
    "discrete": ParameterSpec.DiscreteValueSpec,
    "categorical": ParameterSpec.CategoricalValueSpec,
}
# How a child names the parent values it exists for, by the parent's type.
_CONDITIONS = {
    "discrete": ("parent_discrete_values", ConditionalParameterSpec.DiscreteValueCondition),
    "integer": ("parent_int_values", ConditionalParameterSpec.IntValueCondition),
    "categorical": ("parent_categorical_values", ConditionalParameterSpec.CategoricalValueCondition),
}


def job_dict(job: HyperparameterTuningJob) -> dict[str, Any]:
    """The job in the protobuf JSON mapping, as `HyperparameterTuningJob.to_json` prints it
    (camelCase names, enums by name, int64 as text, fields at their default left out, fields in
    field-number order), with the labels sorted by key: a map keeps no order of its own."""
    printed = json_format.MessageToDict(
        HyperparameterTuningJob.pb(job),
        always_print_fields_with_no_presence=False,
        preserving_proto_field_name=False,
        use_integers_for_enums=False,
    )
    if "labels" in printed:
        printed["labels"] = dict(sorted(printed["labels"].items()))
    return printed


def study_spec(experiment: Experiment) -> StudySpec:
    stopping = experiment.early_stopping
    fields: dict[str, Any] = {
        "metrics": [StudySpec.MetricSpec(metric_id=experiment.metric_id, goal=experiment.goal.upper())],
        "parameters": [parameter_spec(parameter) for parameter in experiment.parameters],
        "algorithm": _ALGORITHMS[experiment.algorithm],
        "measurement_selection_type": _SELECTIONS.get(experiment.measurement_selection or ""),
    }
    if stopping is not None:
        options = {"use_elapsed_duration": stopping.use_elapsed_duration}
        if stopping.rule == "convex":
            options.update(
                max_step_count=stopping.max_step_count,
                min_step_count=stopping.min_step_count,
                min_measurement_count=stopping.min_measurement_count,
                learning_rate_parameter_name=stopping.learning_rate_parameter_name,
                # `optional` in the proto: false is sent when written
                update_all_stopped_trials=stopping.update_all_stopped_trials,
            )
        field, spec = _STOPPING_SPECS[stopping.rule]
        fields[field] = spec(**_given(**options))
    return StudySpec(**_given(**fields))


def parameter_spec(parameter: Parameter) -> ParameterSpec:
    # No `default_value`: the v1 API documents it as not supported by HyperparameterTuningJob.
    kind = parameter.type
    as_sent = float if kind == "discrete" else lambda value: value  # discrete values are doubles
    if kind in ("double", "integer"):
        values = {"min_value": parameter.min, "max_value": parameter.max}
    else:
        values = {"values": [as_sent(value) for value in parameter.values]}
    conditions = []
    for condition in parameter.children:
        field, condition_type = _CONDITIONS[kind]
        parent = {field: condition_type(values=[as_sent(value) for value in condition.when])}
        conditions += [
            ConditionalParameterSpec(parameter_spec=parameter_spec(child), **parent)
            for child in condition.parameters
        ]
    return ParameterSpec(
        parameter_id=parameter.id,
        **_given(scale_type=rules.SCALES.get(parameter.scale or "")),
        **{f"{kind}_value_spec": _VALUE_SPECS[kind](**values)},
        conditional_parameter_specs=conditions,
    )


def trial_job_spec(experiment: Experiment, image: str) -> custom_job.CustomJobSpec:
    """The trials' job, without the output directory (it names the spec hash, made from this)."""
    settings = experiment.settings
    scheduling = _given(
        timeout=duration_pb2.Duration(seconds=experiment.timeout_seconds)
        if experiment.timeout_seconds
        else None,
        restart_job_on_worker_restart=experiment.restart_job_on_worker_restart or None,
        strategy=_STRATEGIES.get(experiment.scheduling_strategy or ""),
    )
    return custom_job.CustomJobSpec(
        **_given(
            worker_pool_specs=[worker_pool_spec(pool, experiment, image) for pool in experiment.worker_pools],
            scheduling=custom_job.Scheduling(**scheduling) if scheduling else None,
            service_account=settings.service_account,
            network=settings.network,
            # The instance's full name; an ID alone is in the experiment's project and region.
            tensorboard=rules.tensorboard_name(settings.tensorboard, settings.project, settings.region)
            if settings.tensorboard
            else None,
            enable_web_access=experiment.enable_web_access,
        )
    )


def worker_pool_spec(pool: WorkerPool, experiment: Experiment, image: str) -> custom_job.WorkerPoolSpec:
    if pool.machine_type is None:
        return custom_job.WorkerPoolSpec()  # a skipped position keeps the pools after it in place
    machine = _given(
        machine_type=pool.machine_type,
        accelerator_type=pool.accelerator_type,
        accelerator_count=pool.accelerator_count if pool.accelerator_type else None,
    )
    disk = _given(boot_disk_type=pool.boot_disk_type, boot_disk_size_gb=pool.boot_disk_size_gb)
    env = dict(experiment.trainer_env) | dict(pool.env)
    # No `command`: the image's ENTRYPOINT is the trainer; Vertex appends each --parameter=value.
    container = custom_job.ContainerSpec(
        image_uri=image,
        args=[*experiment.trainer_args, *pool.args],
        env=[env_var.EnvVar(name=name, value=value) for name, value in env.items()],
    )
    return custom_job.WorkerPoolSpec(
        **_given(
            machine_spec=machine_resources.MachineSpec(**machine),
            replica_count=pool.replica_count,
            disk_spec=machine_resources.DiskSpec(**disk) if disk else None,
            container_spec=container,
        )
    )


def output_directory(prefix: str) -> io.GcsDestination:
    return io.GcsDestination(output_uri_prefix=prefix)


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: None leaves a field unset (the API's default)."""
    return {name: value for name, value in fields.items() if value is not None}
