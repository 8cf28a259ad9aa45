"""The rule book's second door: every rule applied to a whole job, as the emulator receives it.

`validate` applies the rule book (`scripts.experiments.rules`) one value at a time, at the line
each was written; the emulator has the whole HyperparameterTuningJob instead, as the protobuf
mapping with proto field names (`MessageToDict(pb, preserving_proto_field_name=True)`), and
answers INVALID_ARGUMENT naming the field. This module walks that mapping through the same rule
functions, so both doors refuse the same jobs with the same messages.

Import-light, like the rule book: plain mappings in, (field path, message) out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scripts.experiments.rules import (
    DEFAULT_VALUE_UNSUPPORTED,
    NUL_MESSAGE,
    VALUE_SPECS,
    categorical_values_problem,
    chief_replica_problem,
    conditional_parent_problem,
    discrete_values_problem,
    display_name_problem,
    duplicate_ids,
    label_count_problem,
    label_problem,
    machine_problem,
    metric_id_problem,
    nul_problem,
    range_problem,
    tensorboard_problems,
    trial_count_problems,
    worker_pool_count_problem,
)


def job_problems(job: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every rule of the rule book applied to a job (`MessageToDict(pb, preserving_proto_field_name=True)`):
    yields (dotted proto field path, message)."""
    problem = display_name_problem(job.get("display_name", ""))
    if problem:
        yield "display_name", problem
    yield from trial_count_problems(
        int(job.get("max_trial_count", 0)),
        int(job.get("parallel_trial_count", 0)),
        int(job.get("max_failed_trial_count", 0)),
    )
    labels = job.get("labels", {})
    problem = label_count_problem(len(labels))
    if problem:
        yield "labels", problem
    for key, value in labels.items():
        found = label_problem(key, value)
        if found:
            yield f"labels[{key!r}]", found[1]
    yield from _study_problems(job.get("study_spec", {}), "study_spec")
    yield from _trial_job_problems(job.get("trial_job_spec", {}), "trial_job_spec")


def _study_problems(spec: Mapping[str, Any], where: str) -> Iterator[tuple[str, str]]:
    metrics = spec.get("metrics", [])
    if len(metrics) != 1:
        yield (
            f"{where}.metrics",
            f"a hyperparameter tuning job optimizes exactly one metric, got {len(metrics)}",
        )
    for index, metric in enumerate(metrics):
        problem = metric_id_problem(metric.get("metric_id", ""))
        if problem:
            yield f"{where}.metrics[{index}].metric_id", problem
        if metric.get("goal", "GOAL_TYPE_UNSPECIFIED") == "GOAL_TYPE_UNSPECIFIED":
            yield f"{where}.metrics[{index}].goal", "required: MAXIMIZE or MINIMIZE"
    parameters = spec.get("parameters", [])
    if not parameters:
        yield f"{where}.parameters", "at least one parameter is required"
    ids: list[str] = []
    for index, parameter in enumerate(parameters):
        yield from _parameter_problems(parameter, f"{where}.parameters[{index}]", ids)
    for repeated in duplicate_ids(ids):
        yield f"{where}.parameters", f"parameter_id {repeated!r} is used more than once"


def _parameter_problems(
    parameter: Mapping[str, Any], where: str, ids: list[str]
) -> Iterator[tuple[str, str]]:
    parameter_id = parameter.get("parameter_id", "")
    ids.append(parameter_id)
    if not parameter_id:
        yield f"{where}.parameter_id", "required"
    kinds = [kind for kind in VALUE_SPECS if kind in parameter]
    if len(kinds) != 1:
        yield where, f"exactly one of {', '.join(VALUE_SPECS)}"
        return
    kind = kinds[0]
    spec = parameter[kind]
    scale = parameter.get("scale_type")
    if "default_value" in spec:
        yield f"{where}.{kind}.default_value", DEFAULT_VALUE_UNSUPPORTED
    if kind in ("double_value_spec", "integer_value_spec"):
        convert = float if kind == "double_value_spec" else int
        found = range_problem(
            kind, convert(spec.get("min_value", 0)), convert(spec.get("max_value", 0)), scale
        )
        if found:
            yield f"{where}.{kind}.{found[0]}_value", found[1]
    elif kind == "discrete_value_spec":
        found = discrete_values_problem([float(value) for value in spec.get("values", [])], scale)
        if found:
            index, message = found
            yield f"{where}.{kind}.values" + (f"[{index}]" if index is not None else ""), message
    else:
        problem = categorical_values_problem(list(spec.get("values", [])))
        if problem:
            yield f"{where}.{kind}.values", problem
    for index, conditional in enumerate(parameter.get("conditional_parameter_specs", [])):
        child_where = f"{where}.conditional_parameter_specs[{index}]"
        problem = conditional_parent_problem(kind)
        if problem:
            yield child_where, problem
        yield from _parameter_problems(
            conditional.get("parameter_spec", {}), f"{child_where}.parameter_spec", ids
        )


def _trial_job_problems(spec: Mapping[str, Any], where: str) -> Iterator[tuple[str, str]]:
    pools = spec.get("worker_pool_specs", [])
    problem = worker_pool_count_problem(len(pools))
    if problem:
        yield f"{where}.worker_pool_specs", problem
        if pools:
            return
    for index, pool in enumerate(pools):
        pool_where = f"{where}.worker_pool_specs[{index}]"
        if index > 0 and not pool:
            if index == len(pools) - 1:
                yield pool_where, "the last worker pool must not be empty"
            continue  # a skipped position, e.g. no parameter servers
        if index == 0:
            problem = chief_replica_problem(int(pool.get("replica_count", 0)))
            if problem:
                yield f"{pool_where}.replica_count", problem
        container = pool.get("container_spec", {})
        for part in ("command", "args"):
            for item_index, item in enumerate(container.get(part, [])):
                if nul_problem(item):
                    yield f"{pool_where}.container_spec.{part}[{item_index}]", NUL_MESSAGE
        for item_index, variable in enumerate(container.get("env", [])):
            if nul_problem(variable.get("name", "") + variable.get("value", "")):
                yield f"{pool_where}.container_spec.env[{item_index}]", NUL_MESSAGE
        machine = pool.get("machine_spec", {})
        accelerator = machine.get("accelerator_type")
        accelerator = None if accelerator in (None, "ACCELERATOR_TYPE_UNSPECIFIED") else accelerator
        problem = machine_problem(
            machine.get("machine_type", ""), accelerator, int(machine.get("accelerator_count", 0))
        )
        if problem:
            yield f"{pool_where}.machine_spec", problem
    timeout = spec.get("scheduling", {}).get("timeout")
    if timeout is not None and _seconds(timeout) <= 0:
        yield f"{where}.scheduling.timeout", "must be longer than zero seconds"
    if spec.get("tensorboard"):
        output = spec.get("base_output_directory", {}).get("output_uri_prefix")
        for field, message in tensorboard_problems(
            spec["tensorboard"],
            service_account=bool(spec.get("service_account")),
            output_directory=bool(output),
        ):
            yield f"{where}.{field}", message


def _seconds(duration: str) -> float:
    """A Duration in the JSON mapping ("3600s") as seconds."""
    try:
        return float(str(duration).removesuffix("s"))
    except ValueError:
        return 0.0
