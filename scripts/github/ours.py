"""Our own commands (`python -m scripts ...`), run as child processes by the GitHub flows.

The flows use the same command-line contracts a user types, so what a workflow does can be
reproduced from a terminal. Children never see the GitHub token or the runner's internal tokens:
they do not need them, and an experiments file may interpolate `${VAR}` into what it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.errors import UserError
from scripts.paths import REPO_ROOT

# Never passed to a child: GitHub credentials and the runner's own tokens.
WITHHELD = frozenset(
    {
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_CACHE_URL",
    }
)
# What a child computing a plan from an untrusted file may see: no credentials of any kind, only
# the settings an experiments file reads (project, region, and the HPT_ variables).
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


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_line(self) -> str:
        """The child's last line on stderr: our commands print user errors as one line."""
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1].removeprefix("error: ") if lines else f"exit status {self.returncode}"


def child_environment(extra: Mapping[str, str] | None = None, *, credentials: bool = True) -> dict[str, str]:
    if credentials:
        env = {name: value for name, value in os.environ.items() if name not in WITHHELD}
    else:
        env = {
            name: value
            for name, value in os.environ.items()
            if name in PLAN_ONLY or name.startswith(PLAN_ONLY_PREFIX)
        }
    env.update(extra or {})
    return env


def scripts_command(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    credentials: bool = True,
    timeout: float | None = None,
) -> Result:
    """Run `python -m scripts ARGS` from the repository root; stderr is echoed for the run's log."""
    completed = subprocess.run(
        [sys.executable, "-m", "scripts", *args],
        cwd=REPO_ROOT,
        env=child_environment(env, credentials=credentials),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.stderr:
        sys.stderr.write(completed.stderr)
    return Result(completed.returncode, completed.stdout, completed.stderr)


def json_output(result: Result, what: str) -> Any:
    if not result.ok:
        raise UserError(f"{what}: {result.error_line()}")
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise UserError(f"{what}: the output is not JSON") from None


# -- the calls the flows make ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    experiment: str
    kind: str  # added | changed | removed


def validate(file: Path | None = None, *, credentials: bool = True) -> list[str]:
    """The problems `validate` finds (empty when the file is valid)."""
    args = ["validate"] + (["--file", str(file)] if file else [])
    result = scripts_command(args, credentials=credentials)
    if result.ok:
        return []
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return lines or [f"validate failed with exit status {result.returncode}"]


def changed(base: str, head: str) -> list[Change]:
    """The experiments added, changed or removed between two revisions (`changed --format json`)."""
    data = json_output(
        scripts_command(["changed", "--base", base, "--head", head, "--format", "json"]), "changed"
    )
    return parse_changes(data)


def parse_changes(data: dict[str, Any]) -> list[Change]:
    """`changed --format json`: `{"added": [...], "changed": [...], "removed": [...], ...}`."""
    return [
        Change(str(name), kind) for kind in ("added", "changed", "removed") for name in data.get(kind) or []
    ]


def plan_markdown(
    experiment: str, *, file: Path | None = None, base: str | None = None, credentials: bool = True
) -> Result:
    """The plan of one experiment; with `base` (a git revision) it also says what changed."""
    args = ["plan", experiment, "--format", "markdown"] + (["--file", str(file)] if file else [])
    args += ["--base", base] if base else []
    return scripts_command(args, credentials=credentials)


def plan_json(
    experiment: str, *, file: Path | None = None, overrides: Sequence[str] = (), credentials: bool = True
) -> Result:
    args = ["plan", experiment, "--format", "json"] + (["--file", str(file)] if file else [])
    args += [item for override in overrides for item in ("--set", override)]
    return scripts_command(args, credentials=credentials)


def submit(
    experiment: str,
    *,
    pull_request: int | None = None,
    overrides: Sequence[str] = (),
    file: Path | None = None,
) -> dict[str, Any]:
    """Submit to Vertex AI (or the emulator) without waiting; the submitted job as protobuf JSON.

    The job's labels carry the commit and repository (`$GITHUB_SHA`, `$GITHUB_REPOSITORY`) and the
    pull request it reports to; `run` reuses a job with the same identity instead of submitting twice.
    """
    args = ["run", experiment, "--backend", "vertex", "--json"]
    args += [item for override in overrides for item in ("--set", override)]
    args += ["--file", str(file)] if file else []
    args += ["--pr", str(pull_request)] if pull_request else []
    return json_output(scripts_command(args), f"run {experiment}")


def report_markdown(job_name: str) -> str:
    result = scripts_command(["report", job_name, "--format", "markdown"])
    if not result.ok:
        raise UserError(f"report {job_name}: {result.error_line()}")
    return result.stdout


def changes_between_files(base: Path | None, head: Path) -> list[Change]:
    """The experiments added, changed or removed from one experiments file to another.

    Both files are read as data, in this process, resolving `${VAR}` against an environment
    without credentials (the files come from a pull request).
    """
    from scripts.experiments import InvalidExperiments
    from scripts.experiments.changes import compare
    from scripts.experiments.loader import load

    env = child_environment(credentials=False)
    after = load(head, env)
    try:
        before = load(base, env) if base else None
    except InvalidExperiments:
        before = None  # an invalid base: everything in the pull request is new to it
    return parse_changes(compare(before, after, env).as_json())
