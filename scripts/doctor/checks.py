"""The checks, in the order a run meets them; each one line, with the command that fixes it.

    checks = Doctor(target, Endpoints.from_environment()).run()

A check that cannot run because an earlier one failed is skipped (–) and says why; one that
could not be confirmed is a warning (!). Every Google call is bounded by `CALL_TIMEOUT` and is
not retried, and no error ends the run: an API error becomes that check's line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scripts.doctor import needs
from scripts.doctor.clients import CALL_TIMEOUT, Clients, Endpoints
from scripts.doctor.credentials import CredentialsProblem, Identity, load
from scripts.doctor.result import Check, fail, ok, skip, warn
from scripts.doctor.target import Target
from scripts.emulator.contract import EMULATOR_HOST_ENV

CONSOLE_QUOTAS = "https://console.cloud.google.com/iam-admin/quotas?project={project}"
_IMAGE = re.compile(
    r"^(?P<region>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repo>[^/]+)/(?P<image>[^:@]+):(?P<tag>[\w.-]+)$"
)
# A multi-region bucket location and the prefix of the regions it spans.
_MULTI_REGIONS = {"US": "us-", "EU": "europe-", "ASIA": "asia-"}
MAX_QUOTA_PAGES = 20


def _one_line(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(error: BaseException) -> str:
    """`PermissionDenied: ...` for an API error; the type and message in one line for anything else."""
    message = getattr(error, "message", None) or str(error) or ""
    return _one_line(f"{type(error).__name__}: {message}" if message else type(error).__name__)


def disabled_service(error: BaseException) -> str | None:
    """The API an error says is disabled (ErrorInfo reason SERVICE_DISABLED), else None."""
    if getattr(error, "reason", None) != "SERVICE_DISABLED":
        return None
    metadata = getattr(error, "metadata", None) or {}
    return metadata.get("service") or metadata.get("serviceTitle") or "the API"


class Doctor:
    def __init__(self, target: Target, endpoints: Endpoints | None = None) -> None:
        self.target = target
        self.endpoints = endpoints or Endpoints()
        self.identity: Identity | None = None
        self.clients: Clients | None = None
        self.project_number: str | None = None
        self.disabled_apis: set[str] = set()
        self.repository_ok = False

    # -- running -----------------------------------------------------------------------------

    def run(self) -> list[Check]:
        if self.target.emulator:
            return self._emulated()
        checks = [self.settings(), self.experiments(), self.credentials()]
        blocked = None
        if checks[2].failed:
            blocked = "no usable credentials"
        elif not self.target.project:
            blocked = "GOOGLE_CLOUD_PROJECT is not set"
        steps: list[tuple[str, Callable[[], list[Check]]]] = [
            ("project", self.project),
            ("APIs", self.apis),
            ("permissions", self.permissions),
            ("service accounts", self.service_accounts),
            ("identity bindings", self.identity_bindings),
            ("bucket", self.bucket),
            ("repository", self.repository),
            ("tags", self.immutable_tags),
            ("image", self.image),
            ("quota", self.quota),
        ]
        for name, step in steps:
            if blocked:
                checks.extend(self._skipped(name, blocked))
                continue
            results = self._guarded(name, step)
            checks.extend(results)
            if name == "project" and results[0].failed and results[0].data.get("unreachable"):
                blocked = "project not reachable"
        return checks

    def _emulated(self) -> list[Check]:
        """Jobs go to the local emulator: the experiments still count, Google Cloud does not."""
        reason = f"jobs go to the emulator at {self.target.emulator} ({EMULATOR_HOST_ENV})"
        cloud = ("credentials", "project", "APIs", "permissions", "service accounts", "identity bindings")
        cloud += ("bucket",)
        cloud += ("repository", "image", "quota")
        backend = ok("backend", f"{reason}; no Google Cloud project is used")
        return [self.experiments(), backend, *(skip(name, reason) for name in cloud)]

    def _guarded(self, name: str, step: Callable[[], list[Check]]) -> list[Check]:
        """The step's checks; an error no check expected becomes a failed line, not a traceback."""
        try:
            return step()
        except Exception as error:  # noqa: BLE001 - doctor reports every failure as a line
            service = disabled_service(error)
            if service:
                return [fail(name, f"{service} is not enabled", self._enable(service))]
            return [fail(name, f"could not check: {describe_error(error)}")]

    def _skipped(self, name: str, reason: str) -> list[Check]:
        if name == "quota":
            peaks = needs.peaks(self.target.demands)
            if peaks:
                return [skip(_quota_name(peak), f"{reason} (needs {peak.short()})") for peak in peaks]
        return [skip(name, reason)]

    # -- helpers -----------------------------------------------------------------------------

    @property
    def _project(self) -> str:
        return self.target.project or ""

    @property
    def _who(self) -> str:
        return self.identity.describe() if self.identity else "the caller"

    @property
    def _member(self) -> str:
        return (self.identity.member if self.identity else None) or "MEMBER"

    def _member_note(self) -> str:
        if self.identity and self.identity.member:
            return ""
        return "\n# MEMBER: user:EMAIL or serviceAccount:EMAIL of whoever runs the workflows"

    def _enable(self, *services: str) -> str:
        return f"gcloud services enable {' '.join(services)} --project={self._project}"

    def _calls(self) -> Clients:
        assert self.clients is not None
        return self.clients

    # -- the checks --------------------------------------------------------------------------

    def settings(self) -> Check:
        target = self.target
        if target.missing:
            names = ", ".join(f"{item.variable} ({item.why})" for item in target.missing)
            fix = "\n".join(f"export {item.variable}=..." for item in target.missing)
            fix += "\n# in GitHub Actions: the repository variables the workflows map to them (docs/setup.md)"
            return fail("settings", f"not set: {names}", fix)
        region = f"{target.region} (default)" if target.region_is_default else target.region
        return ok(
            "settings",
            f"project {target.project}, region {region}, bucket gs://{target.bucket}, "
            f"repository {target.repository}, image {target.image}",
        )

    def experiments(self) -> Check:
        target = self.target
        if target.experiments_problem:
            return fail("experiments", target.experiments_problem, "python -m scripts validate")
        if target.experiments_note and not target.experiments:
            return warn("experiments", target.experiments_note)
        if not target.experiments:
            return warn("experiments", "no experiment compiled: nothing to size the quota check from")
        peaks = needs.peaks(target.demands)
        sized = "; peak " + ", ".join(peak.short() for peak in peaks) if peaks else ""
        if target.experiments_note:
            return warn("experiments", f"{', '.join(target.experiments)}{sized}; {target.experiments_note}")
        return ok("experiments", f"{', '.join(target.experiments)}{sized}")

    def credentials(self) -> Check:
        try:
            credentials, self.identity = load(self.target.project)
        except CredentialsProblem as problem:
            return fail("credentials", str(problem), problem.fix)
        self.clients = Clients(self.endpoints, credentials)
        return ok("credentials", self.identity.describe())

    def project(self) -> list[Check]:
        from google.api_core import exceptions
        from google.cloud.resourcemanager_v3 import Project

        project = self._project
        try:
            found = (
                self._calls()
                .projects()
                .get_project(name=f"projects/{project}", timeout=CALL_TIMEOUT, retry=None)
            )
        except (exceptions.NotFound, exceptions.PermissionDenied) as error:
            if disabled_service(error):
                raise
            if self._project_exists(project):
                return [
                    warn(
                        "project",
                        f"{project} exists, but {self._who} may not read it (resourcemanager.projects.get)",
                        f"gcloud projects add-iam-policy-binding {project} --member={self._member} "
                        "--role=roles/browser" + self._member_note(),
                    )
                ]
            return [
                fail(
                    "project",
                    f"{project} does not exist, or {self._who} may not see it (resourcemanager.projects.get)",
                    f"gcloud projects describe {project}  # is the ID right? (not the name or number)",
                    unreachable=True,
                )
            ]
        self.project_number = found.name.removeprefix("projects/") or None
        if found.state != Project.State.ACTIVE:
            return [
                fail(
                    "project",
                    f"{project} is {found.state.name}",
                    f"gcloud projects undelete {project}",
                    unreachable=True,
                )
            ]
        shown = f" ({found.display_name})" if found.display_name and found.display_name != project else ""
        return [ok("project", f"{project}{shown}, number {self.project_number}")]

    def _project_exists(self, project: str) -> bool:
        """Whether testIamPermissions answers for the project: it needs no permission, so it answers
        for any project that exists, whoever asks."""
        try:
            self._calls().projects().test_iam_permissions(
                request={"resource": f"projects/{project}", "permissions": ["resourcemanager.projects.get"]},
                timeout=CALL_TIMEOUT,
                retry=None,
            )
        except Exception:  # noqa: BLE001 - any refusal: the project is not there for this caller
            return False
        return True

    def apis(self) -> list[Check]:
        from google.api_core.exceptions import PermissionDenied
        from google.cloud.service_usage_v1 import State

        project = self.project_number or self._project
        wanted = {**needs.RUN_APIS, **needs.DOCTOR_APIS}
        try:
            # https://cloud.google.com/service-usage/docs/reference/rest/v1/services/batchGet (30 at most)
            response = (
                self._calls()
                .service_usage()
                .batch_get_services(
                    request={
                        "parent": f"projects/{project}",
                        "names": [f"projects/{project}/services/{s}" for s in wanted],
                    },
                    timeout=CALL_TIMEOUT,
                    retry=None,
                )
            )
        except PermissionDenied as error:
            if disabled_service(error):
                raise
            # Not knowing is not a failure: the checks below meet a disabled API on their own.
            return [
                warn(
                    "APIs",
                    f"{self._who} may not read which APIs are enabled (serviceusage.services.get)",
                    f"gcloud projects add-iam-policy-binding {self._project} --member={self._member} "
                    "--role=roles/serviceusage.serviceUsageConsumer" + self._member_note(),
                )
            ]
        enabled = {
            service.name.rsplit("/", 1)[-1] for service in response.services if service.state == State.ENABLED
        }
        missing = [service for service in wanted if service not in enabled]
        self.disabled_apis = set(missing)
        if not missing:
            return [ok("APIs", f"{len(wanted)} enabled: {', '.join(s.split('.')[0] for s in wanted)}")]
        shown = ", ".join(f"{service} ({wanted[service]})" for service in missing)
        check = fail if any(service in needs.RUN_APIS for service in missing) else warn
        return [check("APIs", f"not enabled: {shown}", self._enable(*missing), missing=missing)]

    def permissions(self) -> list[Check]:
        # No permission is needed to ask which of one's own permissions one holds:
        # https://cloud.google.com/resource-manager/reference/rest/v3/projects/testIamPermissions
        project = self._project
        wanted = list(needs.PROJECT_PERMISSIONS)
        response = (
            self._calls()
            .projects()
            .test_iam_permissions(
                request={"resource": f"projects/{project}", "permissions": wanted},
                timeout=CALL_TIMEOUT,
                retry=None,
            )
        )
        granted = set(response.permissions)
        missing = [permission for permission in wanted if permission not in granted]
        if not missing:
            return [
                ok(
                    "permissions",
                    f"{self._who} holds the {len(wanted)} project permissions runs and builds use",
                )
            ]
        by_role: dict[str, list[str]] = {}
        for permission in missing:
            by_role.setdefault(needs.PROJECT_PERMISSIONS[permission][0], []).append(permission)
        shown = "; ".join(f"{', '.join(perms)} (granted by {role})" for role, perms in by_role.items())
        fix = "\n".join(
            f"gcloud projects add-iam-policy-binding {project} --member={self._member} --role={role}"
            for role in by_role
        )
        return [fail("permissions", f"{self._who} lacks {shown}", fix + self._member_note(), missing=missing)]

    def service_accounts(self) -> list[Check]:
        checks = []
        accounts = list(self.target.trial_service_accounts)
        if not accounts:
            checks.append(
                ok(
                    "trial service account",
                    "trials run as Vertex AI's service agent (no service_account set)",
                )
            )
        for email, experiments in accounts:
            names = ", ".join(experiments[:2]) + (
                f" and {len(experiments) - 2} more" if len(experiments) > 2 else ""
            )
            checks.append(self._act_as("trial service account", email, f"trials of {names}"))
        checks.append(self._build_account())
        return checks

    def identity_bindings(self) -> list[Check]:
        """Who may act as the deployer, and what the identity provider admits (setup.md, step 5)."""
        from scripts.doctor import binding_checks

        return binding_checks.run(self)

    def _build_account(self) -> Check:
        name = "build service account"
        project, region = self._project, self.target.region
        try:
            # https://cloud.google.com/build/docs/api/reference/rest/v1/projects.locations/getDefaultServiceAccount
            found = (
                self._calls()
                .cloud_build()
                .get_default_service_account(
                    name=f"projects/{project}/locations/{region}/defaultServiceAccount",
                    timeout=CALL_TIMEOUT,
                    retry=None,
                )
            )
        except Exception as error:  # noqa: BLE001 - reported as a line
            return warn(
                name, f"could not ask Cloud Build which account builds run as: {describe_error(error)}"
            )
        email = found.service_account_email.rsplit("/", 1)[-1]
        if not email:
            return fail(
                name,
                f"Cloud Build has no default service account in {region}: builds cannot run",
                "# give builds an account: https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts",
            )
        if email.endswith("@cloudbuild.gserviceaccount.com"):
            return ok(name, f"builds run as the legacy Cloud Build account {email}")
        return self._act_as(name, email, "builds")

    def _act_as(self, name: str, email: str, used_by: str) -> Check:
        from google.api_core import exceptions

        try:
            # https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/testIamPermissions
            response = (
                self._calls()
                .iam()
                .test_iam_permissions(
                    request={
                        "resource": f"projects/-/serviceAccounts/{email}",
                        "permissions": [needs.ACT_AS],
                    },
                    timeout=CALL_TIMEOUT,
                    retry=None,
                )
            )
        except (exceptions.NotFound, exceptions.PermissionDenied) as error:
            if isinstance(error, exceptions.PermissionDenied) and not _missing_account(error):
                return fail(name, f"could not check {email} ({used_by}): {describe_error(error)}")
            account = email.split("@", 1)[0]
            return fail(
                name,
                f"{email} ({used_by}) does not exist",
                f"gcloud iam service-accounts create {account} --project={self._project}",
            )
        if needs.ACT_AS in response.permissions:
            return ok(name, f"{self._who} may act as {email} ({used_by})")
        return fail(
            name,
            f"{self._who} may not act as {email} ({used_by}): "
            f"missing {needs.ACT_AS} (granted by {needs.ACT_AS_ROLE})",
            f"gcloud iam service-accounts add-iam-policy-binding {email} --project={self._project} "
            f"--member={self._member} --role={needs.ACT_AS_ROLE}" + self._member_note(),
        )

    def bucket(self) -> list[Check]:
        from google.api_core import exceptions

        target = self.target
        if not target.bucket:
            return [skip("bucket", "HPT_STAGING_BUCKET is not set")]
        project, region, name = self._project, target.region, target.bucket
        create = (
            f"gcloud storage buckets create gs://{name} --project={project} --location={region} "
            "--uniform-bucket-level-access"
        )
        bucket = self._calls().storage(project).bucket(name)
        location = None
        try:
            bucket.reload(timeout=CALL_TIMEOUT, retry=None)
            location = (bucket.location or "").upper()
        except exceptions.NotFound:
            return [fail("bucket", f"gs://{name} does not exist", create)]
        except exceptions.Forbidden:
            pass  # object roles do not include storage.buckets.get: the permissions below still say much
        granted = set(
            bucket.test_iam_permissions(list(needs.BUCKET_PERMISSIONS), timeout=CALL_TIMEOUT, retry=None)
        )
        missing = [permission for permission in needs.BUCKET_PERMISSIONS if permission not in granted]
        if missing:
            roles = sorted({needs.BUCKET_PERMISSIONS[permission] for permission in missing})
            fix = "\n".join(
                f"gcloud storage buckets add-iam-policy-binding gs://{name} "
                f"--member={self._member} --role={role}"
                for role in roles
            )
            where = "" if location else " (or it does not exist)"
            return [
                fail(
                    "bucket",
                    f"{self._who} may not write to gs://{name}{where}: missing {', '.join(missing)}",
                    fix + self._member_note(),
                )
            ]
        if location is None:
            return [
                warn(
                    "bucket",
                    f"gs://{name} is writable, but its location is not readable (storage.buckets.get)",
                    f"gcloud storage buckets describe gs://{name} --format='value(location)'"
                    f"  # must be {region}",
                )
            ]
        if location.lower() == region:
            return [ok("bucket", f"gs://{name} in {region}, writable by {self._who}")]
        prefix = _MULTI_REGIONS.get(location)
        move = (
            create.replace(f"gs://{name}", "gs://NEW_BUCKET")
            + "\n# then set HPT_STAGING_BUCKET=NEW_BUCKET (a bucket cannot move)"
        )
        if prefix and region.startswith(prefix):
            return [warn("bucket", f"gs://{name} is in multi-region {location}, not in {region}", move)]
        return [
            fail("bucket", f"gs://{name} is in {location}, but jobs run in {region}", move, location=location)
        ]

    def repository(self) -> list[Check]:
        from google.api_core import exceptions
        from google.cloud.artifactregistry_v1 import Repository

        project, region, repository = self._project, self.target.region, self.target.repository
        name = f"projects/{project}/locations/{region}/repositories/{repository}"
        create = (
            f"gcloud artifacts repositories create {repository} --repository-format=docker "
            f"--location={region} --project={project}"
        )
        grant = (
            f"gcloud artifacts repositories add-iam-policy-binding {repository} --location={region} "
            f"--project={project} --member={self._member} --role="
        )
        client = self._calls().artifact_registry()
        try:
            found = client.get_repository(name=name, timeout=CALL_TIMEOUT, retry=None)
        except exceptions.NotFound:
            return [fail("repository", f"no Artifact Registry repository {repository} in {region}", create)]
        except exceptions.PermissionDenied as error:
            if disabled_service(error):
                raise
            return [
                fail(
                    "repository",
                    f"{repository} in {region} does not exist, or {self._who} may not read it "
                    "(artifactregistry.repositories.get)",
                    f"{create}  # if it does not exist\n{grant}roles/artifactregistry.reader"
                    + self._member_note(),
                )
            ]
        if found.format_ != Repository.Format.DOCKER:
            return [
                fail(
                    "repository",
                    f"{repository} in {region} holds {found.format_.name}, not Docker images",
                    create,
                )
            ]
        response = client.test_iam_permissions(
            request={"resource": name, "permissions": list(needs.REPOSITORY_PERMISSIONS)},
            timeout=CALL_TIMEOUT,
            retry=None,
        )
        missing = [p for p in needs.REPOSITORY_PERMISSIONS if p not in set(response.permissions)]
        if missing:
            roles = sorted({needs.REPOSITORY_PERMISSIONS[p] for p in missing})
            return [
                fail(
                    "repository",
                    f"{self._who} may not read images in {repository}: missing {', '.join(missing)}",
                    "\n".join(grant + role for role in roles) + self._member_note(),
                )
            ]
        self.repository_ok = True
        return [ok("repository", f"{repository} (Docker) in {region}, readable by {self._who}")]

    def immutable_tags(self) -> list[Check]:
        """The repository refuses to move a tag: a content tag, once built, names one image for good."""
        from google.cloud.artifactregistry_v1 import Repository

        if not self.repository_ok:
            return [skip("tags", "the repository check failed: cannot tell whether its tags are immutable")]
        project, region, repository = self._project, self.target.region, self.target.repository
        client = self._calls().artifact_registry()
        name = f"projects/{project}/locations/{region}/repositories/{repository}"
        found = client.get_repository(name=name, timeout=CALL_TIMEOUT, retry=None)
        # No docker_config at all is Artifact Registry's default: mutable tags.
        if Repository.pb(found).HasField("docker_config") and found.docker_config.immutable_tags:
            return [ok("tags", f"{repository} has immutable tags")]
        return [
            fail(
                "tags",
                f"{repository} has tags that can be moved: whoever may push could point a content tag "
                "at another image (docs/image.md)",
                f"gcloud artifacts repositories update {repository} --location={region} "
                f"--project={project} --immutable-tags",
            )
        ]

    def image(self) -> list[Check]:
        from scripts.cloudbuild import registry

        if not self.repository_ok:
            return [skip("image", "the repository check failed")]
        if not self.target.image_uris:
            return [warn("image", "no image to look for (no experiment compiled)")]
        checks = []
        for uri in self.target.image_uris:
            match = _IMAGE.match(uri)
            if not match:
                checks.append(warn("image", f"{uri} is not in Artifact Registry: not checked"))
                continue
            name = registry.ImageName(match["region"], match["project"], match["repo"], match["image"])
            try:
                digest = registry.find_digest(name, match["tag"])
            except registry.RegistryError as error:
                checks.append(fail("image", _one_line(str(error))))
                continue
            if digest is None:
                checks.append(
                    fail(
                        "image",
                        f"{uri} is not pushed yet",
                        "python -m scripts build  # or push the commit to main: build-image.yml builds it",
                    )
                )
            else:
                checks.append(ok("image", f"{uri} ({digest[:19]}…)"))
        return checks

    def quota(self) -> list[Check]:
        from google.api_core import exceptions

        peaks = needs.peaks(self.target.demands)
        if not peaks:
            return [ok("quota", "no experiment uses accelerators")]
        if "cloudquotas.googleapis.com" in self.disabled_apis:
            return [
                warn(
                    _quota_name(peak),
                    f"cannot read quota (Cloud Quotas API off): needs {peak.explain()}",
                    self._enable("cloudquotas.googleapis.com"),
                )
                for peak in peaks
            ]
        infos: dict[str, dict[str, Any]] = {}
        checks = []
        for peak in peaks:
            name = _quota_name(peak)
            if peak.project not in infos:
                try:
                    infos[peak.project] = self._quota_infos(peak.project)
                except exceptions.PermissionDenied as error:
                    service = disabled_service(error)
                    fix = (
                        self._enable(service)
                        if service
                        else f"gcloud projects add-iam-policy-binding {peak.project} --member={self._member} "
                        "--role=roles/servicemanagement.quotaViewer"  # Cloud Quotas: view-manage
                    )
                    checks.append(
                        warn(
                            name, f"cannot read quota ({describe_error(error)}): needs {peak.explain()}", fix
                        )
                    )
                    continue
            info = infos[peak.project].get(peak.metric)
            console = CONSOLE_QUOTAS.format(project=peak.project)
            if info is None:
                checks.append(
                    warn(
                        name,
                        f"no quota {peak.metric} found: needs {peak.explain()} in {peak.region}",
                        f"# look it up: {console}",
                    )
                )
                continue
            limit = _limit(info, peak.region)
            data = {"need": peak.peak, "have": limit, "metric": peak.metric, "quota_id": info.quota_id}
            if limit is None:
                checks.append(
                    warn(
                        name,
                        f"{info.quota_id} has no value for {peak.region}: needs {peak.explain()}",
                        f"# look it up: {console}",
                        **data,
                    )
                )
            elif limit == -1 or limit >= peak.peak:
                have = "unlimited" if limit == -1 else str(limit)
                checks.append(ok(name, f"need {peak.explain()}, have {have} in {peak.region}", **data))
            else:
                fix = (
                    f"gcloud quotas preferences create --service={needs.QUOTA_SERVICE} "
                    f"--project={peak.project} --quota-id={info.quota_id} "
                    f"--preferred-value={peak.peak} --dimensions=region={peak.region}"
                    f"\n# or request it at {console}"
                )
                checks.append(
                    fail(name, f"need {peak.explain()}, have {limit} in {peak.region}", fix, **data)
                )
        return checks

    def _quota_infos(self, project: str) -> dict[str, Any]:
        """The service's QuotaInfos by metric, preferring the per-region quota of each metric.

        https://cloud.google.com/docs/quotas/reference/rest/v1/projects.locations.services.quotaInfos/list
        (permission cloudquotas.quotas.get).
        """
        ref = self.project_number if project == self._project and self.project_number else project
        pager = (
            self._calls()
            .quotas()
            .list_quota_infos(
                request={
                    "parent": f"projects/{ref}/locations/global/services/{needs.QUOTA_SERVICE}",
                    "page_size": 500,
                },
                timeout=CALL_TIMEOUT,
                retry=None,
            )
        )
        found: dict[str, Any] = {}
        for number, page in enumerate(pager.pages):
            for info in page.quota_infos:
                if info.metric not in found or "region" in info.dimensions:
                    found[info.metric] = info
            if number + 1 >= MAX_QUOTA_PAGES:
                break
        return found


def _missing_account(error: BaseException) -> bool:
    """IAM answers 403 rather than 404 for an account that does not exist, saying so in the message."""
    return "does not exist" in str(getattr(error, "message", error))


def _quota_name(peak: needs.Demand) -> str:
    return f"quota {peak.accelerator}{' spot' if peak.spot else ''} {peak.region}"


def _limit(info: Any, region: str) -> int | None:
    """The quota's value in `region`: its own dimension, else one applicable there, else the default."""
    fallback = None
    for dimension in info.dimensions_infos:
        region_of = dimension.dimensions.get("region")
        if region_of == region or (region_of is None and region in dimension.applicable_locations):
            return int(dimension.details.value)
        if not dimension.dimensions and fallback is None:
            fallback = int(dimension.details.value)
    return fallback
