"""Who may act as the deployer, and what the identity provider admits: read back, judged here.

docs/setup.md (step 5) binds the deployer to the GitHub jobs of one environment only
(`principalSet://…/attribute.environment/vertex`), behind a provider whose attribute condition
admits only this repository's and owner's ids and `refs/heads/main`. Anything wider lets a
workflow on an unreviewed branch, or an unapproved job, submit tuning jobs. These functions take
what Google answered (an IAM policy's bindings, a provider's condition) and say what is wrong, in
words, without calling anything.

Sources: principal identifiers of Workload Identity Federation,
https://cloud.google.com/iam/docs/principal-identifiers; GitHub's OIDC claims (`environment`,
`ref`, `repository_id`, `repository_owner_id`, and the `sub` of a job in an environment),
https://docs.github.com/en/actions/reference/security/oidc.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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


def federated(grants: Iterable[Grant]) -> list[Grant]:
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
