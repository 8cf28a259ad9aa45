"""JobService errors turned into one-line messages that say what to fix.

Vertex AI answers a bad request with a gRPC status (and often an `ErrorInfo` reason). The raw
message is kept at the end of ours, because it names the exact permission, field or resource;
the hint in front says which role to grant, which API to enable or which field to change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import grpc

from scripts.errors import UserError
from scripts.vertex.retry import API_ERRORS, RetryPolicy, status_code

T = TypeVar("T")


def _hint(code: grpc.StatusCode | None, reason: str, message: str, project: str, emulator: str | None) -> str:
    text = message.lower()
    project_flag = f" --project {project}" if project else ""
    if reason == "SERVICE_DISABLED" or "has not been used in project" in text or "is disabled" in text:
        return (
            "the Vertex AI API is not enabled: run "
            f"`gcloud services enable aiplatform.googleapis.com{project_flag}`"
        )
    if code == grpc.StatusCode.PERMISSION_DENIED and (
        "actas" in text or "serviceaccountuser" in text or "service account" in text
    ):
        return (
            "the caller may not run trials as the job's service account: grant it "
            "`roles/iam.serviceAccountUser` on the trial service account (worker pool `service_account`)"
        )
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return (
            "permission denied: grant the identity in use (Application Default Credentials, or the "
            f"workload identity of the workflow) `roles/aiplatform.user` on project {project or 'PROJECT'}"
        )
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return (
            "the credentials were rejected: run `gcloud auth application-default login` "
            "(or check the workflow's auth step)"
        )
    if ("bucket" in text or "gs://" in text) and ("region" in text or "location" in text):
        return (
            "the staging bucket (`base_output_directory`) must be in the job's region: "
            "use a bucket in the same location"
        )
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return (
            "Vertex AI rejected the job: fix the field it names in experiments.yaml "
            "(`python -m scripts plan EXPERIMENT --format json` shows what is sent)"
        )
    if code == grpc.StatusCode.NOT_FOUND:
        return "not found: check the job name, the project and the region"
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return "Vertex AI cannot do this in the current state of the project or job"
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return "quota exhausted after several retries: ask for more quota or lower parallel_trial_count"
    if code == grpc.StatusCode.UNAVAILABLE and emulator and ("connect" in text or "refused" in text):
        return (
            f"nothing answers at the emulator address {emulator}: start "
            "`python -m scripts emulator` there, or unset the emulator variable to use Vertex AI"
        )
    if code is None and "credentials" in text:
        return "the credentials could not be used: run `gcloud auth application-default login` again"
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL):
        return "Vertex AI did not answer after several retries: try again later"
    return "the call failed"


def explain(
    error: BaseException, *, action: str, project: str = "", emulator: str | None = None
) -> UserError:
    """A one-line `UserError` for a failed JobService call made while doing `action`."""
    code = status_code(error)
    reason = getattr(error, "reason", None) or ""
    message = getattr(error, "message", None) or str(error)
    message = " ".join(str(message).split())  # one line, whatever the server sent
    code_name = code.name if code is not None else type(error).__name__
    hint = _hint(code, reason, message, project, emulator)
    return UserError(f"{action}: {hint} ({code_name}: {message})")


def explained_call(
    method: str,
    operation: Callable[[], T],
    *,
    action: str,
    project: str = "",
    emulator: str | None = None,
    policy: RetryPolicy | None = None,
) -> T:
    """`operation()`, the JobService call `method`, retried (`RetryPolicy`); a failure `explain`ed."""
    try:
        return (policy or RetryPolicy()).call(operation, method=method)
    except API_ERRORS as error:
        raise explain(error, action=action, project=project, emulator=emulator) from None
