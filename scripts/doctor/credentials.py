"""Application Default Credentials: found or not, whose they are, and a token to prove they work.

https://cloud.google.com/docs/authentication/application-default-credentials
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import google.auth
from google.auth import exceptions

from scripts.doctor.clients import CALL_TIMEOUT, SCOPES

# What fixes any credentials problem: logging in here, or authenticating the workflow's job.
CREDENTIALS_FIX = (
    "gcloud auth application-default login\n"
    "# in GitHub Actions: a google-github-actions/auth step (workload_identity_provider, service_account) "
    "before this one"
)


@dataclass(frozen=True)
class Identity:
    """Who the caller is: `kind` in words, and the IAM member a grant names (None when unknown)."""

    kind: str
    email: str | None
    member: str | None

    def describe(self) -> str:
        return f"{self.kind} {self.email}" if self.email else self.kind


class CredentialsProblem(Exception):
    """No credentials, or credentials that could not give a token: one line (`CREDENTIALS_FIX` fixes it)."""


def _timed_request() -> Any:
    """A google-auth transport whose every call is bounded by CALL_TIMEOUT (its default is 120 s)."""
    import google.auth.transport.requests  # requests (0.15 s): not for a run that has no credentials

    class TimedRequest(google.auth.transport.requests.Request):
        def __call__(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            return super().__call__(*args, timeout=min(timeout or CALL_TIMEOUT, CALL_TIMEOUT), **kwargs)

    return TimedRequest()


def load(project: str | None) -> tuple[Any, Identity]:
    """The caller's credentials, refreshed once, and who they are; raises CredentialsProblem."""
    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except exceptions.DefaultCredentialsError as error:
        raise CredentialsProblem(f"no Application Default Credentials ({_first_sentence(error)})") from None
    identity = _identity(credentials)
    try:
        credentials.refresh(_timed_request())
    except (exceptions.GoogleAuthError, OSError) as error:
        raise CredentialsProblem(
            f"{identity.describe()}: could not get an access token ({_first_sentence(error)})"
        ) from None
    identity = _identity(credentials)  # a metadata server names its account only once asked
    if project and _is_user(credentials) and not getattr(credentials, "quota_project_id", None):
        # User credentials bill API calls to a quota project; the project being checked is the one.
        credentials = credentials.with_quota_project(project)
    return credentials, identity


def _is_user(credentials: Any) -> bool:
    from google.oauth2 import credentials as user_credentials  # 0.06 s: not for an emulator's run

    return isinstance(credentials, user_credentials.Credentials)


def _identity(credentials: Any) -> Identity:
    if _is_user(credentials):
        email = getattr(credentials, "account", None) or None
        return Identity(
            "user credentials (gcloud auth application-default login)", email, email and f"user:{email}"
        )
    email = getattr(credentials, "service_account_email", None)
    email = email if isinstance(email, str) and "@" in email else None
    module = type(credentials).__module__
    if "external_account" in module or "identity_pool" in module:
        kind = "Workload Identity Federation as service account" if email else "Workload Identity Federation"
    elif "compute_engine" in module:
        kind = "metadata server service account"
    elif "impersonated" in module:
        kind = "impersonated service account"
    else:
        kind = "service account"
    return Identity(kind, email, email and f"serviceAccount:{email}")


def _first_sentence(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text.split(". ")[0] if text else type(error).__name__)[:200]
