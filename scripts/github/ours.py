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

from scripts.cli import UserError
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


def parse_changes(data: Any) -> list[Change]:
    """`changed --format json`: a list of `{"name": ..., "change": "added"|"changed"|"removed"}`."""
    items = data.get("experiments", data.get("changes", [])) if isinstance(data, dict) else data
    changes = []
    for item in items or []:
        name = item.get("name") or item.get("experiment")
        kind = item.get("change") or item.get("status") or item.get("kind")
        if name and kind:
            changes.append(Change(str(name), str(kind)))
    return changes


def plan_markdown(experiment: str, *, file: Path | None = None, credentials: bool = True) -> Result:
    args = ["plan", experiment, "--format", "markdown"] + (["--file", str(file)] if file else [])
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
    overrides: Sequence[str] = (),
    file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Submit to Vertex AI (or the emulator) without waiting; the submitted job as protobuf JSON."""
    args = ["run", experiment, "--backend", "vertex", "--json"]
    args += [item for override in overrides for item in ("--set", override)]
    args += ["--file", str(file)] if file else []
    return json_output(scripts_command(args, env=env), f"run {experiment}")


def report_markdown(job_name: str) -> str:
    result = scripts_command(["report", job_name, "--format", "markdown"])
    if not result.ok:
        raise UserError(f"report {job_name}: {result.error_line()}")
    return result.stdout


def changes_between_files(base: Path | None, head: Path) -> list[Change]:
    """The experiments added, changed or removed from one experiments file to another.

    Both files are read as data (no child process, no credentials in the environment they
    resolve `${VAR}` against); an experiment changed when its checked definition differs.
    """
    from scripts.experiments.loader import load
    from scripts.experiments.problems import InvalidExperiments

    env = child_environment(credentials=False)
    after = load(head, env).experiments
    try:
        before = load(base, env).experiments if base else {}
    except InvalidExperiments:
        before = {}  # an invalid base: everything in the pull request is new to it
    changes = [Change(name, "added") for name in after if name not in before]
    changes += [Change(name, "changed") for name in after if name in before and after[name] != before[name]]
    changes += [Change(name, "removed") for name in before if name not in after]
    return changes
