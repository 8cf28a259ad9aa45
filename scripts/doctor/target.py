"""What `doctor` checks: the settings the other commands read, and what the experiments need.

The settings come from the same variables as `build`, `run --backend vertex` and the workflows
(`scripts/cloudbuild/settings.py`): GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_REGION,
HPT_STAGING_BUCKET, HPT_ARTIFACT_REPOSITORY, HPT_IMAGE. What the experiments need (accelerators
at their peak, the service accounts trials run as, the image) is read off the compiled jobs,
exactly as they would be submitted.

`Context` (below) is what the checks share as they run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scripts.cloudbuild.settings import SOURCES, bucket_name, lookup
from scripts.doctor.clients import Endpoints
from scripts.doctor.needs import Demand, demands

if TYPE_CHECKING:
    from scripts.doctor.clients import Clients
    from scripts.doctor.credentials import Identity
    from scripts.experiments.compiler import CompiledExperiment


@dataclass(frozen=True)
class Missing:
    variable: str
    why: str


@dataclass(frozen=True)
class Target:
    project: str | None
    region: str
    region_is_default: bool
    bucket: str | None
    repository: str
    image: str
    missing: tuple[Missing, ...] = ()
    experiments: tuple[str, ...] = ()
    experiments_problem: str | None = None
    experiments_note: str | None = None  # what was left out of the sizing, and why
    demands: tuple[Demand, ...] = ()
    # (service account, the experiments whose trials run as it)
    trial_service_accounts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (TensorBoard instance, the experiments whose trials stream to it)
    tensorboards: tuple[tuple[str, tuple[str, ...]], ...] = ()
    image_uris: tuple[str, ...] = ()
    # The backend is an emulator (its address): jobs go there, so no Google Cloud check applies
    emulator: str | None = None
    # Whose bindings to check (docs/setup.md, step 5): the deployer, the provider, the environment
    # the deployer is bound to. Named like the repository variables; unset, the caller's own
    # account and credentials say (in the workflows doctor runs as the deployer).
    deployer: str | None = None
    identity_provider: str | None = None
    environment: str = "vertex"

    @classmethod
    def build(
        cls,
        env: Mapping[str, str],
        compiled: Iterable[CompiledExperiment] = (),
        *,
        experiments_problem: str | None = None,
        experiments_note: str | None = None,
        fallback_image_uri: str | None = None,
        emulator: str | None = None,
    ) -> Target:
        values = lookup({}, env)
        missing = []
        project = values["project"]
        if not project:
            missing.append(Missing(SOURCES["project"][0], "the Google Cloud project ID"))
        bucket = values["bucket"]
        if bucket:
            bucket = bucket_name(bucket)
            if "/" in bucket:
                missing.append(Missing(SOURCES["bucket"][0], f"a bucket name, not a path ({bucket!r})"))
                bucket = None
        else:
            missing.append(Missing(SOURCES["bucket"][0], "the staging bucket (build sources, job outputs)"))

        compiled = list(compiled)
        accounts: dict[str, list[str]] = {}
        tensorboards: dict[str, list[str]] = {}
        uris: list[str] = []
        for experiment in compiled:
            spec = experiment.job.trial_job_spec
            if spec.service_account:
                accounts.setdefault(spec.service_account, []).append(experiment.name)
            if spec.tensorboard:
                tensorboards.setdefault(spec.tensorboard, []).append(experiment.name)
            for pool in spec.worker_pool_specs:
                uri = pool.container_spec.image_uri
                if uri and uri not in uris:
                    uris.append(uri)
        if not uris and fallback_image_uri:
            uris.append(fallback_image_uri)
        provider = (env.get("GCP_WORKLOAD_IDENTITY_PROVIDER") or "").removeprefix("//iam.googleapis.com/")
        return cls(
            project=project,
            region=values["region"] or "",
            region_is_default=not env.get(SOURCES["region"][0]),
            bucket=bucket,
            repository=values["repository"] or "",
            image=values["image"] or "",
            missing=tuple(missing),
            experiments=tuple(experiment.name for experiment in compiled),
            experiments_problem=experiments_problem,
            experiments_note=experiments_note,
            demands=tuple(demand for experiment in compiled for demand in demands(experiment)),
            trial_service_accounts=tuple((email, tuple(names)) for email, names in accounts.items()),
            tensorboards=tuple((name, tuple(names)) for name, names in tensorboards.items()),
            image_uris=tuple(uris),
            emulator=emulator,
            deployer=env.get("GCP_DEPLOYER_SERVICE_ACCOUNT") or None,
            identity_provider=provider or None,
            environment=env.get("HPT_ENVIRONMENT") or "vertex",
        )


@dataclass
class Context:
    """What the checks share: the target, whose credentials and which clients, and what earlier checks found.

    Each check is a function of a `Context`; the ones that learn something a later check needs
    write it here (the project's number, the APIs that are off, the repository when it may be read).
    """

    target: Target
    endpoints: Endpoints = field(default_factory=Endpoints)
    identity: Identity | None = None  # set by the credentials check
    clients: Clients | None = None  # set by the credentials check
    project_number: str | None = None  # set by the project check
    disabled_apis: set[str] = field(default_factory=set)  # set by the APIs check
    repository: Any = None  # set by the repository check: the repository, when the caller may read it

    @property
    def project(self) -> str:
        return self.target.project or ""

    @property
    def who(self) -> str:
        """The caller, in words, for a check's line."""
        return self.identity.describe() if self.identity else "the caller"

    @property
    def member(self) -> str:
        """The caller as an IAM member, for a fix's grant; MEMBER when unknown."""
        return (self.identity.member if self.identity else None) or "MEMBER"

    def member_note(self) -> str:
        """What to put for MEMBER, appended to a fix that names it; empty when the caller is known."""
        if self.identity and self.identity.member:
            return ""
        return "\n# MEMBER: user:EMAIL or serviceAccount:EMAIL of whoever runs the workflows"

    def enable(self, *services: str) -> str:
        return f"gcloud services enable {' '.join(services)} --project={self.project}"

    def grant(self, role: str, project: str | None = None) -> str:
        """The command that grants the caller `role` on `project` (default: the project checked)."""
        project = project or self.project
        return f"gcloud projects add-iam-policy-binding {project} --member={self.member} --role={role}"

    def calls(self) -> Clients:
        """The clients: only checks after a passed credentials check call Google."""
        assert self.clients is not None
        return self.clients
