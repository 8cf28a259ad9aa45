"""The report in three forms: a terminal table, Markdown (a job summary), JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from scripts import escaping
from scripts.doctor.result import Check, Status


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
