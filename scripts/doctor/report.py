"""The doctor's report: one line per check (what was checked, how it went, and the command that
fixes it), in three forms: a terminal table, Markdown (a job summary), JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from scripts import escaping


class Status(Enum):
    """How a check went. Only FAIL makes `doctor` exit non-zero."""

    OK = "ok"
    FAIL = "fail"
    WARN = "warn"  # could not be confirmed, or works but not as recommended
    SKIP = "skip"  # not run: an earlier check it depends on failed

    @property
    def mark(self) -> str:
        return _MARKS[self]


_MARKS = {Status.OK: "✓", Status.FAIL: "✗", Status.WARN: "!", Status.SKIP: "–"}


@dataclass(frozen=True)
class Check:
    """`name`: what was checked; `detail`: one line saying what was found; `fix`: the command (or
    commands, one a line) that fixes a failed check, copy-pasteable; empty when nothing to fix."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict, compare=False)  # for --format json

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status.value, "detail": self.detail}
        if self.fix:
            out["fix"] = self.fix
        if self.data:
            out["data"] = self.data
        return out


def ok(name: str, detail: str, **data: Any) -> Check:
    return Check(name, Status.OK, detail, data=data)


def fail(name: str, detail: str, fix: str = "", **data: Any) -> Check:
    return Check(name, Status.FAIL, detail, fix, data=data)


def warn(name: str, detail: str, fix: str = "", **data: Any) -> Check:
    return Check(name, Status.WARN, detail, fix, data=data)


def skip(name: str, reason: str) -> Check:
    return Check(name, Status.SKIP, f"skipped: {reason}")


def first_names(names: tuple[str, ...]) -> str:
    """`a, b and 3 more`: the experiments a line is about, kept short."""
    return ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")


def verdict(checks: Sequence[Check]) -> str:
    """`2 of 12 checks failed, 1 warning, 3 skipped` or `all 12 checks passed`."""
    counts = {status: sum(check.status is status for check in checks) for status in Status}
    warnings, skipped, failed = counts[Status.WARN], counts[Status.SKIP], counts[Status.FAIL]
    parts = [f"{warnings} warning{'s' if warnings != 1 else ''}"] if warnings else []
    parts += [f"{skipped} skipped"] if skipped else []
    if failed:
        head = f"{failed} of {len(checks)} checks failed"
    else:
        head = f"no check failed of {len(checks)}" if parts else f"all {len(checks) - skipped} checks passed"
    return ", ".join([head, *parts])


def table(checks: Sequence[Check]) -> str:
    """One line per check (mark, name, detail), each fix indented under it."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status.mark} {check.name:<{width}}  {check.detail}")
        for fix in check.fix.splitlines():
            lines.append(f"  {'':<{width}}    {fix}" if fix.startswith("#") else f"  {'':<{width}}  $ {fix}")
    lines.append("")
    lines.append(verdict(checks))
    return "\n".join(lines)


def markdown(
    checks: Sequence[Check], title: str = "Google Cloud project check (`python -m scripts doctor`)"
) -> str:
    lines = [f"### {title}", "", "| | check | result | fix |", "|---|---|---|---|"]
    for check in checks:
        fix = "<br>".join(escaping.code(line) for line in check.fix.splitlines() if line.strip())
        lines.append(
            f"| {check.status.mark} | {escaping.text(check.name)} | {escaping.text(check.detail)} | {fix} |"
        )
    lines.append("")
    lines.append(f"**{verdict(checks)}**")
    return "\n".join(lines)


def as_json(checks: Sequence[Check]) -> str:
    failed = any(check.failed for check in checks)
    return json.dumps(
        {"ok": not failed, "summary": verdict(checks), "checks": [check.to_json() for check in checks]},
        indent=2,
        ensure_ascii=False,
    )
