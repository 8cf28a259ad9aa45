"""The Markdown our sticky comment is made of: plan, submitted jobs, results, command replies."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.github.comments import record_line
from scripts.github.runner import one_line
from scripts.jobs import states
from scripts.jobs.names import job_id

if TYPE_CHECKING:
    from scripts.github.planning import Change

TITLE = "## Vertex AI hyperparameter tuning"
# Sections appear in this order in the comment, whichever is written first.
SECTION_ORDER = ("plan", "command", "refused", "submitted", "result", "files")


@dataclass(frozen=True)
class Submitted:
    experiment: str
    job_name: str = ""
    state: str = ""
    link: str = ""
    error: str = ""
    spec_hash: str = ""
    reused: bool = False  # an earlier job with the same experiment, spec and commit


def now() -> str:
    """UTC now as GitHub writes times (`2026-11-27T12:00:00Z`)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header() -> str:
    return TITLE


def plan_section(
    commit: str, plans: Sequence[tuple[str, str]], removed: Sequence[str], problems: Sequence[str]
) -> str:
    """The plan of the added and changed experiments at `commit`, or why there is none.

    Its first line records the full commit and when the plan was made (`scripts.github.comments`
    keeps the first time while the plan stays the same): `/hpt run` submits exactly this commit,
    and only when the plan was shown before the command was written.
    """
    lines = [record_line(head=commit, at=now()), f"### Plan for {commit[:12]}", ""]
    if problems:
        lines += ["`experiments.yaml` has problems; nothing can be planned until they are fixed:", "", "```"]
        # One line each, and no line can close the fence: a key is text the pull request chose.
        lines += [one_line(problem).replace("```", "` ` `") for problem in problems]
        lines.append("```")
        return "\n".join(lines)
    if not plans and not removed:
        lines.append("No experiment is added or changed: merging submits nothing.")
    for experiment, markdown in plans:
        lines += [
            f"<details open><summary><b>{experiment}</b></summary>",
            "",
            markdown.strip(),
            "",
            "</details>",
            "",
        ]
    if removed:
        names = ", ".join(f"`{name}`" for name in removed)
        lines.append(f"Removed: {names} (jobs already submitted keep running; cancel them with `cancel`).")
    if plans:
        lines += ["", "Merging this pull request submits the experiments above to Vertex AI."]
    return "\n".join(lines).strip()


def submitted_section(commit: str, jobs: Sequence[Submitted], image: str = "") -> str:
    lines = [f"### Submitted for {commit[:12]}", ""]
    if image:
        lines += [f"Image: `{image}`", ""]
    lines += ["| experiment | job | spec | state |", "|---|---|---|---|"]
    for job in jobs:
        if job.error:
            lines.append(f"| `{job.experiment}` | not submitted: {_cell(job.error)} | | |")
            continue
        label = job_id(job.job_name)
        shown = f"[`{label}`]({job.link})" if job.link else f"`{label}`"
        state = states.short(job.state).lower() + (" (reused: submitted before)" if job.reused else "")
        spec = f"`{job.spec_hash[:12]}`" if job.spec_hash else ""
        lines.append(f"| `{job.experiment}` | {shown} | {spec} | {state} |")
    lines += ["", "The best trial of each job is posted here when it ends."]
    return "\n".join(lines)


def changes_summary(changes: Sequence[Change]) -> str:
    if not changes:
        return "no experiment added, changed or removed"
    return ", ".join(f"{change.experiment} ({change.kind})" for change in changes)


def refusal_section(author: str) -> str:
    """Each refused author's reply has a section of its own: it never replaces a maintainer's."""
    return f"refused:{author}"


def refusal(author: str, permission: str) -> str:
    from scripts.github.permissions import NEEDED

    return (
        f"@{author}, thanks for asking. `/hpt` commands start cloud jobs, so they need {NEEDED} "
        f"permission on this repository; GitHub reports `{permission}` for you. Nothing was run; "
        "a maintainer can run the command for you."
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
