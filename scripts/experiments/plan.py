"""The human plan of a compiled experiment, in Markdown for a pull-request comment.

What a reviewer needs before a merge spends money: the search space, the algorithm, the trial
counts, the machines, the cost (the expected cost beside the worst case, in GPU-hours and
dollars, each figure naming its prices' source and date: `scripts.pricing`), and what changed
compared to the base.

The figures come from the cost model and the spending gate (`scripts.experiments.costs`); this
module only lays them out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts import escaping, git
from scripts.experiments.changes import compared_spec, differences
from scripts.experiments.compiler import CompiledExperiment, defining_spec
from scripts.experiments.costs import (
    MAX_COST_VARIABLE,
    amount,
    budget,
    duration,
    expected_case,
    history_directories,
    worst_case,
)
from scripts.experiments.loader import load_text
from scripts.experiments.model import Experiment, Parameter, WorkerPool
from scripts.paths import EXPERIMENTS_FILE, state_dir
from scripts.pricing.table import PriceTable, tables

POOL_ROLES = ("chief", "workers", "parameter servers", "evaluators")
_ALGORITHM_NAMES = {
    "bayesian": "Bayesian optimization (the Vertex AI default)",
    "grid": "grid search",
    "random": "random search",
}
_STOPPING_NAMES = {"median": "median rule", "decay_curve": "decay-curve rule", "convex": "convex rule"}


def render_plan(
    compiled: CompiledExperiment,
    base: str | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str],
    base_source: tuple[str | None, str] | None = None,
) -> str:
    """The Markdown plan; with `base`, also what changed compared to the file at that git revision.

    `env` is the caller's environment: the budget (`$HPT_MAX_COST`), where prices and earlier runs
    are (`$HPT_STATE_DIR`, `$HPT_RESULTS_DIR`), and `${VAR}` of the file at `base`.

    `base_source` is that file as (text or None when it does not exist, name) when git cannot be
    asked (a pull request's files read through the API): the same lines either way.
    """
    experiment = compiled.experiment
    if experiment is None:
        raise ValueError("render_plan needs a CompiledExperiment made by compile_experiment")
    lines = [f"### Plan: {escaping.code(experiment.name)}", ""]
    if experiment.description:
        lines += [f"> {escaping.text(experiment.description)}", ""]
    lines += _overview(experiment, compiled)
    lines += ["", "#### Search space", "", *_parameter_table(experiment.parameters)]
    lines += ["", "#### Machines per trial", "", *_pool_table(experiment.worker_pools)]
    price_tables = tables(state_dir(env))
    lines += ["", "#### Cost", "", *_cost_lines(experiment, price_tables, history_directories(env))]
    verdict = budget(experiment, env, price_tables)
    if verdict.refusal and not verdict.approvable:
        lines.append(
            f"- **Merging submits nothing until `{MAX_COST_VARIABLE}` is set**, nor does `/hpt run`, "
            f"approved or not: {verdict.refusal}."
        )
        lines[0] += " (no spending cap)"
    elif verdict.refusal:
        lines.append(
            f"- **Over the budget**: {verdict.refusal}. Submitting it needs an approval of the run in the "
            "`vertex` environment (docs/setup.md)."
        )
        lines[0] += " (over the budget)"
    if base is not None:
        lines += [
            "",
            f"#### Changes compared to {escaping.code(base)}",
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
        ("Project / region", f"{escaping.code(compiled.project)} / {escaping.code(compiled.location)}"),
        ("Metric", f"{escaping.code(experiment.metric_id)} ({experiment.goal})"),
        ("Algorithm", _ALGORITHM_NAMES[experiment.algorithm]),
        ("Trials", trials),
        ("Trial's value", selection),
        ("Early stopping", stopping),
        ("Scheduling", _scheduling(experiment)),
        ("Image", escaping.code(image)),
        ("Output", escaping.code(trial_job.base_output_directory.output_uri_prefix)),
        ("Spec hash", escaping.code(compiled.spec_hash)),
    ]
    if experiment.trainer_args:
        rows.insert(7, ("Trainer args", " ".join(escaping.code(arg) for arg in experiment.trainer_args)))
    if compiled.profile or compiled.overrides:
        variant = [f"profile {escaping.code(compiled.profile)}"] if compiled.profile else []
        variant += [escaping.code(f"--set {field}={value}") for field, value in compiled.overrides.items()]
        rows.insert(0, ("Variant", ", ".join(variant)))
    return ["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]


def _scheduling(experiment: Experiment) -> str:
    parts = [experiment.scheduling_strategy or "standard (default)"]
    if experiment.timeout_seconds:
        parts.append(f"timeout {duration(experiment.timeout_seconds / 3600)} per trial")
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
                _number(value) if parameter.type == "discrete" else escaping.code(value)
                for value in parameter.values
            )
        lines.append(
            f"| {escaping.code(f'--{parameter.id}')} | {parameter.type} | {values} | "
            f"{parameter.scale or '—'} | {condition or ''} |"
        )
    return lines


def _walk(parameters: tuple[Parameter, ...], condition: str | None):
    for parameter in parameters:
        yield parameter, condition
        for child in parameter.children:
            when = ", ".join(escaping.text(_number(value)) for value in child.when)
            yield from _walk(child.parameters, f"{escaping.code(parameter.id)} ∈ {{{when}}}")


def _pool_table(pools: tuple[WorkerPool, ...]) -> list[str]:
    lines = ["| Pool | Machine | Accelerators | Replicas | Boot disk |", "|---|---|---|---|---|"]
    for index, pool in enumerate(pools):
        if pool.machine_type is None:
            continue
        accelerators = (
            f"{pool.accelerator_count} × {escaping.text(pool.accelerator_type)}"
            if pool.accelerator_type
            else "none"
        )
        disk = (
            " ".join(
                escaping.text(part)
                for part in (pool.boot_disk_type, pool.boot_disk_size_gb and f"{pool.boot_disk_size_gb} GB")
                if part
            )
            or "default"
        )
        lines.append(
            f"| {index} ({POOL_ROLES[index]}) | {escaping.text(pool.machine_type)} | {accelerators} | "
            f"{pool.replica_count} | {disk} |"
        )
    return lines


def _cost_lines(
    experiment: Experiment, price_tables: Mapping[str, PriceTable], history: list[Path]
) -> list[str]:
    case = worst_case(experiment, price_tables)
    expected = expected_case(experiment, price_tables, history)
    lines = []
    if case.timeout_is_default:
        worst = f"${case.cost:,.2f}" if case.cost is not None else f"{amount(case.gpu_hours)} GPU-hours"
        lines.append(
            f"- ⚠️ **No timeout bounds a trial**: Vertex AI stops one only after 7 days, so the worst case "
            f"is {worst}. Set `timeout` to bound it."
        )
    timeout = duration(case.trial_hours) + (
        " (Vertex AI's default timeout: none is set)"
        if case.timeout_is_default
        else " (the experiment's timeout)"
    )
    # Expected first, then the bound it sits under.
    if expected.trial_hours is None:
        lines.append(f"- Expected cost: {expected.basis}.")
    else:
        gpu_hours = amount(experiment.max_trial_count * expected.trial_hours * case.gpus_per_trial)
        at_most = "at most " if expected.runs == 0 else ""
        cost = f"**${expected.cost:,.2f}**" if expected.cost is not None else f"cost {case.missing}"
        lines.append(f"- Expected: {at_most}{cost}, {gpu_hours} GPU-hours ({expected.basis}).")
    lines += [
        f"- Worst case: every one of {experiment.max_trial_count} trials runs for {timeout}: "
        f"**{amount(case.gpu_hours)} GPU-hours** ({amount(case.machine_hours)} machine-hours, "
        f"{case.gpus_per_trial} GPU{'s' if case.gpus_per_trial != 1 else ''} and "
        f"{case.rate.disk_gb:,} GB of {'/'.join(case.rate.disks_used)} boot disk per trial), "
        + (f"**${case.cost:,.2f}**." if case.cost is not None else f"cost {case.missing}."),
    ]
    if case.rate.table is not None:
        lines.append(
            f"- Prices: {case.rate.citation()}; table `{case.rate.table.origin}`. Estimates: no discounts, "
            "Cloud Storage or network."
        )
    if case.cost is None and case.rate.table is None:
        region = case.rate.region
        lines.append(
            f"- No price table for {region}: `python -m scripts prices --refresh --region {region}` fetches "
            "one from the Cloud Billing Catalog API (docs/experiments.md, Costs)."
        )
    if experiment.scheduling_strategy == "spot":
        lines.append(
            "- Spot capacity costs less than these on-demand prices; the estimates are upper bounds."
        )
    if experiment.early_stopping is not None:
        lines.append("- Early stopping usually ends poor trials well before this bound.")
    return lines


def _change_lines(
    compiled: CompiledExperiment,
    base: str,
    file: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    base_source: tuple[str | None, str] | None = None,
) -> list[str]:
    env = dict(env)
    text, name = base_source if base_source is not None else git.file_at(base, file or EXPERIMENTS_FILE)
    if text is None:
        return ["New: the experiments file does not exist there."]
    base_file = load_text(text, name, env)
    if compiled.name not in base_file.experiments:
        return ["New experiment: it is submitted when this change is merged."]
    # The same profile and overrides as the plan, so only the file's change shows.
    before = compared_spec(base_file, compiled.name, env, compiled.profile, compiled.overrides)
    after = defining_spec(compiled.job_json)
    found = differences(before, after)
    if not found:
        return ["No change to the compiled job: merging does not submit it again."]
    return ["Changed; merging submits it again:", "", *escaping.fenced(found)]


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
