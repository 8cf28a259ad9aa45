"""Manual dispatch: run one named experiment, with overrides, reporting to a pull request or the summary.

The inputs are read from the event payload, never from `${{ inputs.* }}` in a shell line, and
checked here: an experiment name, two optional positive integers, an optional pull request
number, and dry run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts import escaping
from scripts.errors import UserError
from scripts.github import environment
from scripts.github.api import GitHubClient
from scripts.github.comment_sections import submitted_section
from scripts.github.compiling import StepContext, last_line
from scripts.github.events import DispatchEvent, command_name
from scripts.github.follow_flow import follow
from scripts.github.planning import plan_markdown
from scripts.github.runner import Step
from scripts.github.sticky_comment import publish
from scripts.github.submit_flow import submit_all
from scripts.paths import experiments_file

if TYPE_CHECKING:
    from scripts.vertex.backend import Backend


@dataclass(frozen=True)
class DispatchRequest:
    experiment: str
    overrides: tuple[str, ...]
    pull_request: int | None
    dry_run: bool


def parse_inputs(inputs: dict[str, str]) -> DispatchRequest:
    experiment = inputs.get("experiment", "").strip()
    if not command_name(experiment):
        raise UserError(f"input experiment: {experiment!r} is not an experiment name")
    overrides = []
    for field, name in (("max_trial_count", "max_trials"), ("parallel_trial_count", "parallel_trials")):
        value = _positive(inputs.get(name, ""), name)
        if value is not None:
            overrides.append(f"{field}={value}")
    pull_request = _positive(inputs.get("pull_request", ""), "pull_request")
    dry_run = inputs.get("dry_run", "false").strip().lower()
    if dry_run not in ("true", "false"):
        raise UserError(f"input dry_run: {dry_run!r} is neither true nor false")
    return DispatchRequest(experiment, tuple(overrides), pull_request, dry_run == "true")


def _positive(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"input {name}: {text!r} is not a positive whole number")
    return int(text)


def dry_run(request: DispatchRequest, env: Mapping[str, str]) -> str:
    """The plan of the requested experiment with its overrides (`plan NAME --format markdown --set ...`)."""
    file = experiments_file()
    context = StepContext.resolve(environment.trusted(env))
    try:
        experiments = context.load(file)
        return plan_markdown(experiments, request.experiment, context, overrides=request.overrides)
    except UserError as error:
        raise UserError(f"plan {request.experiment}: {last_line(error)}") from None


def run_dry(event: DispatchEvent, step: Step) -> int:
    """A dry-run dispatch: the plan goes to the job summary; no credentials, nothing submitted."""
    request = parse_inputs(event.inputs)
    if not request.dry_run:
        raise UserError("`github dry-run` only plans: this dispatch asks to submit (dry_run is false)")
    return _summarize_plan(request, step)


def _summarize_plan(request: DispatchRequest, step: Step) -> int:
    step.append_summary(f"### Dry run: {escaping.text(request.experiment)}\n\n{dry_run(request, step.env)}")
    return 0


def run(
    event: DispatchEvent, commit: str, step: Step, github: Callable[[], GitHubClient], backend: Backend
) -> int:
    """Submit the dispatched experiment; `github` gives the client only when there is a pull
    request to comment on or a result to post."""
    request = parse_inputs(event.inputs)
    if request.dry_run:
        return _summarize_plan(request, step)
    jobs, all_ok = submit_all(
        [request.experiment],
        env=step.env,
        backend=backend,
        pull_request=request.pull_request,
        overrides=request.overrides,
    )
    step.set_output("jobs", " ".join(job.job_name for job in jobs if job.job_name))
    section = f"submitted:{request.experiment}"
    publish({section: submitted_section(commit, jobs)}, request.pull_request, step=step, client=github)
    follow(jobs, backend, github, step)
    return 0 if all_ok else 1
