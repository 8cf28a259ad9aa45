"""The errors every layer may raise, and the exit statuses the CLI turns them into.

`UserError` is a problem the user can fix (a bad flag, a missing credential, a rejected
request): the CLI prints it as one line, without a traceback. Anything else is a bug and keeps
its traceback. The domain packages raise `UserError`; only `scripts.cli` catches it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from enum import IntEnum


class ExitStatus(IntEnum):
    """What `python -m scripts ...` exits with; scripts and workflow steps branch on it."""

    OK = 0
    FAILED = 1  # a problem the user can fix: a bad file, a missing credential, a rejected request
    USAGE = 2  # an unknown command or a bad flag (argparse's own status)
    CANCELLED = 3  # a followed job ended CANCELLED
    JOB_FAILED = 4  # a followed job ended badly: FAILED or EXPIRED
    CHECKS_FAILED = 5  # `doctor` found at least one check that failed
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE)


class UserError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """` (did you mean 'run'?)` for the closest of `choices`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
