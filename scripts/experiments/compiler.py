"""Compile a checked experiment into the `HyperparameterTuningJob` that gets submitted.

The job is built directly in the protobuf JSON mapping (camelCase names, enums by name, int64 as
text, fields at their default values left out, fields in field-number order, as
`HyperparameterTuningJob.to_json` prints them), so `plan` needs no cloud library; the tests
check that it round-trips through the real message. `CompiledExperiment.job` turns it into the
`google.cloud.aiplatform_v1.HyperparameterTuningJob` message on first use.

The spec hash covers what defines the study: the study spec, the trial counts and the trial job
spec with the image's tag and the output directory left out. It leaves out the labels, the
display name, the image tag and the output directory, so a trainer-only commit does not make
an experiment "changed", while a profile or an override (a different study) does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scripts import git, images
from scripts.errors import UserError
from scripts.experiments.loader import variant
from scripts.experiments.model import Experiment, ExperimentsFile, Parameter, WorkerPool
from scripts.jobs import labels as identity

DEFAULT_IMAGE_NAME = "trainer"
SPEC_HASH_LENGTH = 20

_ALGORITHMS = {"bayesian": None, "grid": "GRID_SEARCH", "random": "RANDOM_SEARCH"}
_SCALES = {"linear": "UNIT_LINEAR_SCALE", "log": "UNIT_LOG_SCALE", "reverse_log": "UNIT_REVERSE_LOG_SCALE"}
_SELECTIONS = {"best": "BEST_MEASUREMENT", "last": "LAST_MEASUREMENT"}
_STRATEGIES = {"standard": "STANDARD", "spot": "SPOT"}


@dataclass(frozen=True)
class CompileContext:
    """What compiling needs besides the file: the environment for `${VAR}`, who asks, and variants.

    `commit` defaults to the checked-out HEAD; `image_tag` to the content tag of the build inputs
    at that commit (`scripts.images.content_tag`). `overrides` maps field paths
    (`max_trial_count`, `worker_pools.0.replica_count`) to values; text values are read as YAML.
    """

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    commit: str | None = None
    pull_request: int | str | None = None
    repository: str | None = None
    profile: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    image_tag: str | None = None


class CompiledExperiment:
    """One experiment compiled for one commit: where it goes (`parent`) and what (`job`)."""

    def __init__(
        self,
        name: str,
        project: str,
        location: str,
        parent: str,
        job: Any = None,
        spec_hash: str = "",
        *,
        job_json: dict[str, Any] | None = None,
        experiment: Experiment | None = None,
        commit: str | None = None,
        context: CompileContext | None = None,
    ):
        if job is None and job_json is None:
            raise ValueError("CompiledExperiment needs job or job_json")
        self.name = name
        self.project = project
        self.location = location
        self.parent = parent
        self.spec_hash = spec_hash
        self.experiment = experiment
        self.commit = commit
        self.context = context
        self._job = job
        self._job_json = job_json

    @property
    def job(self):
        """The `google.cloud.aiplatform_v1.HyperparameterTuningJob` message (imports the cloud types)."""
        if self._job is None:
            from google.cloud.aiplatform_v1.types import HyperparameterTuningJob

            self._job = HyperparameterTuningJob.from_json(json.dumps(self._job_json))
        return self._job

    @property
    def job_json(self) -> dict[str, Any]:
        """The job in the protobuf JSON mapping (a copy)."""
        if self._job_json is None:
            job = self._job
            printed = type(job).to_json(
                job, use_integers_for_enums=False, always_print_fields_with_no_presence=False
            )
            self._job_json = json.loads(printed)
        return copy.deepcopy(self._job_json)

    def to_json(self) -> str:
        """The job as `plan --format json` prints it."""
        return json.dumps(self.job_json, indent=2)

    def __repr__(self) -> str:
        return f"CompiledExperiment(name={self.name!r}, parent={self.parent!r}, spec_hash={self.spec_hash!r})"


def compile_experiment(
    experiments: ExperimentsFile, name: str, context: CompileContext | None = None
) -> CompiledExperiment:
    """Experiment `name` of `experiments`, with the context's profile and overrides, as a job."""
    context = context or CompileContext()
    if name not in experiments.experiments:
        known = ", ".join(experiments.experiments) or "none"
        raise UserError(f"unknown experiment {name!r} in {experiments.path} (known: {known})")
    experiment = variant(experiments.source, name, context.env, context.profile, context.overrides)
    return compile_checked(experiment, context)


def compile_checked(experiment: Experiment, context: CompileContext) -> CompiledExperiment:
    settings = experiment.settings
    commit = git.resolve_commit(context.commit) if context.commit else git.head_commit()
    short = commit[:7] if commit else "nocommit"
    image = _image(experiment, context, commit)
    study = {
        "studySpec": study_spec(experiment),
        "maxTrialCount": experiment.max_trial_count,
        "parallelTrialCount": experiment.parallel_trial_count,
    }
    if experiment.max_failed_trial_count:
        study["maxFailedTrialCount"] = experiment.max_failed_trial_count
    trial_job = trial_job_spec(experiment, image)
    spec_hash = compute_spec_hash(study, trial_job)

    base = settings.base_output_directory or f"{settings.staging_bucket}/hpt"
    trial_job["baseOutputDirectory"] = {
        "outputUriPrefix": f"{base}/{experiment.name}/{spec_hash[:12]}-{short}"
    }
    trial_job = _ordered(trial_job, _CUSTOM_JOB_SPEC_ORDER)

    job_labels = dict(settings.labels)
    job_labels[identity.MANAGED_BY] = identity.MANAGED_BY_VALUE
    job_labels[identity.EXPERIMENT] = identity.label_value(experiment.name)
    job_labels[identity.SPEC_HASH] = spec_hash
    job_labels[identity.COMMIT] = identity.label_value(commit) if commit else "none"
    if context.pull_request is not None:
        job_labels[identity.PULL_REQUEST] = identity.label_value(str(context.pull_request))
    if context.repository:
        job_labels[identity.REPOSITORY] = identity.label_value(context.repository)

    display = experiment.name if context.profile is None else f"{experiment.name}-{context.profile}"
    job = {
        "displayName": f"{display}-{short}",
        **study,
        "trialJobSpec": trial_job,
        "labels": dict(sorted(job_labels.items())),
    }
    parent = f"projects/{settings.project}/locations/{settings.region}"
    return CompiledExperiment(
        experiment.name,
        settings.project,
        settings.region,
        parent,
        spec_hash=spec_hash,
        job_json=job,
        experiment=experiment,
        commit=commit,
        context=context,
    )


def compute_spec_hash(study: Mapping[str, Any], trial_job: Mapping[str, Any]) -> str:
    """Hash of the study and the trial job spec minus the image tag and the output directory."""
    canonical = json.dumps(
        defining_spec({**study, "trialJobSpec": trial_job}), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:SPEC_HASH_LENGTH]


def defining_spec(job_json: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a job (JSON mapping) that defines its study: what the spec hash covers."""
    spec = {key: copy.deepcopy(job_json[key]) for key in _DEFINING_FIELDS if key in job_json}
    trial_job = spec.get("trialJobSpec", {})
    trial_job.pop("baseOutputDirectory", None)
    for pool in trial_job.get("workerPoolSpecs", []):
        container = pool.get("containerSpec")
        if container and "imageUri" in container:
            container["imageUri"] = _untagged(container["imageUri"])
    return spec


_DEFINING_FIELDS = ("studySpec", "maxTrialCount", "parallelTrialCount", "maxFailedTrialCount", "trialJobSpec")


def study_spec(experiment: Experiment) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "metrics": [{"metricId": experiment.metric_id, "goal": experiment.goal.upper()}],
        "parameters": [parameter_spec(parameter) for parameter in experiment.parameters],
    }
    if _ALGORITHMS[experiment.algorithm]:
        spec["algorithm"] = _ALGORITHMS[experiment.algorithm]
    stopping = experiment.early_stopping
    if stopping is not None and stopping.rule == "decay_curve":
        spec["decayCurveStoppingSpec"] = _true({"useElapsedDuration": stopping.use_elapsed_duration})
    if stopping is not None and stopping.rule == "median":
        spec["medianAutomatedStoppingSpec"] = _true({"useElapsedDuration": stopping.use_elapsed_duration})
    if experiment.measurement_selection:
        spec["measurementSelectionType"] = _SELECTIONS[experiment.measurement_selection]
    if stopping is not None and stopping.rule == "convex":
        convex = _true(
            {
                "maxStepCount": _int64(stopping.max_step_count),
                "minStepCount": _int64(stopping.min_step_count),
                "minMeasurementCount": _int64(stopping.min_measurement_count),
                "learningRateParameterName": stopping.learning_rate_parameter_name,
                "useElapsedDuration": stopping.use_elapsed_duration,
            }
        )
        if stopping.update_all_stopped_trials is not None:  # `optional` in the proto: false is sent
            convex["updateAllStoppedTrials"] = stopping.update_all_stopped_trials
        spec["convexAutomatedStoppingSpec"] = convex
    return spec


def parameter_spec(parameter: Parameter) -> dict[str, Any]:
    spec: dict[str, Any] = {"parameterId": parameter.id}
    if parameter.type == "double":
        spec["doubleValueSpec"] = _with_default(
            _true({"minValue": float(parameter.min), "maxValue": float(parameter.max)}),
            parameter.default,
            float,
        )
    elif parameter.type == "integer":
        spec["integerValueSpec"] = _with_default(
            _true({"minValue": _int64(parameter.min), "maxValue": _int64(parameter.max)}),
            parameter.default,
            str,
        )
    elif parameter.type == "categorical":
        spec["categoricalValueSpec"] = _with_default(
            {"values": list(parameter.values)}, parameter.default, str
        )
    else:
        spec["discreteValueSpec"] = _with_default(
            {"values": [float(v) for v in parameter.values]}, parameter.default, float
        )
    if parameter.scale:
        spec["scaleType"] = _SCALES[parameter.scale]
    conditions = []
    for condition in parameter.children:
        if parameter.type == "discrete":
            parent = {"parentDiscreteValues": {"values": [float(v) for v in condition.when]}}
        elif parameter.type == "integer":
            parent = {"parentIntValues": {"values": [str(v) for v in condition.when]}}
        else:
            parent = {"parentCategoricalValues": {"values": list(condition.when)}}
        for child in condition.parameters:
            conditions.append({"parameterSpec": parameter_spec(child), **parent})
    if conditions:
        spec["conditionalParameterSpecs"] = conditions
    return spec


def trial_job_spec(experiment: Experiment, image: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "workerPoolSpecs": [worker_pool_spec(pool, experiment, image) for pool in experiment.worker_pools],
    }
    scheduling = _true(
        {
            "timeout": f"{experiment.timeout_seconds}s" if experiment.timeout_seconds else None,
            "restartJobOnWorkerRestart": experiment.restart_job_on_worker_restart,
            "strategy": _STRATEGIES.get(experiment.scheduling_strategy or ""),
        }
    )
    if scheduling:
        spec["scheduling"] = scheduling
    if experiment.settings.service_account:
        spec["serviceAccount"] = experiment.settings.service_account
    if experiment.settings.network:
        spec["network"] = experiment.settings.network
    if experiment.enable_web_access:
        spec["enableWebAccess"] = True
    return spec


def worker_pool_spec(pool: WorkerPool, experiment: Experiment, image: str) -> dict[str, Any]:
    if pool.machine_type is None:
        return {}  # a skipped position keeps the pools after it in place
    spec: dict[str, Any] = {
        "machineSpec": _true(
            {
                "machineType": pool.machine_type,
                "acceleratorType": pool.accelerator_type,
                "acceleratorCount": pool.accelerator_count if pool.accelerator_type else None,
            }
        ),
        "replicaCount": _int64(pool.replica_count),
    }
    disk = _true({"bootDiskType": pool.boot_disk_type, "bootDiskSizeGb": pool.boot_disk_size_gb})
    if disk:
        spec["diskSpec"] = disk
    # No `command`: the image's ENTRYPOINT is the trainer; Vertex appends each --parameter=value.
    container: dict[str, Any] = {"imageUri": image}
    args = [*experiment.trainer_args, *pool.args]
    if args:
        container["args"] = args
    env = dict(experiment.trainer_env) | dict(pool.env)
    if env:
        container["env"] = [_true({"name": name, "value": value}) for name, value in env.items()]
    spec["containerSpec"] = container
    return spec


def _image(experiment: Experiment, context: CompileContext, commit: str | None) -> str:
    settings = experiment.settings
    if settings.image_uri:
        return settings.image_uri
    tag = context.image_tag or images.content_tag(commit or "HEAD")
    return images.image_uri(
        settings.region,
        settings.project,
        settings.image_repository,
        settings.image_name or DEFAULT_IMAGE_NAME,
        tag,
    )


def _untagged(uri: str) -> str:
    uri = uri.split("@", 1)[0]
    name, _, tag = uri.rpartition(":")
    return name if name and "/" not in tag else uri


def _int64(value: int | None) -> str | None:
    # The JSON mapping writes 64-bit integers as text.
    return str(value) if value else None


def _true(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields not at their proto3 default (the JSON mapping leaves those out)."""
    return {key: value for key, value in fields.items() if value not in (None, 0, 0.0, "", False, "0")}


def _with_default(spec: dict[str, Any], default: Any, convert) -> dict[str, Any]:
    # `default_value` is `optional` in the proto: written whenever given, even when zero.
    if default is not None:
        spec["defaultValue"] = convert(default)
    return spec


_CUSTOM_JOB_SPEC_ORDER = (
    "workerPoolSpecs",
    "scheduling",
    "serviceAccount",
    "network",
    "baseOutputDirectory",
    "enableWebAccess",
)


def _ordered(fields: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    return {key: fields[key] for key in order if key in fields}
