"""The project, its APIs and the caller's permissions in it: the checks every later one stands on.

The project check records the project's number (quota asks by it) and says when the project is
out of reach, which skips the rest; the APIs check records the APIs that are off. The service
accounts check asks whether the caller may act as the accounts runs use: the trials' and the one
builds run as.
"""

from __future__ import annotations

from google.api_core import exceptions

from scripts.doctor import needs
from scripts.doctor.clients import bounded, describe_error, disabled_service, missing_account
from scripts.doctor.report import Check, fail, first_names, ok, warn
from scripts.doctor.target import Context


def project(context: Context) -> list[Check]:
    project = context.project
    try:
        found = bounded(context.calls().projects().get_project, name=f"projects/{project}")
    except (exceptions.NotFound, exceptions.PermissionDenied) as error:
        if disabled_service(error):
            raise
        if _project_exists(context, project):
            return [
                warn(
                    "project",
                    f"{project} exists, but {context.who} may not read it (resourcemanager.projects.get)",
                    context.grant("roles/browser") + context.member_note(),
                )
            ]
        return [
            fail(
                "project",
                f"{project} does not exist, or {context.who} may not see it (resourcemanager.projects.get)",
                f"gcloud projects describe {project}  # is the ID right? (not the name or number)",
                unreachable=True,
            )
        ]
    context.project_number = found.name.removeprefix("projects/") or None
    if found.state.name != "ACTIVE":
        return [
            fail(
                "project",
                f"{project} is {found.state.name}",
                f"gcloud projects undelete {project}",
                unreachable=True,
            )
        ]
    shown = f" ({found.display_name})" if found.display_name and found.display_name != project else ""
    return [ok("project", f"{project}{shown}, number {context.project_number}")]


def _project_exists(context: Context, project: str) -> bool:
    """Whether testIamPermissions answers for the project: it needs no permission, so it answers
    for any project that exists, whoever asks."""
    try:
        bounded(
            context.calls().projects().test_iam_permissions,
            request={"resource": f"projects/{project}", "permissions": ["resourcemanager.projects.get"]},
        )
    except Exception:  # noqa: BLE001 - any refusal: the project is not there for this caller
        return False
    return True


def apis(context: Context) -> list[Check]:
    project = context.project_number or context.project
    wanted = {**needs.RUN_APIS, **needs.DOCTOR_APIS}
    try:
        # https://cloud.google.com/service-usage/docs/reference/rest/v1/services/batchGet (30 at most)
        names = [f"projects/{project}/services/{service}" for service in wanted]
        response = bounded(
            context.calls().service_usage().batch_get_services,
            request={"parent": f"projects/{project}", "names": names},
        )
    except exceptions.PermissionDenied as error:
        if disabled_service(error):
            raise
        # Not knowing is not a failure: the checks below meet a disabled API on their own.
        return [
            warn(
                "APIs",
                f"{context.who} may not read which APIs are enabled (serviceusage.services.get)",
                context.grant("roles/serviceusage.serviceUsageConsumer") + context.member_note(),
            )
        ]
    enabled = {
        service.name.rsplit("/", 1)[-1] for service in response.services if service.state.name == "ENABLED"
    }
    missing = [service for service in wanted if service not in enabled]
    context.disabled_apis = set(missing)
    if not missing:
        return [ok("APIs", f"{len(wanted)} enabled: {', '.join(s.split('.')[0] for s in wanted)}")]
    shown = ", ".join(f"{service} ({wanted[service]})" for service in missing)
    check = fail if any(service in needs.RUN_APIS for service in missing) else warn
    return [check("APIs", f"not enabled: {shown}", context.enable(*missing), missing=missing)]


def permissions(context: Context) -> list[Check]:
    # No permission is needed to ask which of one's own permissions one holds:
    # https://cloud.google.com/resource-manager/reference/rest/v3/projects/testIamPermissions
    project = context.project
    wanted = list(needs.PROJECT_PERMISSIONS)
    response = bounded(
        context.calls().projects().test_iam_permissions,
        request={"resource": f"projects/{project}", "permissions": wanted},
    )
    granted = set(response.permissions)
    missing = [permission for permission in wanted if permission not in granted]
    if not missing:
        return [
            ok(
                "permissions",
                f"{context.who} holds the {len(wanted)} project permissions runs and builds use",
            )
        ]
    by_role: dict[str, list[str]] = {}
    for permission in missing:
        by_role.setdefault(needs.PROJECT_PERMISSIONS[permission][0], []).append(permission)
    shown = "; ".join(f"{', '.join(perms)} (granted by {role})" for role, perms in by_role.items())
    fix = "\n".join(context.grant(role) for role in by_role)
    return [fail("permissions", f"{context.who} lacks {shown}", fix + context.member_note(), missing=missing)]


def service_accounts(context: Context) -> list[Check]:
    name, accounts = "trial service account", context.target.trial_service_accounts
    checks = [
        _act_as(context, name, email, f"trials of {first_names(experiments)}")
        for email, experiments in accounts
    ]
    if not accounts:
        checks.append(ok(name, "trials run as Vertex AI's service agent (no service_account set)"))
    return [*checks, _build_account(context)]


def _build_account(context: Context) -> Check:
    name = "build service account"
    project, region = context.project, context.target.region
    try:
        # https://cloud.google.com/build/docs/api/reference/rest/v1/projects.locations/getDefaultServiceAccount
        found = bounded(
            context.calls().cloud_build().get_default_service_account,
            name=f"projects/{project}/locations/{region}/defaultServiceAccount",
        )
    except Exception as error:  # noqa: BLE001 - reported as a line
        return warn(name, f"could not ask Cloud Build which account builds run as: {describe_error(error)}")
    email = found.service_account_email.rsplit("/", 1)[-1]
    if not email:
        return fail(
            name,
            f"Cloud Build has no default service account in {region}: builds cannot run",
            "# give builds an account: https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts",
        )
    if email.endswith("@cloudbuild.gserviceaccount.com"):
        return ok(name, f"builds run as the legacy Cloud Build account {email}")
    return _act_as(context, name, email, "builds")


def _act_as(context: Context, name: str, email: str, used_by: str) -> Check:
    try:
        # https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/testIamPermissions
        response = bounded(
            context.calls().iam().test_iam_permissions,
            request={"resource": f"projects/-/serviceAccounts/{email}", "permissions": [needs.ACT_AS]},
        )
    except (exceptions.NotFound, exceptions.PermissionDenied) as error:
        if isinstance(error, exceptions.PermissionDenied) and not missing_account(error):
            return fail(name, f"could not check {email} ({used_by}): {describe_error(error)}")
        account = email.split("@", 1)[0]
        return fail(
            name,
            f"{email} ({used_by}) does not exist",
            f"gcloud iam service-accounts create {account} --project={context.project}",
        )
    if needs.ACT_AS in response.permissions:
        return ok(name, f"{context.who} may act as {email} ({used_by})")
    return fail(
        name,
        f"{context.who} may not act as {email} ({used_by}): "
        f"missing {needs.ACT_AS} (granted by {needs.ACT_AS_ROLE})",
        f"gcloud iam service-accounts add-iam-policy-binding {email} --project={context.project} "
        f"--member={context.member} --role={needs.ACT_AS_ROLE}" + context.member_note(),
    )
