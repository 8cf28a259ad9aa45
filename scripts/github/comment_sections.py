"""What the sections of our sticky comment say: the plan, the submitted jobs, a refused author's reply.

Where they go, and how a section is kept apart from the others, is `scripts.github.sticky_comment`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scripts import escaping
from scripts.github.permissions import NEEDED
from scripts.jobs import states
from scripts.jobs.names import job_id


@dataclass(frozen=True)
class Submitted:
    """One experiment's row in the submitted section: its job, or why it was not submitted."""

    experiment: str
    job_name: str = ""
    state: str = ""
    link: str = ""
    error: str = ""
    spec_hash: str = ""
    reused: bool = False  # an earlier job with the same experiment, spec and commit

    @property
    def shown(self) -> str:
        """The job's id, linked to its page when it has one."""
        label = escaping.code(job_id(self.job_name))
        return f"[{label}]({self.link})" if self.link else label


def plan_section(
    commit: str, plans: Sequence[tuple[str, str]], removed: Sequence[str], problems: Sequence[str]
) -> str:
    """The plan of the added and changed experiments at `commit`, or why there is none.

    Nothing reads it back: `/hpt run` names its commit and asks GitHub for the head, so what any
    workflow writes here (the plan job runs a same-repository pull request's own code) decides nothing.
    """
    lines = [f"### Plan for {commit[:12]}", ""]
    if problems:
        lines += ["`experiments.yaml` has problems; nothing can be planned until they are fixed:", ""]
        # One line each, and no line can close the fence: a key is text the pull request chose.
        lines += escaping.fenced(problems)
        return "\n".join(lines)
    if not plans and not removed:
        lines.append("No experiment is added or changed: merging submits nothing.")
    for experiment, markdown in plans:
        lines += [
            f"<details open><summary><b>{escaping.text(experiment)}</b></summary>",
            "",
            markdown.strip(),
            "",
            "</details>",
            "",
        ]
    if removed:
        names = ", ".join(escaping.code(name) for name in removed)
        lines.append(f"Removed: {names} (jobs already submitted keep running; cancel them with `cancel`).")
    if plans:
        lines += ["", "Merging this pull request submits the experiments above to Vertex AI."]
    return "\n".join(lines).strip()


def submitted_section(commit: str, jobs: Sequence[Submitted], image: str = "") -> str:
    lines = [f"### Submitted for {commit[:12]}", ""]
    if image:
        lines += [f"Image: {escaping.code(image)}", ""]
    lines += ["| experiment | job | spec | state |", "|---|---|---|---|"]
    for job in jobs:
        if job.error:
            error = escaping.text(job.error)
            lines.append(f"| {escaping.code(job.experiment)} | not submitted: {error} | | |")
            continue
        state = states.short(job.state).lower() + (" (reused: submitted before)" if job.reused else "")
        spec = escaping.code(job.spec_hash[:12]) if job.spec_hash else ""
        lines.append(f"| {escaping.code(job.experiment)} | {job.shown} | {spec} | {state} |")
    lines += ["", "The best trial of each job is posted here when it ends."]
    return "\n".join(lines)


def refusal(author: str, permission: str) -> dict[str, str]:
    """The reply to an author who may not spend, in their own section: it never replaces a maintainer's."""
    return {
        f"refused:{author}": f"@{author}, thanks for asking. `/hpt` commands start cloud jobs, so they need "
        f"{NEEDED} permission on this repository; GitHub reports `{permission}` for you. Nothing was run; "
        "a maintainer can run the command for you."
    }
