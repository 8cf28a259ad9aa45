"""The one exception type for problems a user can fix (bad flags, missing data)."""

from __future__ import annotations


class TrainerUserError(Exception):
    """Printed as one line and exit status 2, never as a traceback."""


class NonFiniteLoss(Exception):
    """Training diverged: the loss became NaN or infinite, so the trial must fail."""
