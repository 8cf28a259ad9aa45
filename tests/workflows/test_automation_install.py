"""The light install covers what the workflow jobs that never train import.

`make install-automation` installs requirements/automation.txt with its dependencies and
requirements/automation-no-deps.txt without them. A module the automation imports but that
install lacks would fail only in GitHub Actions, after a merge. This test walks the imports
(module level and inside functions) of every command the automation workflows run, following
`scripts.*` imports, and checks each third-party module against the distributions that install
would put in place, read from the installed packages' own metadata (Requires-Dist).
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from scripts.cli import COMMANDS
from tests.workflows.workflows import REPO_ROOT, load_actions, load_workflows

REQUIREMENTS = REPO_ROOT / "requirements"


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(with_deps: list[Requirement], without_deps: list[Requirement]) -> set[str]:
    """The distributions pip installs for these requirements, as their installed metadata says."""
    installed: set[str] = {_canonical(requirement.name) for requirement in without_deps}
    pending = [(requirement.name, frozenset(requirement.extras)) for requirement in with_deps]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (_canonical(name), extras) in seen:
            continue
        seen.add((_canonical(name), extras))
        installed.add(_canonical(name))
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return installed


def _automation_commands() -> set[str]:
    """The `python -m scripts COMMAND` of every step in a job that installs the automation."""
    commands = set()
    for document in load_workflows() + load_actions():
        for job in (document.data.get("jobs") or {}).values():
            uses_automation = any(
                (step.get("with") or {}).get("install") == "automation" for step in job.get("steps", [])
            )
            if not uses_automation:
                continue
            for step in job.get("steps", []):
                words = shlex.split((step.get("run") or "").split("\n", 1)[0])
                if len(words) > 3 and words[1:3] == ["-m", "scripts"]:
                    commands.add(words[3])
    return commands


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from google.cloud import aiplatform_v1`: the name may be a module itself.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_file(name: str) -> Path | None:
    """The file of module `name`, found on sys.path without importing it (nor its parents)."""
    relative = Path(*name.split("."))
    for entry in sys.path:
        root = Path(entry or ".")
        for candidate in (root / relative / "__init__.py", root / f"{relative}.py"):
            if candidate.is_file():
                return candidate
    return None


def _third_party_imports(entry_modules: set[str]) -> set[str]:
    """Every module outside the standard library and `scripts` reached from the entry modules."""
    found, pending, visited = set(), list(entry_modules), set()
    while pending:
        module = pending.pop()
        if module in visited:
            continue
        visited.add(module)
        file = _module_file(module)
        if file is None:
            continue
        for name in _imports(file):
            top = name.split(".")[0]
            if top == "scripts":
                pending.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(name)
    return found


@cache
def _distribution_of_files() -> dict[str, str]:
    """Installed file (relative to site-packages, as RECORD lists it) -> its distribution."""
    owners = {}
    for distribution in metadata.distributions():
        name = _canonical(distribution.metadata["Name"])
        owners.update((file.as_posix(), name) for file in distribution.files or [])
    return owners


def _site_relative(file: Path) -> str | None:
    parts = file.parts
    if "site-packages" not in parts:
        return None
    return "/".join(parts[len(parts) - parts[::-1].index("site-packages") :])


def _distribution(module: str) -> str | None:
    """The distribution that installed `module` (its longest importable prefix)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        file = _module_file(".".join(parts[:end]))
        if file is not None:
            relative = _site_relative(file)
            return _distribution_of_files().get(relative) if relative else None
    return None


def test_the_automation_install_holds_every_module_the_automation_workflows_import():
    commands = _automation_commands()
    assert {"github", "build"} <= commands, commands  # the walk found the workflows' commands
    entries = {f"scripts.commands.{COMMANDS[command].module}" for command in commands}
    installed = _closure(
        _requirements(REQUIREMENTS / "automation.txt"), _requirements(REQUIREMENTS / "automation-no-deps.txt")
    )
    missing = {}
    for module in sorted(_third_party_imports(entries)):
        distribution = _distribution(module)
        if distribution is not None and distribution not in installed:
            missing[module] = distribution
    assert not missing, f"imported by the automation but not in its install: {missing}"


def test_the_automation_install_leaves_out_tensorflow_and_the_sdk_dependencies_of_aiplatform():
    installed = _closure(
        _requirements(REQUIREMENTS / "automation.txt"), _requirements(REQUIREMENTS / "automation-no-deps.txt")
    )
    assert "google-cloud-aiplatform" in installed
    # Optuna is in: a result's summary ranks the parameters with it (scripts/results/analysis.py).
    left_out = {"tensorflow", "keras", "google-genai", "google-cloud-bigquery", "pydantic"}
    assert not installed & left_out
