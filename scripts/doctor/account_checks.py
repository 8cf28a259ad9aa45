"""The service accounts runs use: may the caller act as the trials' accounts and the one builds run as?"""

from __future__ import annotations

from google.api_core import exceptions

from scripts.doctor import needs
from scripts.doctor.clients import bounded, describe_error, missing_account
from scripts.doctor.report import Check, fail, first_names, ok, warn
from scripts.doctor.target import Context


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
