"""The one road a job takes: compiled → the spending gate → submitted exactly once.

`run --backend vertex`, a merge, a dispatch and `/hpt run` all submit through `submit_all`, then
follow with `JobService.follow` / `JobService.poll` and summarize with `scripts.results`:

- nothing is submitted unless every experiment passes the gate (`budget`: fails closed, no cap
  means no job); over a cap that is set, an `Approval` may let it through (the workflows: the
  run's approval in the spending environment). `run --backend local` passes `gate=False`: the
  emulator runs the trials on this machine and spends nothing;
- each job is found again by its identity labels rather than submitted twice (`JobService.submit`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.experiments.costs import Budget, budget

if TYPE_CHECKING:
    from scripts.experiments import CompiledExperiment
    from scripts.vertex.service import JobService
    from scripts.vertex.submit import Submission


@dataclass(frozen=True)
class Approval:
    """What may let an experiment over a set cap through, and what to tell the user otherwise."""

    granted: Callable[[], bool]  # asked only when some experiment is over the cap
    how: str  # e.g. "a reviewer must approve this run in the `vertex` environment (docs/setup.md)"


NO_APPROVAL = Approval(lambda: False, "")


@dataclass(frozen=True)
class Outcome:
    """One experiment on the road: submitted (or found already submitted), or why not."""

    compiled: CompiledExperiment
    submission: Submission | None = None
    error: UserError | None = None
    refused: bool = False  # stopped by the spending gate (`error` says why), not by the service

    @property
    def name(self) -> str:
        return self.compiled.name


def spending_gate(
    compiled: Sequence[CompiledExperiment], env: Mapping[str, str], approval: Approval = NO_APPROVAL
) -> dict[str, str]:
    """Why each experiment the gate stops may not be submitted; {} when every one may.

    A missing or invalid cap stops everything, approved or not. Over a cap that is set, the
    approval is asked once, and only then.
    """
    verdicts = {
        each.name: budget(each.experiment, env)
        if each.experiment is not None
        else Budget("its cost cannot be worked out (no checked experiment)")
        for each in compiled
    }
    refused = {name: verdict for name, verdict in verdicts.items() if verdict.refusal}
    if not refused:
        return {}
    if all(verdict.approvable for verdict in verdicts.values() if verdict.refusal) and approval.granted():
        return {}
    return {
        name: f"{verdict.refusal}; {approval.how}"
        if verdict.approvable and approval.how
        else str(verdict.refusal)
        for name, verdict in refused.items()
    }


def submit_all(
    service: JobService,
    compiled: Sequence[CompiledExperiment],
    *,
    env: Mapping[str, str],
    force: bool | Collection[str] = False,
    gate: bool = True,
    approval: Approval = NO_APPROVAL,
    notify: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Every experiment through the gate, then each submitted; a refusal submits none of them.

    `force`: True, or the names of the experiments submitted afresh even when a job with the same
    identity exists (`/hpt run NAME SHA --force --baseline` forces the pull request's job, not main's).
    """
    refused = spending_gate(compiled, env, approval) if gate else {}
    if refused:
        return [
            Outcome(each, error=UserError(f"not submitted: {refused[each.name]}"), refused=True)
            for each in compiled
            if each.name in refused
        ]
    options = {"notify": notify} if notify is not None else {}
    outcomes = []
    for each in compiled:
        try:
            fresh = force if isinstance(force, bool) else each.name in force
            outcomes.append(Outcome(each, service.submit(each, fresh, **options)))
        except UserError as error:
            outcomes.append(Outcome(each, error=error))
    return outcomes
