"""The workflows as data, for the contract tests: parsed YAML plus the raw lines (for comments)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
ACTIONS = REPO_ROOT / ".github" / "actions"


@dataclass(frozen=True)
class Workflow:
    path: Path
    data: dict[str, Any]
    text: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def triggers(self) -> dict[str, Any]:
        # YAML 1.1 reads the key `on` as the boolean True.
        on = self.data.get("on", self.data.get(True))
        return (
            {on: None} if isinstance(on, str) else {name: None for name in on} if isinstance(on, list) else on
        )

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.data["jobs"]


def load_workflows() -> list[Workflow]:
    return [
        Workflow(path, yaml.safe_load(path.read_text()), path.read_text())
        for path in sorted(WORKFLOWS.glob("*.yml"))
    ]


def load_actions() -> list[Workflow]:
    return [
        Workflow(path, yaml.safe_load(path.read_text()), path.read_text())
        for path in sorted(ACTIONS.glob("*/action.yml"))
    ]


def steps(document: Workflow) -> list[tuple[str, dict[str, Any]]]:
    """(job name or "action", step) for every step of a workflow or composite action."""
    if "runs" in document.data:
        return [("action", step) for step in document.data["runs"].get("steps", [])]
    return [(job_name, step) for job_name, job in document.jobs.items() for step in job.get("steps", [])]


def workflow(name: str) -> Workflow:
    return next(w for w in load_workflows() if w.name == name)
