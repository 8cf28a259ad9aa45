"""Compile a checked experiment into the `HyperparameterTuningJob` that gets submitted.

The caller resolves what needs git (the commit and the image's content tag, with
`scripts.images.commit_and_tag`) and hands it over in the `CompileContext`: compiling asks
nothing of git. The experiment variant (profile and overrides applied) is built and checked
once by the loader; this module turns the checked `Experiment` into the typed message. Each
field is set through the `aiplatform_v1` message types, so a name, an enum value or a range the
API does not have fails here rather than at the API; a field is left unset where the experiment
leaves it to the API's default, and the JSON mapping then leaves it out, as Vertex AI prints it.

The spec hash covers what defines the study: the study spec, the trial counts and the trial job
spec with the image's tag and the output directory left out. It leaves out the labels, the
display name, the image tag and the output directory, so a trainer-only commit does not make
an experiment "changed", while a profile or an override (a different study) does. The
TensorBoard the trials stream to is left out too: like the output directory, it says where logs
go, not what is studied, so adding one to `defaults` does not resubmit every experiment.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.cloud.aiplatform_v1.types import custom_job, env_var, io, machine_resources, study
from google.cloud.aiplatform_v1.types.hyperparameter_tuning_job import HyperparameterTuningJob
from google.protobuf import duration_pb2, json_format

from scripts import images
from scripts.experiments import rules
from scripts.experiments.loader import variant
from scripts.experiments.model import Experiment, ExperimentsFile, Parameter, WorkerPool
from scripts.jobs import labels as identity

DEFAULT_IMAGE_NAME = "trainer"
SPEC_HASH_LENGTH = 20

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


@dataclass(frozen=True)
class CompileContext:
    """What compiling needs besides the file: the environment for `${VAR}`, who asks, and variants.

    `commit` is the full commit the job runs (None outside git: labelled `none`); `image_tag`
    the content tag of its build inputs, needed unless the experiment names its `image.uri`.
    Both come from `scripts.images.commit_and_tag`. `overrides` maps field paths
    (`max_trial_count`, `worker_pools.0.replica_count`) to values; text values are read as YAML.
    An `env` other than the one the file was loaded with reads the experiment again with it (None:
    the file's own).
    """

    env: Mapping[str, str] | None = None
    commit: str | None = None
    pull_request: int | str | None = None
    repository: str | None = None
    profile: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    image_tag: str | None = None


@dataclass(frozen=True)
class CompiledExperiment:
    """One experiment compiled for one commit: where it goes (`parent`) and what (`job`).

    `experiment` is the checked variant it was compiled from; `profile` and `overrides` say
    which variant that is (the plan shows them, and compares the base with the same ones).
    """

    name: str
    project: str
    location: str
    parent: str
    job: HyperparameterTuningJob
    spec_hash: str
    commit: str | None = None
    experiment: Experiment | None = None
    profile: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def job_json(self) -> dict[str, Any]:
        """The job in the protobuf JSON mapping (labels sorted by key), made from `job`."""
        return job_dict(self.job)

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
    experiment = variant(experiments, name, context.profile, context.overrides, context.env)
    return compile_checked(experiment, context)


def compile_checked(experiment: Experiment, context: CompileContext) -> CompiledExperiment:
    """A checked experiment (the variant the context names) as the job to submit."""
    settings = experiment.settings
    commit = context.commit
    short = commit[:7] if commit else "nocommit"
    study = study_spec(experiment)
    trial_job = trial_job_spec(experiment, _image(experiment, context))
    counts = {
        "max_trial_count": experiment.max_trial_count,
        "parallel_trial_count": experiment.parallel_trial_count,
        "max_failed_trial_count": experiment.max_failed_trial_count,
    }
    spec_hash = compute_spec_hash(
        job_dict(HyperparameterTuningJob(study_spec=study, trial_job_spec=trial_job, **counts))
    )

    # The job's directory, from what the plan knows: the study (spec hash) and the FULL commit (two
    # commits may share 7 hex digits, and then their trials wrote into one another's `<dir>/<trial>/`).
    # It is left out of the spec hash (`defining_spec`), so `submit` may still move a job that is
    # not the first of its identity (`--force`, or after a failed one) to a directory beside this
    # one (`scripts.jobs.labels.for_submission`) without changing the hash the plan and the reply show.
    base = settings.base_output_directory or f"{settings.staging_bucket}/hpt"
    written_at = identity.label_value(commit) if commit else "nocommit"
    trial_job.base_output_directory = io.GcsDestination(
        output_uri_prefix=f"{base}/{experiment.name}/{spec_hash[:12]}-{written_at}"
    )
    job_labels = dict(settings.labels)
    job_labels[identity.MANAGED_BY] = identity.MANAGED_BY_VALUE
    job_labels[identity.EXPERIMENT] = identity.label_value(experiment.name)
    job_labels[identity.SPEC_HASH] = spec_hash
    job_labels[identity.COMMIT] = identity.label_value(commit) if commit else "none"
    if context.pull_request is not None:
        job_labels[identity.PULL_REQUEST] = identity.label_value(str(context.pull_request))
    if context.repository:
        job_labels[identity.REPOSITORY] = identity.repository_label(context.repository)

    display = experiment.name if context.profile is None else f"{experiment.name}-{context.profile}"
    job = HyperparameterTuningJob(
        display_name=f"{display}-{short}",
        study_spec=study,
        trial_job_spec=trial_job,
        labels=dict(sorted(job_labels.items())),
        **counts,
    )
    return CompiledExperiment(
        name=experiment.name,
        project=settings.project,
        location=settings.region,
        parent=f"projects/{settings.project}/locations/{settings.region}",
        job=job,
        spec_hash=spec_hash,
        commit=commit,
        experiment=experiment,
        profile=context.profile,
        overrides=dict(context.overrides),
    )


def compute_spec_hash(job_json: Mapping[str, Any]) -> str:
    """Hash of the study and the trial job spec minus the image tag and the output directory."""
    canonical = json.dumps(defining_spec(job_json), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:SPEC_HASH_LENGTH]


def defining_spec(job_json: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a job (JSON mapping) that defines its study: what the spec hash covers."""
    spec = {key: copy.deepcopy(job_json[key]) for key in _DEFINING_FIELDS if key in job_json}
    trial_job = spec.get("trialJobSpec", {})
    trial_job.pop("baseOutputDirectory", None)
    trial_job.pop("tensorboard", None)
    for pool in trial_job.get("workerPoolSpecs", []):
        container = pool.get("containerSpec")
        if container and "imageUri" in container:
            container["imageUri"] = _untagged(container["imageUri"])
    return spec


_DEFINING_FIELDS = ("studySpec", "maxTrialCount", "parallelTrialCount", "maxFailedTrialCount", "trialJobSpec")


def _image(experiment: Experiment, context: CompileContext) -> str:
    settings = experiment.settings
    if settings.image_uri:
        return settings.image_uri
    if not context.image_tag:
        raise ValueError(
            f"compiling {experiment.name!r} needs CompileContext.image_tag (scripts.images.commit_and_tag): "
            "the experiment names no image.uri"
        )
    return images.image_uri(
        settings.region,
        settings.project,
        settings.image_repository,
        settings.image_name or DEFAULT_IMAGE_NAME,
        context.image_tag,
    )


def _untagged(uri: str) -> str:
    uri = uri.split("@", 1)[0]
    name, _, tag = uri.rpartition(":")
    return name if name and "/" not in tag else uri


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
        key, spec = _STOPPING_SPECS[stopping.rule]
        fields[key] = spec(**_given(**options))
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
        key, condition_type = _CONDITIONS[kind]
        parent = {key: condition_type(values=[as_sent(value) for value in condition.when])}
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


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: None leaves a field unset (the API's default)."""
    return {name: value for name, value in fields.items() if value is not None}
