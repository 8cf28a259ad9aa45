"""Promote a tuning job's trial: register its model as a new version of its experiment's model.

    promotion, result = promote_trial(backend, job)     # the best trial, or trial_id="3"
    print(headline(promotion, result))                  # "registered MODEL@1: ..." / "already promoted: ..."

`promote_trial` is the one road `promote` and `/hpt promote` share. Its steps: `choose_trial`
(the best SUCCEEDED trial, or a named one), `plan_promotion` (the version to upload, checked),
`promote` (uploads, or finds the version already there). What depends on where the job ran: an
emulator's job has its trials' files on this machine (checked before anything is uploaded), and
the Model Registry client is the backend's (the emulator's channel, or the job's regional endpoint).

One model per experiment (`model_id_for`, in the job's project and region); each promotion is a
version of it, labelled with the job's identity (experiment, spec hash, commit), the job and the
trial. Those labels make promotion idempotent: before uploading, the model's versions are listed
with `labels.hpt-job="…" AND labels.hpt-trial="…"`, and a version found there is the answer. The
same look-up runs again before each retry of an upload that may have been applied (its reply
lost), so a retry never registers the trial twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.emulator.contract import OutsideStateDir
from scripts.errors import UserError
from scripts.jobs import labels, states
from scripts.jobs.names import job_id, parse_job_name
from scripts.jobs.states import TrialOutcome
from scripts.registry import names, serving
from scripts.results.trials import (
    best_trial,
    final_value,
    objective,
    outcome,
    parameter_value,
    trial_sort_key,
)

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Model, ModelServiceClient, Trial

    from scripts.vertex.backend import Backend
    from scripts.vertex.calls import RetryPolicy

# An upload copies the model's files: give the operation time (it usually ends in a minute or two).
UPLOAD_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Promotion:
    """What a promotion registers, and where."""

    job: str  # the tuning job's name
    trial_id: str
    metric: str
    value: float
    model_name: str  # projects/P/locations/L/models/ID
    model: Model  # the version to upload (its fields, no name)

    @property
    def parent(self) -> str:
        return self.model_name.split("/models/")[0]

    @property
    def model_id(self) -> str:
        return self.model_name.rsplit("/", 1)[-1]

    @property
    def filter(self) -> str:
        """The ListModelVersions filter that finds a version of this job's trial."""
        return " AND ".join(f'labels.{key}="{self.model.labels[key]}"' for key in (names.JOB, names.TRIAL))


@dataclass(frozen=True)
class Result:
    model: Model  # the version, as the registry returns it (`name` without `@`, `version_id`)
    created: bool  # False: the trial was promoted before, and this is that version
    aliases_added: tuple[str, ...] = ()

    @property
    def version_name(self) -> str:
        return f"{self.model.name}@{self.model.version_id}"


# -- which trial -----------------------------------------------------------------------------------


def choose_trial(job: HyperparameterTuningJob, trial_id: str | None) -> Trial:
    """Trial `trial_id` if it succeeded with a value of the metric, else the best such trial of an
    ended job (`scripts.results.trials`); a `UserError` saying why there is none to promote."""
    metric = objective(job).metric_id
    if trial_id is None:
        if not states.is_terminal(job.state.name):
            raise UserError(
                f"{job.name} is {states.short(job.state.name)}: its best trial may still change; wait "
                "for it to end, or name a trial with --trial N"
            )
        best = best_trial(job)
        if best is None:
            raise UserError(
                f"no trial of {job.name} succeeded with a value of {metric!r}: nothing to promote"
            )
        return best
    trial = next((trial for trial in job.trials if trial.id == trial_id), None)
    if trial is None:
        ids = sorted((trial.id for trial in job.trials), key=trial_sort_key)
        raise UserError(
            f"{job.name} has no trial {trial_id}"
            + (f" (its trials: {', '.join(ids)})" if ids else " (it has no trials)")
        )
    ended = outcome(trial, metric)
    if ended != TrialOutcome.SUCCEEDED:
        why = f"{ended.value}: {trial.infeasible_reason}" if trial.infeasible_reason else ended.value
        raise UserError(
            f"trial {trial_id} of {job.name} did not succeed ({trial.state.name}, {why}): only a SUCCEEDED "
            f"trial with a final {metric!r} can be promoted"
        )
    return trial


# -- what to register ------------------------------------------------------------------------------


def experiment_of(job: HyperparameterTuningJob) -> str:
    """The job's experiment: its `hpt-experiment` label, else its display name."""
    return job.labels.get(labels.EXPERIMENT) or job.display_name


def artifact_uri(job: HyperparameterTuningJob, trial: Trial) -> str:
    """Where the trial's model is: `$AIP_MODEL_DIR`, i.e. `<base_output_directory>/<trial id>/model`."""
    prefix = job.trial_job_spec.base_output_directory.output_uri_prefix
    if not prefix:
        raise UserError(
            f"{job.name} has no base_output_directory: its trials had no $AIP_MODEL_DIR and saved "
            "no model to register"
        )
    return f"{prefix.rstrip('/')}/{trial.id}/model"


def version_labels(job: HyperparameterTuningJob, trial: Trial) -> dict[str, str]:
    """The job's identity and lineage labels, plus the job id and trial id."""
    kept = (labels.EXPERIMENT, labels.SPEC_HASH, labels.COMMIT, labels.REPOSITORY, labels.PULL_REQUEST)
    result = {key: job.labels[key] for key in kept if job.labels.get(key)}
    result.setdefault(labels.EXPERIMENT, labels.label_value(experiment_of(job)))
    result[labels.MANAGED_BY] = labels.MANAGED_BY_VALUE
    result[names.JOB] = labels.label_value(job_id(job.name))
    result[names.TRIAL] = labels.label_value(trial.id)
    return result


def describe(job: HyperparameterTuningJob, trial: Trial, metric: str, value: float, goal: str) -> str:
    """`accuracy 0.9375 (maximize) of trial 3 of <job> (experiment x, commit c): a=1, b=2`."""

    def shown(parameter) -> str:
        raw = parameter_value(parameter)
        value = f"{raw:.6g}" if isinstance(raw, float) else raw
        return f"{parameter.parameter_id}={value}"

    lineage = [f"experiment {experiment_of(job)}"]
    if job.labels.get(labels.COMMIT):
        lineage.append(f"commit {job.labels[labels.COMMIT]}")
    parameters = ", ".join(shown(parameter) for parameter in trial.parameters)
    return f"{metric} {value:.6g} ({goal}) of trial {trial.id} of {job.name} ({', '.join(lineage)})" + (
        f": {parameters}" if parameters else ""
    )


def plan_promotion(
    job: HyperparameterTuningJob,
    trial: Trial,
    *,
    serving_image: str | None = None,
    alias: str | None = None,
    local_outputs: Path | None = None,
) -> Promotion:
    """The version to upload for `trial`, checked: its model exists in a form `serving_image`
    serves (`local_outputs`: where the job's base output directory is on this machine, if it is).

    `serving_image` defaults to the prebuilt TensorFlow CPU container nearest the job's region."""
    from google.cloud.aiplatform_v1 import Model, ModelContainerSpec  # 1 s: not for `github command`'s start

    parsed = parse_job_name(job.name)
    if parsed is None:
        raise UserError(f"{job.name!r} is not a tuning job's name")
    if alias is not None and (problem := names.alias_problem(alias)):
        raise UserError(f"--alias: {problem}")
    image = serving_image or serving.default_serving_image(parsed.location)
    uri = artifact_uri(job, trial)
    local_dir = local_outputs / trial.id / "model" if local_outputs is not None else None
    problem = serving.serving_problem(job, trial.id, uri, image, local_dir)
    if problem:
        raise UserError(problem)
    goal = objective(job)
    value = final_value(trial, goal.metric_id)
    if value is None:  # choose_trial only returns trials with a value
        raise UserError(f"trial {trial.id} of {job.name} has no final {goal.metric_id!r}")
    text = describe(job, trial, goal.metric_id, value, goal.goal)
    model = Model(
        display_name=experiment_of(job)[:128],
        description=text,
        version_description=text,
        artifact_uri=uri,
        container_spec=ModelContainerSpec(image_uri=image),
        labels=version_labels(job, trial),
        version_aliases=[alias] if alias else [],
    )
    model_name = f"{parsed.parent}/models/{names.model_id_for(experiment_of(job))}"
    return Promotion(job.name, trial.id, goal.metric_id, value, model_name, model)


def upload_request(promotion: Promotion, *, model_exists: bool) -> dict[str, Any]:
    """The UploadModelRequest: the model's first version (`model_id`), or a new version of it
    (`parent_model`)."""
    version_of = {"parent_model": promotion.model_name} if model_exists else {"model_id": promotion.model_id}
    return {"parent": promotion.parent, "model": promotion.model, **version_of}


# -- the calls -------------------------------------------------------------------------------------
# Each one made once (`promote` retries), bounded like a JobService call. grpc, api_core and the
# retry policy (0.2 s) are imported here alone: `github command` imports this module at its start.


def _once() -> dict[str, Any]:
    from scripts.vertex.calls import CALL_TIMEOUT  # 0.2 s: only when a promotion calls

    return {"retry": None, "timeout": CALL_TIMEOUT}


def find_promoted(client: ModelServiceClient, promotion: Promotion) -> tuple[bool, Model | None]:
    """Whether the experiment's model exists, and its version that holds this trial (the oldest)."""
    from google.api_core.exceptions import NotFound  # 0.1 s: only when a promotion calls

    request = {"name": promotion.model_name, "filter": promotion.filter}
    try:
        versions = list(client.list_model_versions(request=request, **_once()))
    except NotFound:
        return False, None
    held = [version for version in versions if _holds(version, promotion)]
    held.sort(key=lambda version: int(version.version_id) if version.version_id.isdigit() else 0)
    return True, (held[0] if held else None)


def _holds(version: Model, promotion: Promotion) -> bool:
    """The filter already says so; checked again, as a filter a service ignored would list all."""
    return all(version.labels.get(key) == promotion.model.labels[key] for key in (names.JOB, names.TRIAL))


def promote(
    client: ModelServiceClient,
    promotion: Promotion,
    *,
    policy: RetryPolicy | None = None,
    emulator: str | None = None,
) -> Result:
    """Register the promotion's version unless one already holds its trial; the version either way.

    Each attempt looks before it uploads, so an upload whose reply was lost (a transient failure
    that may have been applied) is found by the next attempt, not uploaded twice. Two first
    promotions racing to create the model end with one: the loser's `model_id` upload is
    ALREADY_EXISTS, and it looks again and uploads a version instead. `emulator` names the address
    in errors when nothing answers there."""
    from scripts.vertex.calls import API_ERRORS, RetryPolicy  # 0.2 s: see "the calls"

    step = ["ListModelVersions"]  # the call under way, named in retry messages and errors
    try:
        return (policy or RetryPolicy()).retry(lambda: step[0])(_attempt)(client, promotion, step)
    except API_ERRORS as error:
        raise explain_registry_error(
            error,
            action=f"{step[0]} for trial {promotion.trial_id} of {promotion.job}",
            project=promotion.parent.split("/")[1],
            emulator=emulator,
        ) from None


def _attempt(client: ModelServiceClient, promotion: Promotion, step: list[str]) -> Result:
    from google.api_core.exceptions import AlreadyExists  # 0.1 s: see "the calls"

    for _ in range(2):  # a second time only after losing the race to create the model
        step[0] = "ListModelVersions"
        exists, found = find_promoted(client, promotion)
        if found is not None:
            return _existing(client, promotion, found, step)
        step[0] = "UploadModel"
        try:
            operation = client.upload_model(request=upload_request(promotion, model_exists=exists), **_once())
            response = operation.result(timeout=UPLOAD_TIMEOUT)
        except AlreadyExists:
            if exists:
                raise
            continue
        step[0] = "GetModel"
        version = client.get_model(name=f"{response.model}@{response.model_version_id}", **_once())
        return Result(version, created=True)
    raise UserError(f"{promotion.model_name} was created and removed while promoting: try again")


def _existing(client: ModelServiceClient, promotion: Promotion, found: Model, step: list[str]) -> Result:
    """The version that already holds the trial, given the requested alias if it lacks it (moved
    from the version that has it, as MergeVersionAliases does)."""
    missing = tuple(alias for alias in promotion.model.version_aliases if alias not in found.version_aliases)
    if not missing:
        return Result(found, created=False)
    step[0] = "MergeVersionAliases"
    name = f"{found.name}@{found.version_id}"
    merged = client.merge_version_aliases(name=name, version_aliases=list(missing), **_once())
    return Result(merged, created=False, aliases_added=missing)


def explain_registry_error(
    error: BaseException, *, action: str, project: str, emulator: str | None = None
) -> UserError:
    """One line for a failed Model Registry call: a rejected model says so (the JobService's
    wording speaks of experiments.yaml); anything else as `scripts.vertex.calls.explain` says it."""
    # grpc and the JobService's wording (0.2 s): see "the calls"
    import grpc

    from scripts.vertex.calls import describe_error, explain, status_code

    code = status_code(error)
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        return UserError(
            f"{action}: the Model Registry refused the model ({describe_error(error, limit=400)})"
        )
    if code == grpc.StatusCode.NOT_FOUND:
        return UserError(
            f"{action}: not found: check the project and region ({describe_error(error, limit=400)})"
        )
    return explain(error, action=action, project=project, emulator=emulator)


# -- through a backend -----------------------------------------------------------------------------


def local_outputs(backend: Backend, prefix: str) -> Path | None:
    """Where an emulator keeps the job's base output directory, when it says (None on Vertex AI)."""
    if not backend.is_emulator or not prefix:
        return None
    try:
        where = backend.trial_outputs(prefix)
    except OutsideStateDir:
        return None
    return Path(where) if where else None


def promote_trial(
    backend: Backend,
    job: HyperparameterTuningJob,
    *,
    trial_id: str | None = None,
    serving_image: str | None = None,
    alias: str | None = None,
) -> tuple[Promotion, Result]:
    """Register trial `trial_id` of `job` (default: its best) in the backend's Model Registry, or
    find the version that already holds it; raises `UserError` saying why it cannot."""
    parsed = parse_job_name(job.name)
    if parsed is None:
        raise UserError(f"{job.name!r} is not a tuning job's name")
    trial = choose_trial(job, trial_id)
    promotion = plan_promotion(
        job,
        trial,
        serving_image=serving_image,
        alias=alias,
        local_outputs=local_outputs(backend, job.trial_job_spec.base_output_directory.output_uri_prefix),
    )
    client = backend.model_service_client(parsed.location)
    return promotion, promote(client, promotion, emulator=backend.emulator)


def headline(promotion: Promotion, result: Result) -> str:
    """What happened, in one line: the version registered, or the one that already holds the trial."""
    if result.created:
        return (
            f"registered {result.version_name}: trial {promotion.trial_id} of {promotion.job}, "
            f"{promotion.metric} {promotion.value:.6g}"
        )
    line = f"already promoted: {result.version_name} holds trial {promotion.trial_id} of {promotion.job}"
    if result.aliases_added:
        line += f"; alias {', '.join(result.aliases_added)} moved to it"
    return line
