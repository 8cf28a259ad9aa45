"""Which experiments a change adds, changes or removes: compared on the compiled spec, not the text.

Reformatting, reordering, comments, descriptions and labels change nothing; a different study,
trial count or trial job spec (machines, args, env, scheduling, image repository) does. The
image tag and output directory are left out, as in the spec hash (see `compiler`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts import git
from scripts.experiments.compiler import CompileContext, compile_experiment, defining_spec
from scripts.experiments.loader import load, load_text
from scripts.experiments.model import ExperimentsFile


@dataclass
class Changes:
    base: str
    head: str
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # name -> what differs
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def to_submit(self) -> list[str]:
        """Added and changed experiments: the ones a merge submits. Removed ones are never submitted."""
        return [*self.added, *self.changed]

    def as_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "added": self.added,
            "changed": list(self.changed),
            "removed": self.removed,
            "unchanged": self.unchanged,
            "to_submit": self.to_submit,
            "differences": self.changed,
        }


def compare(
    base: ExperimentsFile | None,
    head: ExperimentsFile,
    env: Mapping[str, str],
    base_name: str = "base",
    head_name: str = "head",
) -> Changes:
    """`base` None: the file did not exist there, so every experiment is added."""
    base_specs = _specs(base, env) if base is not None else {}
    head_specs = _specs(head, env)
    changes = Changes(base_name, head_name)
    for name, spec in head_specs.items():
        if name not in base_specs:
            changes.added.append(name)
        elif spec != base_specs[name]:
            changes.changed[name] = differences(base_specs[name], spec)
        else:
            changes.unchanged.append(name)
    changes.removed = [name for name in base_specs if name not in head_specs]
    return changes


def changes_between(base: str, head: str | None, file: str | Path, env: Mapping[str, str]) -> Changes:
    """Compare the experiments file at git revision `base` with `head` (None: the file on disk)."""
    head_file = load(file, env) if head is None else _load_at(head, file, env)
    base_file = _load_at(base, file, env)
    return compare(base_file, head_file, env, base, head or "working tree")


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """What differs between two JSON values, as `field.path: before -> after` lines."""
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in [*before, *(k for k in after if k not in before)]:
            lines += differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return lines
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        lines = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            lines += differences(old, new, f"{path}[{index}]")
        return lines
    if before == after:
        return []
    return [f"{path}: {_short(before)} -> {_short(after)}"]


def compared_spec(
    experiments: ExperimentsFile,
    name: str,
    env: Mapping[str, str],
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a comparison looks at of experiment `name`: its `defining_spec`, compiled only to compare,
    with a fixed commit and tag so that they make no difference."""
    context = CompileContext(
        env=env, commit="0" * 40, image_tag="compare", profile=profile, overrides=overrides or {}
    )
    return defining_spec(compile_experiment(experiments, name, context).job_json)


def _specs(experiments: ExperimentsFile, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    return {name: compared_spec(experiments, name, env) for name in experiments.names}


def _load_at(revision: str, file: str | Path, env: Mapping[str, str]) -> ExperimentsFile | None:
    text, name = git.file_at(revision, file)
    return None if text is None else load_text(text, name, env)


def _short(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = str(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
