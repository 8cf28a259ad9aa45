"""Every field of a HyperparameterTuningJob, and what the local emulator does with it.

One table, `FIELDS`, classifies each field of the job and of every message under it (study spec,
parameter specs, trial job spec, worker pools, machines, scheduling...) as:

- `honoured`: the emulator does what Vertex AI does with it;
- `reported`: it cannot be emulated on this machine (a machine type, a service account, a
  network...); the job runs, and the field is listed under "not emulated here" in the emulator's
  log and the run's summary (`not_emulated(job)`), never silently dropped;
- `refused`: emulating it wrongly would mislead (another kind of trial program, mounted storage);
  the emulator answers INVALID_ARGUMENT naming the field (`refused(job)`);
- `output`: set by the service, never by the client.

A test walks the installed `aiplatform_v1` descriptors and fails on any field missing here, so a
new client version cannot add a field that slips through unclassified. docs/local-backend.md
shows the table. Keys are `Message.field` with the message's name inside `google.cloud.aiplatform.v1`.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

PACKAGE = "google.cloud.aiplatform.v1."


class Handling(StrEnum):
    HONOURED = "honoured"
    REPORTED = "reported"
    REFUSED = "refused"
    OUTPUT = "output"


H, R, X, OUT = Handling.HONOURED, Handling.REPORTED, Handling.REFUSED, Handling.OUTPUT
_NO_MACHINE = "trials run as processes on this machine"
_NO_CLOUD = "no Google Cloud resources are used locally"
_NO_SAFETY = "safety metrics are not enforced locally"
_NO_DEFAULT = "not supported by HyperparameterTuningJob"
_MEDIAN = "applied as the median rule locally"
_RUNS_ON = "the study runs to max_trial_count locally"

FIELDS: dict[str, tuple[Handling, str]] = {
    "HyperparameterTuningJob.name": (OUT, "numbered by the emulator"),
    "HyperparameterTuningJob.display_name": (H, "required, at most 128 characters"),
    "HyperparameterTuningJob.study_spec": (H, ""),
    "HyperparameterTuningJob.max_trial_count": (H, ""),
    "HyperparameterTuningJob.parallel_trial_count": (H, "within the machine's cores (--max-parallel)"),
    "HyperparameterTuningJob.max_failed_trial_count": (H, "0: the first 3 trials failing fails the job"),
    "HyperparameterTuningJob.trial_job_spec": (H, ""),
    "HyperparameterTuningJob.trials": (OUT, ""),
    "HyperparameterTuningJob.state": (OUT, ""),
    "HyperparameterTuningJob.create_time": (OUT, ""),
    "HyperparameterTuningJob.start_time": (OUT, ""),
    "HyperparameterTuningJob.end_time": (OUT, ""),
    "HyperparameterTuningJob.update_time": (OUT, ""),
    "HyperparameterTuningJob.error": (OUT, ""),
    "HyperparameterTuningJob.labels": (H, "kept, listed and filtered on"),
    "HyperparameterTuningJob.encryption_spec": (R, "nothing is encrypted with a customer key locally"),
    "EncryptionSpec.kms_key_name": (R, _NO_CLOUD),
    "HyperparameterTuningJob.satisfies_pzs": (OUT, ""),
    "HyperparameterTuningJob.satisfies_pzi": (OUT, ""),
    # the study
    "StudySpec.metrics": (H, "exactly one"),
    "StudySpec.MetricSpec.metric_id": (H, "the tag the trainer reports through cloudml-hypertune"),
    "StudySpec.MetricSpec.goal": (H, ""),
    "StudySpec.MetricSpec.safety_config": (R, _NO_SAFETY),
    "StudySpec.MetricSpec.SafetyMetricConfig.safety_threshold": (R, _NO_SAFETY),
    "StudySpec.MetricSpec.SafetyMetricConfig.desired_min_safe_trials_fraction": (R, _NO_SAFETY),
    "StudySpec.parameters": (H, ""),
    "StudySpec.ParameterSpec.parameter_id": (H, "each trial gets --<parameter_id>=<value>"),
    "StudySpec.ParameterSpec.scale_type": (H, "the optimizer samples on the scale"),
    "StudySpec.ParameterSpec.double_value_spec": (H, ""),
    "StudySpec.ParameterSpec.DoubleValueSpec.min_value": (H, ""),
    "StudySpec.ParameterSpec.DoubleValueSpec.max_value": (H, ""),
    "StudySpec.ParameterSpec.DoubleValueSpec.default_value": (X, _NO_DEFAULT),
    "StudySpec.ParameterSpec.integer_value_spec": (H, ""),
    "StudySpec.ParameterSpec.IntegerValueSpec.min_value": (H, ""),
    "StudySpec.ParameterSpec.IntegerValueSpec.max_value": (H, ""),
    "StudySpec.ParameterSpec.IntegerValueSpec.default_value": (X, _NO_DEFAULT),
    "StudySpec.ParameterSpec.categorical_value_spec": (H, ""),
    "StudySpec.ParameterSpec.CategoricalValueSpec.values": (H, ""),
    "StudySpec.ParameterSpec.CategoricalValueSpec.default_value": (X, _NO_DEFAULT),
    "StudySpec.ParameterSpec.discrete_value_spec": (H, ""),
    "StudySpec.ParameterSpec.DiscreteValueSpec.values": (H, ""),
    "StudySpec.ParameterSpec.DiscreteValueSpec.default_value": (X, _NO_DEFAULT),
    "StudySpec.ParameterSpec.conditional_parameter_specs": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.parent_discrete_values": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.DiscreteValueCondition.values": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.parent_int_values": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.IntValueCondition.values": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.parent_categorical_values": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.CategoricalValueCondition.values": (H, ""),
    "StudySpec.ParameterSpec.ConditionalParameterSpec.parameter_spec": (H, ""),
    "StudySpec.algorithm": (H, "Bayesian (TPE), grid, random"),
    "StudySpec.observation_noise": (R, "a hint the local optimizer does not take"),
    "StudySpec.measurement_selection_type": (H, ""),
    "StudySpec.median_automated_stopping_spec": (H, ""),
    "StudySpec.MedianAutomatedStoppingSpec.use_elapsed_duration": (H, ""),
    "StudySpec.decay_curve_stopping_spec": (R, _MEDIAN),
    "StudySpec.DecayCurveAutomatedStoppingSpec.use_elapsed_duration": (H, ""),
    "StudySpec.convex_automated_stopping_spec": (R, _MEDIAN),
    "StudySpec.ConvexAutomatedStoppingSpec.max_step_count": (R, _MEDIAN),
    "StudySpec.ConvexAutomatedStoppingSpec.min_step_count": (R, _MEDIAN),
    "StudySpec.ConvexAutomatedStoppingSpec.min_measurement_count": (R, _MEDIAN),
    "StudySpec.ConvexAutomatedStoppingSpec.learning_rate_parameter_name": (R, _MEDIAN),
    "StudySpec.ConvexAutomatedStoppingSpec.use_elapsed_duration": (H, ""),
    "StudySpec.ConvexAutomatedStoppingSpec.update_all_stopped_trials": (R, _MEDIAN),
    "StudySpec.study_stopping_config": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.should_stop_asap": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.minimum_runtime_constraint": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.maximum_runtime_constraint": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.min_num_trials": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.max_num_trials": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.max_num_trials_no_progress": (R, _RUNS_ON),
    "StudySpec.StudyStoppingConfig.max_duration_no_progress": (R, _RUNS_ON),
    "StudyTimeConstraint.max_duration": (R, _RUNS_ON),
    "StudyTimeConstraint.end_time": (R, _RUNS_ON),
    # the trials' job
    "CustomJobSpec.worker_pool_specs": (H, "pool 0 the chief, pool 1 the workers"),
    "CustomJobSpec.base_output_directory": (H, "gs://B/P is <state>/gcs/B/P"),
    "GcsDestination.output_uri_prefix": (H, "gs://B/P is <state>/gcs/B/P"),
    "CustomJobSpec.scheduling": (H, ""),
    "Scheduling.timeout": (H, "a trial still running at the timeout is stopped and fails"),
    "Scheduling.restart_job_on_worker_restart": (H, "a failed replica restarts the trial's replicas"),
    "Scheduling.strategy": (R, "SPOT: preemption is simulated only with the emulator's --preempt-after"),
    "Scheduling.disable_retries": (R, "the emulator does not retry failed trials"),
    "Scheduling.max_wait_duration": (R, "no capacity to wait for locally"),
    "CustomJobSpec.persistent_resource_id": (R, _NO_CLOUD),
    "CustomJobSpec.service_account": (R, "trials run as the local user"),
    "CustomJobSpec.network": (R, "trials use this machine's network"),
    "CustomJobSpec.reserved_ip_ranges": (R, "trials use this machine's network"),
    "CustomJobSpec.psc_interface_config": (R, "trials use this machine's network"),
    "PscInterfaceConfig.network_attachment": (R, "trials use this machine's network"),
    "PscInterfaceConfig.dns_peering_configs": (R, "trials use this machine's network"),
    "DnsPeeringConfig.domain": (R, "trials use this machine's network"),
    "DnsPeeringConfig.target_project": (R, "trials use this machine's network"),
    "DnsPeeringConfig.target_network": (R, "trials use this machine's network"),
    "CustomJobSpec.protected_artifact_location_id": (R, _NO_CLOUD),
    "CustomJobSpec.tensorboard": (R, "logs stay under AIP_TENSORBOARD_LOG_DIR; nothing is uploaded"),
    "CustomJobSpec.enable_web_access": (R, "no interactive shell is opened"),
    "CustomJobSpec.enable_dashboard_access": (R, "no dashboard is opened"),
    "CustomJobSpec.experiment": (R, _NO_CLOUD),
    "CustomJobSpec.experiment_run": (R, _NO_CLOUD),
    "CustomJobSpec.models": (R, _NO_CLOUD),
    "WorkerPoolSpec.container_spec": (H, ""),
    "ContainerSpec.image_uri": (R, "no container runtime: the local entrypoint stands for the image"),
    "ContainerSpec.command": (H, "replaces the local entrypoint"),
    "ContainerSpec.args": (H, ""),
    "ContainerSpec.env": (H, ""),
    "EnvVar.name": (H, ""),
    "EnvVar.value": (H, ""),
    "WorkerPoolSpec.python_package_spec": (X, "only container_spec trials run locally"),
    "PythonPackageSpec.executor_image_uri": (X, "only container_spec trials run locally"),
    "PythonPackageSpec.package_uris": (X, "only container_spec trials run locally"),
    "PythonPackageSpec.python_module": (X, "only container_spec trials run locally"),
    "PythonPackageSpec.args": (X, "only container_spec trials run locally"),
    "PythonPackageSpec.env": (X, "only container_spec trials run locally"),
    "WorkerPoolSpec.machine_spec": (H, "checked against the machine catalog"),
    "MachineSpec.machine_type": (R, _NO_MACHINE),
    "MachineSpec.accelerator_type": (R, _NO_MACHINE),
    "MachineSpec.accelerator_count": (R, _NO_MACHINE),
    "MachineSpec.gpu_partition_size": (R, _NO_MACHINE),
    "MachineSpec.tpu_topology": (R, _NO_MACHINE),
    "MachineSpec.reservation_affinity": (R, _NO_CLOUD),
    "ReservationAffinity.reservation_affinity_type": (R, _NO_CLOUD),
    "ReservationAffinity.key": (R, _NO_CLOUD),
    "ReservationAffinity.values": (R, _NO_CLOUD),
    "WorkerPoolSpec.replica_count": (H, "one process per replica"),
    "WorkerPoolSpec.nfs_mounts": (X, "no NFS share is mounted locally"),
    "NfsMount.server": (X, "no NFS share is mounted locally"),
    "NfsMount.path": (X, "no NFS share is mounted locally"),
    "NfsMount.mount_point": (X, "no NFS share is mounted locally"),
    "WorkerPoolSpec.lustre_mounts": (X, "no Lustre file system is mounted locally"),
    "LustreMount.instance_ip": (X, "no Lustre file system is mounted locally"),
    "LustreMount.volume_handle": (X, "no Lustre file system is mounted locally"),
    "LustreMount.filesystem": (X, "no Lustre file system is mounted locally"),
    "LustreMount.mount_point": (X, "no Lustre file system is mounted locally"),
    "WorkerPoolSpec.disk_spec": (R, "trials write to this machine's disk"),
    "DiskSpec.boot_disk_type": (R, "trials write to this machine's disk"),
    "DiskSpec.boot_disk_size_gb": (R, "trials write to this machine's disk"),
}


def set_fields(message: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every field set in a protobuf message and the messages under it: (table key, path, value).

    Output-only fields and well-known types (`google.protobuf.*`) are not entered."""
    for field, value in message.ListFields():
        key = f"{message.DESCRIPTOR.full_name.removeprefix(PACKAGE)}.{field.name}"
        where = f"{path}.{field.name}" if path else field.name
        repeated = _repeated(field)
        if field.enum_type is not None and not repeated:
            named = field.enum_type.values_by_number.get(value)
            yield key, where, named.name if named else value
            continue
        yield key, where, value
        if FIELDS.get(key, (None,))[0] == Handling.OUTPUT or field.message_type is None:
            continue
        if field.message_type.full_name.startswith(("google.protobuf.", "google.rpc.")):
            continue
        if field.message_type.GetOptions().map_entry:
            continue
        if repeated:
            for index, item in enumerate(value):
                yield from set_fields(item, f"{where}[{index}]")
        else:
            yield from set_fields(value, where)


def _repeated(field: Any) -> bool:
    flag = getattr(field, "is_repeated", None)  # newer protobuf; `label` before it
    return bool(flag) if flag is not None else field.label == 3


def _classified(job: Any, wanted: Handling) -> list[tuple[str, str, Any]]:
    # Deferred: `scripts.jobs` loads no cloud library (about 1 s for `aiplatform_v1`); a caller that
    # holds a job has loaded it already.
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    message = HyperparameterTuningJob.pb(job) if isinstance(job, HyperparameterTuningJob) else job
    found = []
    for key, where, value in set_fields(message):
        handling, note = FIELDS.get(key, (Handling.REFUSED, "a field this emulator does not know"))
        if handling == wanted:
            found.append((where, note, value))
    return found


def refused(job: Any) -> list[tuple[str, str]]:
    """The fields set in `job` that the emulator refuses: (field path, why)."""
    return [(where, note) for where, note, _ in _classified(job, Handling.REFUSED)]


def not_emulated(job: Any) -> list[dict[str, str]]:
    """The fields set in `job` that run here without their effect: what the run's output and
    summary list under "not emulated here" (`field`, its `value` in short, `why`)."""
    listed = []
    for where, note, value in _classified(job, Handling.REPORTED):
        if hasattr(value, "ListFields"):
            if any(FIELDS.get(key, (None,))[0] == Handling.REPORTED for key, _, _ in set_fields(value)):
                continue  # its reported fields are listed themselves
            shown = ""
        else:
            shown = _short(value)
        listed.append({"field": where, "value": shown, "why": note})
    return listed


def _short(value: Any) -> str:
    text = str(value) if isinstance(value, (str, int, float, bool)) else ", ".join(map(str, value))
    return text if len(text) <= 80 else f"{text[:77]}..."


def markdown_table() -> str:
    """The table as docs/local-backend.md shows it (a test keeps the two equal)."""
    lines = ["| field | handling | note |", "|---|---|---|"]
    for key, (handling, note) in FIELDS.items():
        if handling != Handling.OUTPUT:
            lines.append(f"| `{key}` | {handling.value} | {note} |")
    outputs = ", ".join(f"`{key.split('.', 1)[1]}`" for key, (h, _) in FIELDS.items() if h == Handling.OUTPUT)
    lines.append(f"| output only (`HyperparameterTuningJob`): {outputs} | output | set by the service |")
    return "\n".join(lines) + "\n"
