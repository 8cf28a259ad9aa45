"""The human plan of a compiled experiment, in Markdown for a pull-request comment.

What a reviewer needs before a merge spends money: the search space, the algorithm, the trial
counts, the machines, the worst case in GPU-hours and dollars (from the dated price table in
`prices.yaml`, with its date and assumption stated), and what changed compared to the base.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from scripts.experiments.compiler import CompiledExperiment
from scripts.experiments.model import Experiment, Parameter, WorkerPool

PRICES_FILE = Path(__file__).with_name("prices.yaml")
# Scheduling.timeout: "The maximum job running time. The default is 7 days."
VERTEX_DEFAULT_TIMEOUT_SECONDS = 7 * 24 * 3600
POOL_ROLES = ("chief", "workers", "parameter servers", "evaluators")
_ALGORITHM_NAMES = {
    "bayesian": "Bayesian optimization (the Vertex AI default)",
    "grid": "grid search",
    "random": "random search",
}
_STOPPING_NAMES = {"median": "median rule", "decay_curve": "decay-curve rule", "convex": "convex rule"}


@dataclass(frozen=True)
class WorstCase:
    trial_hours: float  # each trial's limit, in hours
    timeout_is_default: bool
    gpus_per_trial: int
    gpu_hours: float
    machine_hours: float
    cost: float | None  # None: a machine or accelerator is missing from the price table
    unpriced: tuple[str, ...]


@cache
def prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# An optional spending limit per job, in US dollars (a repository variable in the workflows).
MAX_COST_VARIABLE = "HPT_MAX_COST"


def max_cost(env: Mapping[str, str]) -> float | None:
    """`$HPT_MAX_COST` as a number; None when unset or empty. Raises ValueError when it is not one."""
    text = (env.get(MAX_COST_VARIABLE) or "").strip().lstrip("$")
    if not text:
        return None
    value = float(text)
    if not value >= 0:
        raise ValueError(f"{MAX_COST_VARIABLE}={text!r} is not a non-negative amount")
    return value


def over_budget(experiment: Experiment, env: Mapping[str, str]) -> str | None:
    """Why the experiment's worst case exceeds `$HPT_MAX_COST` (None: within it, or no limit set).

    A worst case that cannot be priced counts as over the limit: the limit is a promise.
    """
    try:
        limit = max_cost(env)
    except ValueError as error:
        return str(error)
    if limit is None:
        return None
    case = worst_case(experiment)
    if case.cost is None:
        unpriced = ", ".join(case.unpriced)
        return f"its cost is not known ({unpriced} not priced) and {MAX_COST_VARIABLE} is ${limit:,.2f}"
    if case.cost > limit:
        return f"its worst case, ${case.cost:,.2f}, exceeds {MAX_COST_VARIABLE} (${limit:,.2f})"
    return None


def worst_case(experiment: Experiment, price_table: dict[str, Any] | None = None) -> WorstCase:
    """Every trial runs to its timeout on every replica: the most a job can cost."""
    table = price_table if price_table is not None else prices()
    seconds = experiment.timeout_seconds or VERTEX_DEFAULT_TIMEOUT_SECONDS
    hours = seconds / 3600
    trials = experiment.max_trial_count
    gpus = sum(pool.accelerator_count * pool.replica_count for pool in _used(experiment.worker_pools))
    machines = sum(pool.replica_count for pool in _used(experiment.worker_pools))
    per_trial_hour = 0.0
    unpriced = []
    for pool in _used(experiment.worker_pools):
        machine_price = table.get("machines", {}).get(pool.machine_type)
        if machine_price is None:
            unpriced.append(pool.machine_type)
        else:
            per_trial_hour += machine_price * pool.replica_count
        if pool.accelerator_type:
            gpu_price = table.get("accelerators", {}).get(pool.accelerator_type)
            if gpu_price is None:
                unpriced.append(pool.accelerator_type)
            else:
                per_trial_hour += gpu_price * pool.accelerator_count * pool.replica_count
    return WorstCase(
        trial_hours=hours,
        timeout_is_default=experiment.timeout_seconds is None,
        gpus_per_trial=gpus,
        gpu_hours=trials * hours * gpus,
        machine_hours=trials * hours * machines,
        cost=None if unpriced else trials * hours * per_trial_hour,
        unpriced=tuple(dict.fromkeys(unpriced)),
    )


def render_plan(
    compiled: CompiledExperiment,
    base: str | None = None,
    file: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    base_source: tuple[str | None, str] | None = None,
) -> str:
    """The Markdown plan; with `base`, also what changed compared to the file at that git revision.

    `base_source` is that file as (text or None when it does not exist, name) when git cannot be
    asked (a pull request's files read through the API): the same lines either way.
    """
    experiment = compiled.experiment
    if experiment is None:
        raise ValueError("render_plan needs a CompiledExperiment made by compile_experiment")
    lines = [f"### Plan: `{experiment.name}`", ""]
    if experiment.description:
        lines += [f"> {_prose(experiment.description)}", ""]
    lines += _overview(experiment, compiled)
    lines += ["", "#### Search space", "", *_parameter_table(experiment.parameters)]
    lines += ["", "#### Machines per trial", "", *_pool_table(experiment.worker_pools)]
    lines += ["", "#### Worst case", "", *_worst_case_lines(experiment)]
    over = over_budget(experiment, os.environ if env is None else env)
    if over:
        lines.append(
            f"- **Over the budget**: {over}. Submitting it needs an approval of the run in the "
            "`vertex` environment (docs/setup.md)."
        )
        lines[0] += " (over the budget)"
    if base is not None:
        lines += [
            "",
            f"#### Changes compared to `{base}`",
            "",
            *_change_lines(compiled, base, file, env, base_source),
        ]
    return "\n".join(lines) + "\n"


def _overview(experiment: Experiment, compiled: CompiledExperiment) -> list[str]:
    trials = f"{experiment.max_trial_count} in total, {experiment.parallel_trial_count} at a time"
    if experiment.max_failed_trial_count:
        trials += f", the job fails after {experiment.max_failed_trial_count} failed"
    selection = {
        None: "last measurement of each trial (the API default)",
        "last": "last measurement of each trial",
        "best": "best measurement of each trial",
    }[experiment.measurement_selection]
    stopping = "none"
    if experiment.early_stopping is not None:
        stopping = _STOPPING_NAMES[experiment.early_stopping.rule]
        stopping += (
            " by elapsed time" if experiment.early_stopping.use_elapsed_duration else " by step (epoch)"
        )
    trial_job = compiled.job.trial_job_spec
    image = next(pool.container_spec.image_uri for pool in trial_job.worker_pool_specs if pool)
    rows = [
        ("Project / region", f"`{compiled.project}` / `{compiled.location}`"),
        ("Metric", f"`{experiment.metric_id}` ({experiment.goal})"),
        ("Algorithm", _ALGORITHM_NAMES[experiment.algorithm]),
        ("Trials", trials),
        ("Trial's value", selection),
        ("Early stopping", stopping),
        ("Scheduling", _scheduling(experiment)),
        ("Image", f"`{image}`"),
        ("Output", f"`{trial_job.base_output_directory.output_uri_prefix}`"),
        ("Spec hash", f"`{compiled.spec_hash}`"),
    ]
    if experiment.trainer_args:
        rows.insert(7, ("Trainer args", " ".join(f"`{arg}`" for arg in experiment.trainer_args)))
    if compiled.profile or compiled.overrides:
        variant = [f"profile `{compiled.profile}`"] if compiled.profile else []
        variant += [f"`--set {field}={value}`" for field, value in compiled.overrides.items()]
        rows.insert(0, ("Variant", ", ".join(variant)))
    return ["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]


def _scheduling(experiment: Experiment) -> str:
    parts = [experiment.scheduling_strategy or "standard (default)"]
    if experiment.timeout_seconds:
        parts.append(f"timeout {_hours(experiment.timeout_seconds / 3600)} per trial")
    else:
        parts.append("no timeout set (Vertex AI stops a trial after 7 days)")
    if experiment.restart_job_on_worker_restart:
        parts.append("restarts when a worker restarts")
    if experiment.enable_web_access:
        parts.append("web access on")
    return ", ".join(parts)


def _parameter_table(parameters: tuple[Parameter, ...]) -> list[str]:
    lines = ["| Parameter | Type | Values | Scale | Only when |", "|---|---|---|---|---|"]
    for parameter, condition in _walk(parameters, None):
        if parameter.type in ("double", "integer"):
            values = f"{_number(parameter.min)} … {_number(parameter.max)}"
        else:
            values = ", ".join(
                _number(value) if parameter.type == "discrete" else f"`{value}`" for value in parameter.values
            )
        lines.append(
            f"| `--{parameter.id}` | {parameter.type} | {values} | {parameter.scale or '—'} | "
            f"{condition or ''} |"
        )
    return lines


def _walk(parameters: tuple[Parameter, ...], condition: str | None):
    for parameter in parameters:
        yield parameter, condition
        for child in parameter.children:
            when = ", ".join(_number(value) if not isinstance(value, str) else value for value in child.when)
            yield from _walk(child.parameters, f"`{parameter.id}` ∈ {{{when}}}")


def _pool_table(pools: tuple[WorkerPool, ...]) -> list[str]:
    lines = ["| Pool | Machine | Accelerators | Replicas | Boot disk |", "|---|---|---|---|---|"]
    for index, pool in enumerate(pools):
        if pool.machine_type is None:
            continue
        accelerators = (
            f"{pool.accelerator_count} × {pool.accelerator_type}" if pool.accelerator_type else "none"
        )
        disk = (
            " ".join(
                str(part)
                for part in (pool.boot_disk_type, pool.boot_disk_size_gb and f"{pool.boot_disk_size_gb} GB")
                if part
            )
            or "default"
        )
        lines.append(
            f"| {index} ({POOL_ROLES[index]}) | {pool.machine_type} | {accelerators} | "
            f"{pool.replica_count} | {disk} |"
        )
    return lines


def _worst_case_lines(experiment: Experiment) -> list[str]:
    case = worst_case(experiment)
    table = prices()
    timeout = _hours(case.trial_hours) + (
        " (Vertex AI's default timeout: none is set)"
        if case.timeout_is_default
        else " (the experiment's timeout)"
    )
    lines = [
        f"- Every one of {experiment.max_trial_count} trials runs for {timeout}.",
        f"- GPUs per trial: {case.gpus_per_trial}; worst case **{_amount(case.gpu_hours)} GPU-hours** "
        f"({_amount(case.machine_hours)} machine-hours).",
    ]
    if case.cost is None:
        lines.append(f"- Estimated cost: not known: {', '.join(case.unpriced)} missing from the price table.")
    else:
        lines.append(
            f"- Estimated cost, worst case: **${case.cost:,.2f}** at {table['region']} on-demand list "
            f"prices recorded {table['recorded']} (`scripts/experiments/prices.yaml`"
            f"{'' if table.get('verified_against_live_page') else ', not checked against the live page'}"
            "; no discounts, no storage or network)."
        )
    if experiment.scheduling_strategy == "spot":
        lines.append(
            "- Spot capacity costs less than these on-demand prices; the estimate is an upper bound."
        )
    if experiment.early_stopping is not None:
        lines.append("- Early stopping usually ends poor trials well before this bound.")
    if case.timeout_is_default:
        lines.append("- Set `timeout` to bound each trial and this estimate.")
    return lines


def _change_lines(
    compiled: CompiledExperiment,
    base: str,
    file: str | os.PathLike[str] | None,
    env: dict[str, str] | None,
    base_source: tuple[str | None, str] | None = None,
) -> list[str]:
    from scripts import git
    from scripts.experiments.changes import differences
    from scripts.experiments.compiler import CompileContext, compile_experiment, defining_spec
    from scripts.experiments.loader import load_text
    from scripts.paths import EXPERIMENTS_FILE

    env = dict(os.environ if env is None else env)
    text, name = base_source if base_source is not None else git.file_at(base, file or EXPERIMENTS_FILE)
    if text is None:
        return ["New: the experiments file does not exist there."]
    base_file = load_text(text, name, env)
    if compiled.name not in base_file.experiments:
        return ["New experiment: it is submitted when this change is merged."]
    # The same profile and overrides as the plan, so only the file's change shows.
    context = CompileContext(
        env=env, commit="0" * 40, image_tag="compare", profile=compiled.profile, overrides=compiled.overrides
    )
    before = defining_spec(compile_experiment(base_file, compiled.name, context).job_json)
    after = defining_spec(compiled.job_json)
    found = differences(before, after)
    if not found:
        return ["No change to the compiled job: merging does not submit it again."]
    return ["Changed; merging submits it again:", "", "```", *found, "```"]


def _used(pools: tuple[WorkerPool, ...]) -> list[WorkerPool]:
    return [pool for pool in pools if pool.machine_type is not None]


def _prose(text: str) -> str:
    """User text as one line of inert Markdown: no HTML (a hidden `<!--`, a `</details>`), no heading."""
    one_line = " ".join(str(text).split())
    return one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hours(hours: float) -> str:
    return f"{_amount(hours)} h" if hours < 48 else f"{_amount(hours / 24)} days"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value.is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
