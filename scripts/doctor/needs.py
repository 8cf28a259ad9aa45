"""What a run needs from a Google Cloud project: APIs, the caller's permissions, accelerator quota.

Each list names exactly what this repository's commands call, and the predefined role that
grants it (least privilege). Sources, checked against Google's documentation:

- Vertex AI permissions and roles: https://cloud.google.com/iam/docs/roles-permissions/aiplatform
  (`roles/aiplatform.user` holds `aiplatform.hyperparameterTuningJobs.*` but delete).
- Cloud Build: https://cloud.google.com/build/docs/iam-roles-permissions
  (`roles/cloudbuild.builds.editor`: `cloudbuild.builds.create/get/list`); a build runs as the
  project's default build service account, which the caller must be able to act as
  (`iam.serviceAccounts.actAs`, `roles/iam.serviceAccountUser` on that account):
  https://cloud.google.com/build/docs/cloud-build-service-account
- Acting as a trial's service account: https://cloud.google.com/vertex-ai/docs/general/custom-service-account
  and https://cloud.google.com/iam/docs/service-accounts-actas
- Cloud Storage roles: https://cloud.google.com/storage/docs/access-control/iam-roles
  (`roles/storage.objectCreator`: `storage.objects.create`, what `build` needs to upload its source).
- Artifact Registry roles: https://cloud.google.com/artifact-registry/docs/access-control#roles
  (`roles/artifactregistry.reader`: `repositories.get` and `downloadArtifacts`, what the image
  lookup needs; builds push as the build service account, not as the caller).
- Vertex AI custom training quotas, per region and accelerator type, service
  `aiplatform.googleapis.com`, metric `custom_model_training_<type>_gpus` (spot:
  `custom_model_training_preemptible_<type>_gpus`): https://cloud.google.com/vertex-ai/docs/quotas
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.experiments.compiler import CompiledExperiment

# API -> what needs it. `run` marks the ones a run needs; the others only `doctor` itself calls.
# https://cloud.google.com/service-usage/docs/enable-disable
RUN_APIS: dict[str, str] = {
    "aiplatform.googleapis.com": "tuning jobs",
    "cloudbuild.googleapis.com": "image builds",
    "artifactregistry.googleapis.com": "the trainer image",
    "storage.googleapis.com": "the staging bucket",
    "logging.googleapis.com": "build logs (cloudbuild.yaml: CLOUD_LOGGING_ONLY)",
    "iam.googleapis.com": "service accounts",
    "iamcredentials.googleapis.com": "Workload Identity Federation",
    "sts.googleapis.com": "Workload Identity Federation",
}
DOCTOR_APIS: dict[str, str] = {
    "cloudresourcemanager.googleapis.com": "doctor: project and permissions",
    "cloudquotas.googleapis.com": "doctor: accelerator quota",
}

# Project-level permissions the caller needs -> (the role that grants them, the commands that call).
PROJECT_PERMISSIONS: dict[str, tuple[str, str]] = {
    "aiplatform.hyperparameterTuningJobs.create": ("roles/aiplatform.user", "run, github submit"),
    "aiplatform.hyperparameterTuningJobs.get": ("roles/aiplatform.user", "status, report, follow"),
    "aiplatform.hyperparameterTuningJobs.list": (
        "roles/aiplatform.user",
        "list, submit (finds earlier jobs)",
    ),
    "aiplatform.hyperparameterTuningJobs.cancel": ("roles/aiplatform.user", "cancel"),
    "cloudbuild.builds.create": ("roles/cloudbuild.builds.editor", "build"),
    "cloudbuild.builds.get": ("roles/cloudbuild.builds.editor", "build (follows the build)"),
    "cloudbuild.builds.list": ("roles/cloudbuild.builds.editor", "build (finds a running build)"),
}
ACT_AS = "iam.serviceAccounts.actAs"
ACT_AS_ROLE = "roles/iam.serviceAccountUser"
BUCKET_PERMISSIONS: dict[str, str] = {"storage.objects.create": "roles/storage.objectCreator"}
REPOSITORY_PERMISSIONS: dict[str, str] = {
    "artifactregistry.repositories.downloadArtifacts": "roles/artifactregistry.reader",
}
QUOTA_SERVICE = "aiplatform.googleapis.com"

# The accelerator types whose quota metric does not follow the rule in `quota_metric`.
_METRIC_NAMES = {
    "NVIDIA_TESLA_K80": "nvidia_k80_gpus",
    "NVIDIA_TESLA_P4": "nvidia_p4_gpus",
    "NVIDIA_TESLA_P100": "nvidia_p100_gpus",
    "NVIDIA_TESLA_T4": "nvidia_t4_gpus",
    "NVIDIA_TESLA_V100": "nvidia_v100_gpus",
    "NVIDIA_TESLA_A100": "nvidia_a100_gpus",
    "NVIDIA_A100_80GB": "nvidia_a100_80gb_gpus",
    "NVIDIA_L4": "nvidia_l4_gpus",
}


def quota_metric(accelerator: str, spot: bool = False) -> str:
    """`aiplatform.googleapis.com/custom_model_training_nvidia_v100_gpus` for NVIDIA_TESLA_V100.

    Types not in the table above (H100, H200, B200, TPUs) follow the same pattern by name; the
    quota check says so when the project has no quota of that name.
    """
    base = _METRIC_NAMES.get(accelerator)
    if base is None:
        name = accelerator.lower().replace("nvidia_tesla_", "nvidia_")
        base = name if name.startswith("tpu") else f"{name}_gpus"
    prefix = "custom_model_training_preemptible_" if spot else "custom_model_training_"
    return f"{QUOTA_SERVICE}/{prefix}{base}"


@dataclass(frozen=True)
class Demand:
    """How many accelerators of one type an experiment holds at once in one region."""

    experiment: str
    project: str
    region: str
    accelerator: str
    spot: bool
    per_trial: int
    parallel: int

    @property
    def peak(self) -> int:
        return self.per_trial * self.parallel

    @property
    def metric(self) -> str:
        return quota_metric(self.accelerator, self.spot)

    def short(self) -> str:
        """`4 NVIDIA_TESLA_V100 in us-central1` (`(spot)` after the type for spot capacity)."""
        return f"{self.peak} {self.accelerator}{' (spot)' if self.spot else ''} in {self.region}"

    def explain(self) -> str:
        """`4 NVIDIA_TESLA_V100 (2 per trial x 2 parallel trials, horses-humans)`."""
        kind = " (spot)" if self.spot else ""
        return (
            f"{self.peak} {self.accelerator}{kind} ({self.per_trial} per trial x {self.parallel} parallel "
            f"trial{'s' if self.parallel != 1 else ''}, {self.experiment})"
        )


def demands(compiled: CompiledExperiment) -> list[Demand]:
    """One demand per accelerator type the experiment's trials use (pools x replicas, summed)."""
    spec = compiled.job.trial_job_spec
    spot = spec.scheduling.strategy.name == "SPOT"
    per_trial: dict[str, int] = {}
    for pool in spec.worker_pool_specs:
        machine = pool.machine_spec
        if machine.accelerator_count and machine.accelerator_type:
            name = machine.accelerator_type.name
            per_trial[name] = per_trial.get(name, 0) + machine.accelerator_count * max(pool.replica_count, 1)
    parallel = max(compiled.job.parallel_trial_count, 1)
    return [
        Demand(compiled.name, compiled.project, compiled.location, name, spot, count, parallel)
        for name, count in sorted(per_trial.items())
    ]


def peaks(all_demands: Iterable[Demand]) -> list[Demand]:
    """The largest demand for each (project, region, accelerator, spot): the quota that must cover it.

    Experiments are compared, not added: each is checked to fit on its own.
    """
    best: dict[tuple[str, str, str, bool], Demand] = {}
    for demand in all_demands:
        key = (demand.project, demand.region, demand.accelerator, demand.spot)
        if key not in best or demand.peak > best[key].peak:
            best[key] = demand
    return [best[key] for key in sorted(best)]
