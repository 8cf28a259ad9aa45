"""The human plan of a compiled experiment, in Markdown for a pull-request comment.

What a reviewer needs before a merge spends money: the search space, the algorithm, the trial
counts, the machines, the cost (the expected cost beside the worst case, in GPU-hours and
dollars, each figure naming its prices' source and date: `scripts.pricing`), and what changed
compared to the base.

The worst case is every trial running to its timeout (Vertex AI's 7 days when none is set) on
every replica. The expected cost comes from earlier Vertex AI runs of the same experiment on the
same machines when their `summary.json` files are at hand (`$HPT_STATE_DIR/runs/*/`,
`$HPT_RESULTS_DIR/*/`): the median trial's hours for every trial, never above the worst case.
Without them it is the timeout's bound, and with no timeout either it is not known, which the
plan says with a warning.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import escaping
from scripts.experiments.compiler import CompiledExperiment
from scripts.experiments.model import Experiment, Parameter, WorkerPool
from scripts.pricing.table import (
    DEFAULT_BOOT_DISK_SIZE_GB,
    BootDisk,
    Pool,
    PriceTable,
    Rate,
    default_boot_disk_type,
    rate,
)

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
    cost: float | None  # None: `rate.missing` says why
    rate: Rate  # the price of one trial-hour, with its table

    @property
    def missing(self) -> str | None:
        return self.rate.missing


@dataclass(frozen=True)
class Expected:
    """The cost to expect: from earlier runs when known, else the timeout's bound, else not known."""

    trial_hours: float | None  # per trial; None: not known
    cost: float | None
    basis: str  # where the hours come from, in words
    runs: int = 0  # earlier runs it was measured on


def pricing_pools(experiment: Experiment) -> list[Pool]:
    return [
        Pool(pool.machine_type, pool.accelerator_type, pool.accelerator_count, pool.replica_count)
        for pool in _used(experiment.worker_pools)
        if pool.machine_type is not None
    ]


def pricing_disks(experiment: Experiment) -> list[BootDisk]:
    """Every replica's boot disk: the pool's, else Vertex AI's default (100 GB pd-ssd)."""
    return [
        BootDisk(
            pool.boot_disk_type or default_boot_disk_type(pool.machine_type),
            pool.boot_disk_size_gb or DEFAULT_BOOT_DISK_SIZE_GB,
            pool.replica_count,
        )
        for pool in _used(experiment.worker_pools)
        if pool.machine_type is not None
    ]


def _rate(experiment: Experiment, price_tables: Mapping[str, PriceTable] | None) -> Rate:
    return rate(
        pricing_pools(experiment), experiment.settings.region or "", price_tables, pricing_disks(experiment)
    )


# The spending limit per job, in US dollars: required before anything is submitted to Vertex AI
# (a repository variable in the workflows, an environment variable for `run --backend vertex`).
MAX_COST_VARIABLE = "HPT_MAX_COST"
HOW_TO_SET_A_CAP = (
    f"set {MAX_COST_VARIABLE} to the most one job may cost, in US dollars: the repository variable "
    f"for the workflows (`gh variable set {MAX_COST_VARIABLE} --body 200`), the environment variable "
    'for `python -m scripts run --backend vertex` (docs/setup.md, "The spending gate")'
)


def max_cost(env: Mapping[str, str]) -> float | None:
    """`$HPT_MAX_COST` as a number; None when unset or empty. Raises ValueError when it is not a
    finite, non-negative amount (`inf` would be no cap at all)."""
    text = (env.get(MAX_COST_VARIABLE) or "").strip().lstrip("$").replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{MAX_COST_VARIABLE}={text!r} is not an amount in US dollars")
    return value


@dataclass(frozen=True)
class Budget:
    """The spending gate's verdict on one experiment."""

    refusal: str | None  # why it may not be submitted; None: its worst case is within the cap
    # An approval in the spending environment may let it through: only over a cap that is set.
    # A missing or invalid cap is never approvable: nothing bounds what an approval would allow.
    approvable: bool = False


def budget(
    experiment: Experiment, env: Mapping[str, str], price_tables: Mapping[str, PriceTable] | None = None
) -> Budget:
    """The experiment's worst case against `$HPT_MAX_COST`. Fails closed: no cap, an invalid cap, or
    a worst case that cannot be priced is a refusal."""
    try:
        limit = max_cost(env)
    except ValueError as error:
        return Budget(f"{error}; {HOW_TO_SET_A_CAP}")
    if limit is None:
        return Budget(f"no spending cap is set; {HOW_TO_SET_A_CAP}")
    case = worst_case(experiment, price_tables)
    if case.cost is None:
        return Budget(f"its cost is {case.missing} and {MAX_COST_VARIABLE} is ${limit:,.2f}", approvable=True)
    if case.cost > limit:
        reason = f"its worst case, ${case.cost:,.2f}, exceeds {MAX_COST_VARIABLE} (${limit:,.2f})"
        return Budget(reason, approvable=True)
    return Budget(None)


def over_budget(experiment: Experiment, env: Mapping[str, str]) -> str | None:
    """Why the experiment may not be submitted under `$HPT_MAX_COST` (None: within it); see `budget`."""
    return budget(experiment, env).refusal


def worst_case(experiment: Experiment, price_tables: Mapping[str, PriceTable] | None = None) -> WorstCase:
    """Every trial runs to its timeout on every replica: the most a job can cost."""
    trial_rate = _rate(experiment, price_tables)
    seconds = experiment.timeout_seconds or VERTEX_DEFAULT_TIMEOUT_SECONDS
    hours = seconds / 3600
    trials = experiment.max_trial_count
    return WorstCase(
        trial_hours=hours,
        timeout_is_default=experiment.timeout_seconds is None,
        gpus_per_trial=trial_rate.accelerators,
        gpu_hours=trials * hours * trial_rate.accelerators,
        machine_hours=trials * hours * trial_rate.machines,
        cost=None if trial_rate.per_hour is None else trials * hours * trial_rate.per_hour,
        rate=trial_rate,
    )


def history_directories(env: Mapping[str, str] | None = None) -> list[Path]:
    """Where earlier runs' `summary.json` files are: the local state's runs, `$HPT_RESULTS_DIR`."""
    from scripts.paths import state_dir

    env = os.environ if env is None else env
    found = [state_dir() / "runs"]
    if env.get("HPT_RESULTS_DIR"):
        found.append(Path(env["HPT_RESULTS_DIR"]))
    return found


def earlier_trial_hours(experiment: Experiment, directories: Iterable[Path]) -> tuple[list[float], int]:
    """Hours of every ended trial of earlier Vertex AI runs of this experiment on the same machines,
    and how many runs they came from. Local runs do not count: this machine is not a Vertex one."""
    from scripts.jobs.labels import EXPERIMENT, label_value

    pools = [vars(pool) for pool in pricing_pools(experiment)]
    hours: list[float] = []
    runs = 0
    for directory in directories:
        for path in sorted(Path(directory).glob("*/summary.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or data.get("backend") != "vertex":
                continue
            if (data.get("labels") or {}).get(EXPERIMENT) != label_value(experiment.name):
                continue
            if data.get("pools") != pools:
                continue
            ended = [t["seconds"] / 3600 for t in data.get("trials") or [] if t.get("seconds") is not None]
            if ended:
                runs += 1
                hours += ended
    return hours, runs


def expected_case(
    experiment: Experiment,
    price_tables: Mapping[str, PriceTable] | None = None,
    history: Iterable[Path] | None = None,
) -> Expected:
    """The cost to expect, and what it rests on."""
    trial_rate = _rate(experiment, price_tables)
    bound = experiment.timeout_seconds / 3600 if experiment.timeout_seconds else None
    measured, runs = earlier_trial_hours(experiment, history_directories() if history is None else history)
    if measured:
        hours = statistics.median(measured)
        basis = (
            f"the median trial ({_hours(hours)}) of {len(measured)} trials in {runs} earlier Vertex AI "
            f"run{'s' if runs != 1 else ''} of this experiment on these machines"
        )
        limit = bound or VERTEX_DEFAULT_TIMEOUT_SECONDS / 3600
        if hours > limit:
            hours, basis = limit, basis + f", capped at the {_hours(limit)} limit"
    elif bound is not None:
        hours = bound
        basis = f"if every trial runs its {_hours(bound)} timeout; no earlier run of this experiment is known"
    else:
        return Expected(
            None, None, "not known: no earlier run of this experiment and no timeout bounds a trial"
        )
    cost = None if trial_rate.per_hour is None else experiment.max_trial_count * hours * trial_rate.per_hour
    return Expected(hours, cost, basis, runs)


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
    lines = [f"### Plan: {escaping.code(experiment.name)}", ""]
    if experiment.description:
        lines += [f"> {escaping.text(experiment.description)}", ""]
    lines += _overview(experiment, compiled)
    lines += ["", "#### Search space", "", *_parameter_table(experiment.parameters)]
    lines += ["", "#### Machines per trial", "", *_pool_table(experiment.worker_pools)]
    lines += ["", "#### Cost", "", *_cost_lines(experiment)]
    verdict = budget(experiment, os.environ if env is None else env)
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


def _cost_lines(experiment: Experiment) -> list[str]:
    case = worst_case(experiment)
    expected = expected_case(experiment)
    lines = []
    if case.timeout_is_default:
        worst = f"${case.cost:,.2f}" if case.cost is not None else f"{_amount(case.gpu_hours)} GPU-hours"
        lines.append(
            f"- ⚠️ **No timeout bounds a trial**: Vertex AI stops one only after 7 days, so the worst case "
            f"is {worst}. Set `timeout` to bound it."
        )
    timeout = _hours(case.trial_hours) + (
        " (Vertex AI's default timeout: none is set)"
        if case.timeout_is_default
        else " (the experiment's timeout)"
    )
    # Expected first, then the bound it sits under.
    if expected.trial_hours is None:
        lines.append(f"- Expected cost: {expected.basis}.")
    else:
        gpu_hours = _amount(experiment.max_trial_count * expected.trial_hours * case.gpus_per_trial)
        at_most = "at most " if expected.runs == 0 else ""
        cost = f"**${expected.cost:,.2f}**" if expected.cost is not None else f"cost {case.missing}"
        lines.append(f"- Expected: {at_most}{cost}, {gpu_hours} GPU-hours ({expected.basis}).")
    lines += [
        f"- Worst case: every one of {experiment.max_trial_count} trials runs for {timeout}: "
        f"**{_amount(case.gpu_hours)} GPU-hours** ({_amount(case.machine_hours)} machine-hours, "
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
    return ["Changed; merging submits it again:", "", *escaping.fenced(found)]


def _used(pools: tuple[WorkerPool, ...]) -> list[WorkerPool]:
    return [pool for pool in pools if pool.machine_type is not None]


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hours(hours: float) -> str:
    return f"{_amount(hours)} h" if hours < 48 else f"{_amount(hours / 24)} days"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value.is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
