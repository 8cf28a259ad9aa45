"""Problems a user can fix (bad flags, missing data), and training that went wrong (the trial stops)."""

from __future__ import annotations


class TrainerUserError(Exception):
    """Printed as one line and exit status 2, never as a traceback."""


class TrialStopped(Exception):
    """The trainer ended the trial because training went wrong; `outcome` says how, for the tuner."""

    outcome = "stopped"


class NonFiniteLoss(TrialStopped):
    """Training diverged: the training or validation loss became NaN or infinite, so the trial must fail."""

    outcome = "diverged"


class ModelCollapsed(TrialStopped):
    """The model collapsed: it predicts the same for every image, and SGD cannot bring it back."""

    outcome = "collapsed"
