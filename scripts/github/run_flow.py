"""`/hpt run NAME SHA` with credentials: the pull request's job and, with `--baseline`, main's.

The pull request's job is its head's experiments file (the study only: `scripts.github.trust`)
run with the trainer `scripts.github.trainer_image` chose, named by digest. With `--baseline`
the default branch's experiment of the same name is tuned too, exactly as main runs it: this
checkout's file (the default branch's head, which the workflow checks out: the commit the pull
request would be merged into), its image, and the labels of a default-branch job (no `hpt-pr`),
so the verdict finds it as it finds any of main's jobs. It also carries `hpt-baseline-for`, the
pull request that asked for it (not part of its identity). Both go through the spending gate
together, a refusal submits neither, and a re-run finds each job by its identity labels instead
of submitting it again; `--force` renews the pull request's job only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts import escaping
from scripts.errors import UserError
from scripts.github.comment_sections import Submitted
from scripts.github.compiling import last_line
from scripts.github.submit_flow import compile_for, submit_compiled
from scripts.github.trainer_image import BuiltImage, run_built_image

if TYPE_CHECKING:
    from scripts.github.events import HptCommand
    from scripts.vertex.backend import Backend

BASELINE_FOR = "hpt-baseline-for"  # label: the pull request a baseline job was tuned for
_BASELINE = " (baseline)"  # the baseline's name in the gate and the table: never an experiment's


@dataclass(frozen=True)
class RunResult:
    jobs: list[Submitted]  # the pull request's job (or why it was not submitted)
    baseline: list[Submitted]  # main's job, with `--baseline`
    ok: bool  # the pull request's job was submitted (or found)
    baseline_commit: str = ""  # the default branch's commit the baseline ran


def submit(
    command: HptCommand,
    pull_request: int,
    file: Path,
    head: str,
    image: BuiltImage | None,
    *,
    env: Mapping[str, str],
    backend: Backend,
) -> RunResult:
    """Compile the pull request's job (with `image`, None: this checkout's trainer) and main's
    baseline, then submit both through one spending gate."""
    tag = image.tag if image is not None else None
    compiled, failures = compile_for(
        [command.experiment], env=env, pull_request=pull_request, file=file, commit=head, image_tag=tag
    )
    if not failures and image is not None:
        try:
            run_built_image(compiled, image)
        except UserError as error:
            failures = [Submitted(command.experiment, error=last_line(error))]
    if failures:
        return RunResult(failures, [], False)
    baseline, baseline_failures, baseline_commit = [], [], ""
    if command.baseline:
        baseline, baseline_failures = compile_for([command.experiment], env=env, pull_request=None)
        baseline_commit = next((each.commit or "" for each in baseline), "")
        for each in baseline:
            each.job.labels[BASELINE_FOR] = str(pull_request)
        baseline = [dataclasses.replace(each, name=each.name + _BASELINE) for each in baseline]
        baseline_failures = [
            dataclasses.replace(each, error=f"no baseline: the default branch's file: {each.error}")
            for each in baseline_failures
        ]
    force = {command.experiment} if command.force else False
    submitted, _ = submit_compiled([*compiled, *baseline], env=env, backend=backend, force=force)
    jobs = [job for job in submitted if not job.experiment.endswith(_BASELINE)]
    ours = [job for job in submitted if job.experiment.endswith(_BASELINE)]
    if not jobs:  # the gate refused the baseline alone: neither is submitted
        why = next((job.error for job in ours if job.error), "see the run's log")
        jobs = [Submitted(command.experiment, error=f"not submitted with its baseline: {why}")]
    ok = not any(job.error for job in jobs)
    return RunResult(jobs, ours + baseline_failures, ok, baseline_commit)


def baseline_section(commit: str, jobs: Sequence[Submitted], merge_base: str = "") -> str:
    """The sticky section of main's baseline job: which job, or why there is none; and whether the
    default branch moved since the pull request branched off at `merge_base`."""
    lines = [f"### Baseline: the default branch at {commit[:12]}" if commit else "### Baseline", ""]
    if commit and merge_base and merge_base != commit:
        lines += [
            f"The default branch has moved since this pull request branched off at {merge_base[:12]}: "
            "the comparison includes its changes since then (update the branch to compare this "
            "change alone).",
            "",
        ]
    for job in jobs:
        if job.error:
            lines.append(f"Not submitted: {escaping.text(job.error)}")
            continue
        reused = " (reused: this job of the default branch was there already)" if job.reused else ""
        lines.append(f"Job {job.shown}, spec {escaping.code(job.spec_hash[:12])}{reused}.")
    lines += [
        "",
        "It runs the default branch's experiment with its own trainer, labelled as the default branch's "
        "job: the verdict compares this pull request's job with it.",
    ]
    return "\n".join(lines)
