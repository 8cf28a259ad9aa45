"""Two doctor lines for docs/setup.md step 5: who may act as the deployer, what the provider admits.

    deployer binding   ✓ only jobs of environment 'vertex' may act as hpt-deployer@…
    identity provider  ✓ …/providers/hpt admits only refs/heads/main of repository 123 (owner 456)

The deployer is `GCP_DEPLOYER_SERVICE_ACCOUNT`, else the caller's own service account (in the
workflows doctor runs as the deployer); the provider is `GCP_WORKLOAD_IDENTITY_PROVIDER`, else the
audience of the caller's federated credentials. What the caller may not read (the deployer itself
holds neither iam.serviceAccounts.getIamPolicy nor iam.workloadIdentityPoolProviders.get) is a
warning that says what was not checked, never a failure.

docs/setup.md (step 5) binds the deployer to the GitHub jobs of one environment only
(`principalSet://…/attribute.environment/vertex`), behind a provider whose attribute condition
admits only this repository's and owner's ids and `refs/heads/main`. Anything wider lets a
workflow on an unreviewed branch, or an unapproved job, submit tuning jobs. The rules at the end
take what Google answered (an IAM policy's bindings, a provider's condition) and say what is wrong,
in words, without calling anything.

Sources: principal identifiers of Workload Identity Federation,
https://cloud.google.com/iam/docs/principal-identifiers; GitHub's OIDC claims (`environment`,
`ref`, `repository_id`, `repository_owner_id`, and the `sub` of a job in an environment),
https://docs.github.com/en/actions/reference/security/oidc.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions

from scripts.doctor.clients import bounded, disabled_service, missing_account
from scripts.doctor.report import Check, fail, ok, warn
from scripts.doctor.target import Context

# Roles that let a member get tokens for a service account, hence act as it.
IMPERSONATING_ROLES = (
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountOpenIdTokenCreator",
)
PROVIDER_NAME = re.compile(
    r"^projects/(?P<number>[^/]+)/locations/global/workloadIdentityPools/(?P<pool>[^/]+)/providers/[^/]+$"
)
_FEDERATED = re.compile(
    r"^(?P<kind>principalSet|principal)://iam\.googleapis\.com/projects/(?P<number>[^/]+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/(?P<rest>.+)$"
)
DEPLOYER = "deployer binding"
PROVIDER = "identity provider"
RUN_AS_OWNER = "# run doctor as someone who may read it, e.g. the project's Owner (docs/setup.md, step 8)"


def run(context: Context) -> list[Check]:
    return [deployer_binding(context), identity_provider(context)]


def _deployer(context: Context) -> tuple[str | None, bool]:
    """(the deployer's email, whether it was named) — the caller's own account when not named."""
    if context.target.deployer:
        return context.target.deployer, True
    identity = context.identity
    if identity and identity.email and (identity.member or "").startswith("serviceAccount:"):
        return identity.email, False
    return None, False


def _provider_name(context: Context) -> str | None:
    if context.target.identity_provider:
        return context.target.identity_provider
    info = getattr(context.calls().credentials, "info", None)  # federated credentials know their provider
    audience = info.get("audience") if isinstance(info, dict) else None
    return audience.removeprefix("//iam.googleapis.com/") if isinstance(audience, str) else None


def deployer_binding(context: Context) -> Check:
    email, named = _deployer(context)
    environment, project = context.target.environment, context.target.project
    if not email:
        return warn(
            DEPLOYER,
            "no deployer named: who may act as it was not checked",
            f"export GCP_DEPLOYER_SERVICE_ACCOUNT=hpt-deployer@{project}.iam.gserviceaccount.com",
        )
    try:
        # https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/getIamPolicy
        resource = f"projects/-/serviceAccounts/{email}"
        policy = bounded(
            context.calls().iam().get_iam_policy,
            request={"resource": resource, "options": {"requested_policy_version": 3}},
        )
    except (exceptions.NotFound, exceptions.PermissionDenied) as error:
        if disabled_service(error):
            raise
        if isinstance(error, exceptions.NotFound) or missing_account(error):
            return fail(
                DEPLOYER,
                f"{email} does not exist",
                f"gcloud iam service-accounts create {email.split('@', 1)[0]} --project={project}",
            )
        return warn(
            DEPLOYER,
            f"{context.who} may not read who may act as {email} (iam.serviceAccounts.getIamPolicy): "
            "not checked",
            RUN_AS_OWNER,
        )
    grants = [
        Grant(binding.role, member, binding.condition.expression)
        for binding in policy.bindings
        for member in binding.members
    ]
    federated = federated_grants(grants)
    wide = [(grant, reason) for grant in federated if (reason := too_wide(grant, environment))]
    if wide:
        shown = "; ".join(f"{grant.member} ({reason})" for grant, reason in wide)
        return fail(
            DEPLOYER,
            f"not only the jobs of environment {environment!r} may act as {email}: {shown}",
            _narrowing(context, email, wide, federated),
            members=[grant.member for grant, _ in wide],
        )
    if not federated:
        check = fail if named else warn
        why = "" if named else " (the caller; name the workflows' account with GCP_DEPLOYER_SERVICE_ACCOUNT)"
        return check(
            DEPLOYER,
            f"no GitHub job may act as {email}{why}: the workflows cannot authenticate as it",
            "# docs/setup.md, step 5: bind it to principalSet://…/attribute.environment/" + environment,
        )
    return ok(DEPLOYER, f"only jobs of environment {environment!r} may act as {email}")


def _narrowing(context: Context, email: str, wide: list[tuple[Grant, str]], federated: list[Grant]) -> str:
    """The commands that remove each too-wide grant and, if none is left, bind the environment."""
    project = context.target.project
    lines = [
        f"gcloud iam service-accounts remove-iam-policy-binding {email} --project={project} "
        f"--role={grant.role} --member={grant.member}" + (" --all" if grant.condition else "")
        for grant, _ in wide
    ]
    if len(wide) == len(federated):
        member = pool_member(_provider_name(context) or "", context.target.environment)
        member = member or environment_member_like(wide[0][0].member, context.target.environment)
        lines.append(
            f"gcloud iam service-accounts add-iam-policy-binding {email} --project={project} "
            f"--role=roles/iam.workloadIdentityUser --member={member}"
        )
    return "\n".join(lines)


def identity_provider(context: Context) -> Check:
    import requests  # 0.1 s, loaded with the credentials' transport by now: not at doctor's start

    name = _provider_name(context)
    if not name:
        return warn(
            PROVIDER,
            "no provider named: what it admits was not checked",
            "export GCP_WORKLOAD_IDENTITY_PROVIDER="
            "projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/github/providers/hpt",
        )
    try:
        status, body = context.calls().iam_rest_get(name)
    except requests.RequestException as error:
        return warn(PROVIDER, f"could not ask IAM for {name}: not checked ({type(error).__name__})")
    message = " ".join(str((body.get("error") or {}).get("message", "")).split())[:200]
    if status in (401, 403):
        return warn(
            PROVIDER,
            f"{context.who} may not read {name} (iam.workloadIdentityPoolProviders.get): "
            "what it admits was not checked",
            RUN_AS_OWNER,
        )
    if status == 404:
        return fail(PROVIDER, f"{name} does not exist", "# docs/setup.md, step 5")
    if status != 200:
        return warn(PROVIDER, f"could not read {name}: HTTP {status} {message}".rstrip())
    if body.get("state") == "DELETED" or body.get("disabled"):
        return fail(PROVIDER, f"{name} is {'deleted' if body.get('state') == 'DELETED' else 'disabled'}")
    condition = str(body.get("attributeCondition") or "")
    problems = condition_problems(condition)
    if "attribute.environment" not in (body.get("attributeMapping") or {}):
        problems.append("it maps no attribute.environment: the deployer's binding can never match")
    if problems:
        return fail(PROVIDER, f"{name}: {'; '.join(problems)}", _provider_fix(name), condition=condition)
    return ok(PROVIDER, f"{name} admits only refs/heads/main of {_ids(condition)}")


def _ids(condition: str) -> str:
    repository = re.search(r"repository_id\s*==\s*['\"](\d+)", condition)
    owner = re.search(r"repository_owner_id\s*==\s*['\"](\d+)", condition)
    return f"repository {repository[1] if repository else '?'} (owner {owner[1] if owner else '?'})"


def _provider_fix(name: str) -> str:
    match: Any = PROVIDER_NAME.match(name)
    pool = match["pool"] if match else "github"
    provider = name.rsplit("/", 1)[-1]
    number = match["number"] if match else "PROJECT_NUMBER"
    return (
        f"gcloud iam workload-identity-pools providers update-oidc {provider} --project={number} "
        f"--location=global --workload-identity-pool={pool} "
        '--attribute-mapping="google.subject=assertion.sub,attribute.repository_id=assertion.repository_id,'
        "attribute.environment=has(assertion.environment) ? assertion.environment : 'none'\" "
        "--attribute-condition=\"assertion.repository_id == 'REPO_ID' && "
        "assertion.repository_owner_id == 'OWNER_ID' && assertion.ref == 'refs/heads/main'\""
        "\n# REPO_ID and OWNER_ID: gh api repos/OWNER/REPO --jq '.id, .owner.id'"
    )


# -- the rules: what Google answered, judged without calling anything -------------------------------


@dataclass(frozen=True)
class Grant:
    """One member of a role on the account (a binding's condition, when it has one, is shown too)."""

    role: str
    member: str
    condition: str = ""


def pool_member(provider: str, environment: str) -> str | None:
    """`principalSet://…/attribute.environment/ENV` of the provider's pool, the binding setup.md makes."""
    match = PROVIDER_NAME.match(provider)
    return _environment_set(match, environment) if match else None


def environment_member_like(member: str, environment: str) -> str:
    """The environment's principalSet in the same pool as `member` (a federated member)."""
    match = _FEDERATED.match(member)
    assert match, member
    return _environment_set(match, environment)


def _environment_set(pool: re.Match[str], environment: str) -> str:
    """The principalSet of `environment`'s jobs in the pool `pool` names (its project number and id)."""
    return (
        f"principalSet://iam.googleapis.com/projects/{pool['number']}/locations/global/"
        f"workloadIdentityPools/{pool['pool']}/attribute.environment/{environment}"
    )


def federated_grants(grants: Iterable[Grant]) -> list[Grant]:
    """The grants that let a federated identity (a GitHub job) act as the account."""
    return [g for g in grants if g.role in IMPERSONATING_ROLES and _FEDERATED.match(g.member)]


def too_wide(grant: Grant, environment: str) -> str | None:
    """Why a federated member admits more than the jobs of `environment`, in words; None when it does not."""
    match = _FEDERATED.match(grant.member)
    if not match:
        return None
    rest = match["rest"]
    if match["kind"] == "principal":
        subject = rest.removeprefix("subject/")
        # A job in an environment has `sub` repo:OWNER/REPO:environment:NAME (or its immutable form).
        if re.fullmatch(r"repo:[^:]+:environment:" + re.escape(environment), subject):
            return None
        return f"the GitHub token subject {subject!r}, not a job of environment {environment!r}"
    if rest == "*":
        return f"every identity of pool {match['pool']!r}: any job the provider admits, on any branch"
    attribute, _, value = rest.partition("/")
    if attribute == "attribute.environment":
        if value == environment:
            return None
        return f"the jobs of environment {value!r}, which is not the approved {environment!r}"
    if attribute in ("attribute.repository", "attribute.repository_id"):
        return f"any job of repository {value!r}, on any branch and without approval"
    if attribute in ("attribute.repository_owner", "attribute.repository_owner_id"):
        return f"any job of any repository of {value!r}"
    return f"any job whose {attribute.removeprefix('attribute.')} is {value!r}, approved or not"


def condition_problems(condition: str) -> list[str]:
    """What a GitHub provider's attribute condition fails to pin (setup.md, step 5); [] when it pins all."""
    text = re.sub(r"\s+", "", condition).replace('"', "'")
    if not text:
        return ["it has no attribute condition: it admits every token GitHub issues, from any repository"]
    problems = []
    if "||" in text:
        problems.append("it has an `||`: one side alone may admit a token")
    if "assertion.ref=='refs/heads/main'" not in text:
        problems.append("it does not require assertion.ref == 'refs/heads/main': any branch gets tokens")
    if not re.search(r"assertion\.repository_id=='\d+'", text):
        problems.append("it does not pin assertion.repository_id (a name can be registered again)")
    if not re.search(r"assertion\.repository_owner_id=='\d+'", text):
        problems.append("it does not pin assertion.repository_owner_id")
    return problems
