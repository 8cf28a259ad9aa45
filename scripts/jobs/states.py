"""How jobs stand and how their trials ended.

Job states, by their `JobState` names: which are final, which still count as a submission. Names
rather than the proto enum, so that this module imports no cloud library; compare with
`job.state.name`.

A trial's outcome (`TrialOutcome`) is an enum set by whoever decides it, never guessed from English
text. Vertex AI has five trial states; "it failed" and "it was stopped" are both INFEASIBLE there,
and only the `infeasible_reason` tells them apart. The emulator decides the outcome when it ends a
trial and writes it at the start of the reason (`failed: the trial's process exited...`), with
`reason()`; `from_reason()` reads it back. A reason without that tag (one written by Vertex AI)
counts as plainly infeasible.
"""

from __future__ import annotations

from enum import StrEnum

from scripts.errors import ExitStatus

SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLING = "JOB_STATE_CANCELLING"
CANCELLED = "JOB_STATE_CANCELLED"
EXPIRED = "JOB_STATE_EXPIRED"
PARTIALLY_SUCCEEDED = "JOB_STATE_PARTIALLY_SUCCEEDED"

# Every state a job can be in (`JobState` without UNSPECIFIED), in the API's order.
ALL = tuple(
    f"JOB_STATE_{name}"
    for name in (
        "QUEUED",
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "CANCELLING",
        "CANCELLED",
        "PAUSED",
        "EXPIRED",
        "UPDATING",
        "PARTIALLY_SUCCEEDED",
    )
)

# After these, nothing about the job changes any more.
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, PARTIALLY_SUCCEEDED})
# A job in these states no longer counts as the submission of its spec: submitting again makes a new one.
NOT_REUSABLE = frozenset({FAILED, CANCELLING, CANCELLED, EXPIRED})


def is_terminal(state_name: str) -> bool:
    return state_name in TERMINAL


def parse(text: str) -> str | None:
    """`succeeded`, `SUCCEEDED` or `JOB_STATE_SUCCEEDED` -> `JOB_STATE_SUCCEEDED`; None if no state."""
    name = text.strip().upper().replace("-", "_")
    name = name if name.startswith("JOB_STATE_") else f"JOB_STATE_{name}"
    return name if name in ALL else None


def short(state_name: str) -> str:
    """`JOB_STATE_SUCCEEDED` -> `SUCCEEDED`, as the CLI and comments show it."""
    return state_name.removeprefix("JOB_STATE_")


def exit_status(state_name: str) -> ExitStatus:
    """The exit status of a followed job's end: OK, CANCELLED, or JOB_FAILED (FAILED, EXPIRED).

    A job that ended badly exits differently from a user error (FAILED), so a script can tell
    "fix your input" from "the job ran and failed"."""
    if state_name == SUCCEEDED:
        return ExitStatus.OK
    if state_name == CANCELLED:
        return ExitStatus.CANCELLED
    return ExitStatus.JOB_FAILED


# -- trial outcomes --------------------------------------------------------------------------------


class TrialOutcome(StrEnum):
    SUCCEEDED = "succeeded"  # SUCCEEDED with a final value of the study's metric
    INFEASIBLE = "infeasible"  # ended without a final value of the metric
    FAILED = "failed"  # the trial's program failed: a non-zero exit, a crash, a kill
    STOPPED = "stopped"  # stopped by the service: early stopping, or the job was cancelled
    COLLAPSED = "collapsed"  # the trainer stopped it: the model collapsed to constant predictions
    DIVERGED = "diverged"  # the trainer stopped it: a loss became NaN or infinite
    ACTIVE = "active"  # still requested or running


def reason(outcome: TrialOutcome, text: str) -> str:
    """An `infeasible_reason` that carries its outcome: `failed: <text>`."""
    return f"{outcome.value}: {text}"


def untagged(text: str, outcome: str) -> str:
    """`text` without the `outcome: ` tag `reason()` put in front of it (unchanged without one)."""
    return text.removeprefix(f"{outcome}: ")


def from_reason(text: str) -> TrialOutcome | None:
    """The outcome a reason written by `reason()` carries, or None for any other text."""
    tag, separator, _ = text.partition(": ")
    if not separator:
        return None
    try:
        return TrialOutcome(tag)
    except ValueError:
        return None
