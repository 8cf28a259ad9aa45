"""One JobService call: retried when the failure is transient, explained in one line when not.

Transient codes (the service is briefly unavailable, overloaded, or a reply was lost) are
retried by `google.api_core.retry.Retry` (exponential backoff with jitter), a bounded number of
attempts; GAPIC methods take it as `retry=`. Retrying a rejected request only repeats the
rejection, so everything else is explained instead.

Every retry says so, one line on stderr before the wait (a dead address otherwise means half a
minute of silence before the error). `Retry` tells its `on_error` the error but not the wait it
is about to draw, so the line names the attempt, not the wait:

    retrying GetHyperparameterTuningJob (UNAVAILABLE: failed to connect...; attempt 2 of 6)

A failure becomes a `UserError` (`explain`): Vertex AI answers a bad request with a gRPC status
(and often an `ErrorInfo` reason). The raw message is kept at the end of ours, because it names
the exact permission, field or resource; the hint in front says which role to grant, which API to
enable or which field to change.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import google.auth.exceptions
import grpc
from google.api_core.exceptions import GoogleAPICallError
from google.api_core.retry import Retry, exponential_sleep_generator

from scripts.errors import UserError

T = TypeVar("T")

# What a JobService call raises when the call itself fails: the API's status errors (the GAPIC
# client wraps gRPC's), a raw gRPC error, or credentials that cannot be used. Anything else is a
# bug in this project and keeps its traceback.
API_ERRORS = (GoogleAPICallError, grpc.RpcError, google.auth.exceptions.GoogleAuthError)

# Seconds one JobService call may take before it counts as DEADLINE_EXCEEDED (and is retried).
CALL_TIMEOUT = 60.0

# Worth another try: the request may not have reached the service, or it was shed under load.
TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
    }
)
# A create that failed this way may still have been applied: the reply, not the request, was lost.
AMBIGUOUS_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
    }
)


def status_code(error: BaseException) -> grpc.StatusCode | None:
    """The gRPC status code of a google.api_core error (or of a raw grpc.RpcError), else None."""
    code = getattr(error, "grpc_status_code", None)
    if code is None and isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        code = error.code()
    return code if isinstance(code, grpc.StatusCode) else None


def code_name(error: BaseException) -> str:
    """The name of the error's gRPC status code (`UNAVAILABLE`), else of its type."""
    code = status_code(error)
    return code.name if code is not None else type(error).__name__


def is_transient(error: BaseException) -> bool:
    return status_code(error) in TRANSIENT_CODES


def is_ambiguous(error: BaseException) -> bool:
    return status_code(error) in AMBIGUOUS_CODES


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe_error(error: BaseException, limit: int = 160) -> str:
    """`UNAVAILABLE: <the server's message, on one line, shortened>`."""
    message = getattr(error, "message", None) or (error.details() if hasattr(error, "details") else "")
    message = " ".join(str(message or error).split())
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return f"{code_name(error)}: {message}"


@dataclass
class RetryPolicy:
    """How a JobService call is retried: `max_attempts` in all, api_core's exponential backoff
    between them (each wait drawn between 0 and a delay growing from `initial_delay` by
    `multiplier`, at most `max_delay`).

    `notify` receives the one line each retry prints (stderr by default; a live progress table
    passes its own, so the line appears above the table instead of through it). `sleep` waits in
    the create loop of `scripts.vertex.submit`, which `Retry` cannot express (it looks the jobs up
    between attempts); looked up when a policy is made, so a test can replace `_sleep`.
    """

    max_attempts: int = 6
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default_factory=lambda: _sleep)
    notify: Callable[[str], None] = field(default_factory=lambda: to_stderr)

    def retry(self, method: str | Callable[[], str]) -> Retry:
        """The `Retry` for one call of the JobService method `method` (as a GAPIC `retry=`, or
        around a function of one's own): transient errors retried, each retry announced, and
        after `max_attempts` the last error raised as it came (`explain` turns it into a line).
        `method` may be a function that names the call under way, for a function of several."""
        attempts = itertools.count(2)

        def on_error(error: Exception) -> None:
            attempt = next(attempts)
            if attempt > self.max_attempts:
                # Retry bounds by time, not attempts; an error from on_error ends it, uncaught.
                raise error
            self.announce(method if isinstance(method, str) else method(), error, attempt)

        return Retry(
            predicate=is_transient,
            initial=self.initial_delay,
            maximum=self.max_delay,
            multiplier=self.multiplier,
            timeout=None,
            on_error=on_error,
        )

    def call(self, operation: Callable[[], T], *, method: str) -> T:
        """`operation()` (the JobService call `method`) under `retry(method)`."""
        return self.retry(method)(operation)()

    def waits(self) -> Iterator[float]:
        """The waits between the attempts of a loop of one's own: the same backoff as `retry`."""
        return exponential_sleep_generator(self.initial_delay, self.max_delay, self.multiplier)

    def announce(self, method: str, error: BaseException, attempt: int) -> None:
        """The line a retry prints: what is tried again, why, and which attempt comes next."""
        self.notify(f"retrying {method} ({describe_error(error)}; attempt {attempt} of {self.max_attempts})")


# -- explaining a failure ---------------------------------------------------------------------


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
    hint = _hint(code, reason, message, project, emulator)
    return UserError(f"{action}: {hint} ({code_name(error)}: {message})")


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
