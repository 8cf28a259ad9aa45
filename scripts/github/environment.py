"""What `${VAR}` in an experiments file may read, when a workflow step holds credentials.

An experiments file can only read the `${VAR}` allow list (`scripts.experiments.environment`:
`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_REGION`, `HPT_*`); these mappings are the second line of
defence, so that the GitHub token or the runner's own tokens are not even there to be read. The
flows pass one of them to `scripts.experiments.load(path, env)` as data; the sandbox child also
runs with the second as its whole process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Never visible to an experiments file: GitHub credentials and the runner's own tokens.
WITHHELD = frozenset(
    {
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_CACHE_URL",
    }
)
# All that an untrusted file (a pull request's, read through the API) may see: no credentials of
# any kind, only what a process needs to start and the settings an experiments file reads
# (project, region, and the HPT_ variables).
PLAN_ONLY = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "PYTHONPATH",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_REGION",
)
PLAN_ONLY_PREFIX = "HPT_"


def trusted(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment less `WITHHELD`: for a file someone with write access vouches for (this
    checkout's, or the pull request's that a collaborator asked to run with `/hpt run`).

    `GITHUB_SHA` and `GITHUB_REPOSITORY` stay: they name the commit and repository a job is for.
    """
    environ = os.environ if environ is None else environ
    return {name: value for name, value in environ.items() if name not in WITHHELD}


def untrusted(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Only `PLAN_ONLY` and the `HPT_` variables: for a pull request's experiments file."""
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in environ.items()
        if name in PLAN_ONLY or name.startswith(PLAN_ONLY_PREFIX)
    }
