"""When to retry a JobService call, and what a retry says.

Transient codes (the service is briefly unavailable, overloaded, or a reply was lost) are
retried by `google.api_core.retry.Retry` (exponential backoff with jitter), a bounded number of
attempts; GAPIC methods take it as `retry=`. Everything else is the caller's to explain:
retrying a rejected request only repeats the rejection.

Every retry says so, one line on stderr before the wait (a dead address otherwise means half a
minute of silence before the error). `Retry` tells its `on_error` the error but not the wait it
is about to draw, so the line names the attempt, not the wait:

    retrying GetHyperparameterTuningJob (UNAVAILABLE: failed to connect...; attempt 2 of 6)
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


def is_transient(error: BaseException) -> bool:
    return status_code(error) in TRANSIENT_CODES


def is_ambiguous(error: BaseException) -> bool:
    return status_code(error) in AMBIGUOUS_CODES


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe_error(error: BaseException, limit: int = 160) -> str:
    """`UNAVAILABLE: <the server's message, on one line, shortened>`."""
    code = status_code(error)
    message = getattr(error, "message", None) or (error.details() if hasattr(error, "details") else "")
    message = " ".join(str(message or error).split())
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return f"{code.name if code is not None else type(error).__name__}: {message}"


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
    notify: Callable[[str], None] = field(default_factory=lambda: _stderr)

    def retry(self, method: str) -> Retry:
        """The `Retry` for one call of the JobService method `method` (as a GAPIC `retry=`, or
        around a function of one's own): transient errors retried, each retry announced, and
        after `max_attempts` the last error raised as it came (`explain` turns it into a line)."""
        attempts = itertools.count(2)

        def on_error(error: Exception) -> None:
            attempt = next(attempts)
            if attempt > self.max_attempts:
                # Retry bounds by time, not attempts; an error from on_error ends it, uncaught.
                raise error
            self.announce(method, error, attempt)

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
