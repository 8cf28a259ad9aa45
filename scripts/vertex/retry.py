"""When to retry a JobService call, and how long to wait in between.

Transient codes (the service is briefly unavailable, overloaded, or a reply was lost) are
retried with exponential backoff and jitter, a bounded number of times. Everything else is the
caller's to explain: retrying a rejected request only repeats the rejection.

Every retry says so, one line on stderr before the wait (a dead address otherwise means half a
minute of silence before the error):

    retrying GetHyperparameterTuningJob in 1.6 s (UNAVAILABLE: failed to connect...; attempt 2 of 6)
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import google.auth.exceptions
import grpc
from google.api_core.exceptions import GoogleAPICallError

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


def retry_message(method: str, error: BaseException, wait: float, attempt: int, max_attempts: int) -> str:
    """The line a retry prints: what is retried, when, why, and which attempt comes next."""
    return f"retrying {method} in {wait:.1f} s ({describe_error(error)}; attempt {attempt} of {max_attempts})"


@dataclass
class RetryPolicy:
    """Exponential backoff with "equal jitter": each wait is between half and all of the delay.

    `sleep` and `rng` are injectable so that tests run instantly and deterministically;
    `notify` receives the one line each retry prints (stderr by default; a live progress table
    passes its own, so the line appears above the table instead of through it).
    """

    max_attempts: int = 6
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    # Looked up when a policy is made, so a test can replace `_sleep` for a whole command.
    sleep: Callable[[float], None] = field(default_factory=lambda: _sleep)
    rng: random.Random = field(default_factory=random.Random)
    notify: Callable[[str], None] = field(default_factory=lambda: _stderr)

    def delay(self, retry_number: int) -> float:
        """The wait before retry number `retry_number` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.initial_delay * self.multiplier ** (retry_number - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def call(self, operation: Callable[[], T], *, method: str) -> T:
        """`operation()` (the JobService call `method`), retried on transient errors, each retry
        announced through `notify`; the last error propagates."""
        attempt = 1
        while True:
            try:
                return operation()
            except API_ERRORS as error:
                if not is_transient(error) or attempt >= self.max_attempts:
                    raise
                wait = self.delay(attempt)
                self.announce(method, error, wait, attempt + 1)
                self.sleep(wait)
                attempt += 1

    def announce(self, method: str, error: BaseException, wait: float, attempt: int) -> None:
        """Say that `method` is tried again (attempt number `attempt`) in `wait` seconds, and why."""
        self.notify(retry_message(method, error, wait, attempt, self.max_attempts))
