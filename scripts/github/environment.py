"""What `${VAR}` in an experiments file may read, when a workflow step holds credentials.

An experiments file can only read the `${VAR}` allow list (`scripts.experiments.environment.ALLOWED`:
project, region and the documented `HPT_` settings, by name); these mappings are the second line
of defence, so that the GitHub token or the runner's own tokens are not even there to be read. The
flows pass one of them to `scripts.experiments.load(path, env)` as data; the sandbox child also
runs with the second as its whole process environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from scripts.experiments.environment import ALLOWED

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
# any kind, only what a process needs to start, the settings an experiments file may read (the one
# `${VAR}` allow list, by name: a prefix would hand over any secret exported as HPT_...) and the
# settings the plan itself reads (the budget, where earlier runs' summaries are).
PROCESS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
PLAN_SETTINGS = ("HPT_MAX_COST", "HPT_RESULTS_DIR", "HPT_STATE_DIR")
PLAN_ONLY = (*PROCESS, *sorted(ALLOWED), *PLAN_SETTINGS)


def trusted(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment less `WITHHELD`: for a file someone with write access vouches for (this
    checkout's, or the pull request's that a collaborator asked to run with `/hpt run`).

    `GITHUB_SHA` and `GITHUB_REPOSITORY` stay: they name the commit and repository a job is for.
    """
    return {name: value for name, value in environ.items() if name not in WITHHELD}


def untrusted(environ: Mapping[str, str]) -> dict[str, str]:
    """Only the `PLAN_ONLY` names: for a pull request's experiments file."""
    return {name: value for name, value in environ.items() if name in PLAN_ONLY}
