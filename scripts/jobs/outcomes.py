"""How a trial ended, as an enum set by whoever decides it, never guessed from English text.

Vertex AI has five trial states; "it failed" and "it was stopped" are both INFEASIBLE there, and
only the `infeasible_reason` tells them apart. The emulator decides the outcome when it ends a
trial and writes it at the start of the reason (`failed: the trial's process exited...`), with
`reason()`; `from_reason()` reads it back. A reason without that tag (one written by Vertex AI)
counts as plainly infeasible.
"""

from __future__ import annotations

from enum import StrEnum


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
