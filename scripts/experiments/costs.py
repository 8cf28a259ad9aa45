"""The cost model of an experiment (the worst case and the cost to expect, priced by
`scripts.pricing`) and the spending gate's policy, which holds the worst case against a cap.

The worst case is every trial running to its timeout (Vertex AI's 7 days when none is set) on
every replica. The expected cost comes from earlier Vertex AI runs of the same experiment on the
same machines when their `summary.json` files are at hand (`$HPT_STATE_DIR/runs/*/`,
`$HPT_RESULTS_DIR/*/`): the median trial's hours for every trial, never above the worst case.
Without them it is the timeout's bound, and with no timeout either it is not known.

Nothing is submitted to Vertex AI without a cap, `$HPT_MAX_COST` (a repository variable in the
workflows, an environment variable for `run --backend vertex`). The gate (`budget`) fails
closed: no cap, an invalid cap, or a worst case that cannot be priced is a refusal. Over a cap
that is set, an approval may let the experiment through (`scripts.submission`); without one,
nothing may.

Import-light: the checked `Experiment` and the price tables, no Vertex API types, so the spending
gate costs no more than reading the prices.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scripts.experiments.model import Experiment, WorkerPool
from scripts.jobs.labels import EXPERIMENT, label_value
from scripts.paths import state_dir
from scripts.pricing.table import (
    DEFAULT_BOOT_DISK_SIZE_GB,
    BootDisk,
    Pool,
    PriceTable,
    Rate,
    default_boot_disk_type,
    rate,
    tables,
)

# Scheduling.timeout: "The maximum job running time. The default is 7 days."
VERTEX_DEFAULT_TIMEOUT_SECONDS = 7 * 24 * 3600


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
        for pool in used_pools(experiment.worker_pools)
    ]


def pricing_disks(experiment: Experiment) -> list[BootDisk]:
    """Every replica's boot disk: the pool's, else Vertex AI's default (100 GB pd-ssd)."""
    return [
        BootDisk(
            pool.boot_disk_type or default_boot_disk_type(pool.machine_type),
            pool.boot_disk_size_gb or DEFAULT_BOOT_DISK_SIZE_GB,
            pool.replica_count,
        )
        for pool in used_pools(experiment.worker_pools)
    ]


def used_pools(pools: tuple[WorkerPool, ...]) -> list[WorkerPool]:
    """The pools a trial runs: those with a machine type (an empty pool keeps its index only)."""
    return [pool for pool in pools if pool.machine_type is not None]


def _rate(experiment: Experiment, price_tables: Mapping[str, PriceTable] | None) -> Rate:
    return rate(
        pricing_pools(experiment), experiment.settings.region or "", price_tables, pricing_disks(experiment)
    )


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


def history_directories(env: Mapping[str, str]) -> list[Path]:
    """Where earlier runs' `summary.json` files are: the local state's runs, `$HPT_RESULTS_DIR`."""
    found = [state_dir(env) / "runs"]
    if env.get("HPT_RESULTS_DIR"):
        found.append(Path(env["HPT_RESULTS_DIR"]))
    return found


def earlier_trial_hours(experiment: Experiment, directories: Iterable[Path]) -> tuple[list[float], int]:
    """Hours of every ended trial of earlier Vertex AI runs of this experiment on the same machines,
    and how many runs they came from. Local runs do not count: this machine is not a Vertex one."""
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
    history: Iterable[Path] = (),
) -> Expected:
    """The cost to expect, and what it rests on (`history`: where earlier runs' summaries are,
    `history_directories`)."""
    trial_rate = _rate(experiment, price_tables)
    bound = experiment.timeout_seconds / 3600 if experiment.timeout_seconds else None
    measured, runs = earlier_trial_hours(experiment, history)
    if measured:
        hours = statistics.median(measured)
        basis = (
            f"the median trial ({duration(hours)}) of {len(measured)} trials in {runs} earlier Vertex AI "
            f"run{'s' if runs != 1 else ''} of this experiment on these machines"
        )
        limit = bound or VERTEX_DEFAULT_TIMEOUT_SECONDS / 3600
        if hours > limit:
            hours, basis = limit, basis + f", capped at the {duration(limit)} limit"
    elif bound is not None:
        hours = bound
        basis = (
            f"if every trial runs its {duration(bound)} timeout; no earlier run of this experiment is known"
        )
    else:
        return Expected(
            None, None, "not known: no earlier run of this experiment and no timeout bounds a trial"
        )
    cost = None if trial_rate.per_hour is None else experiment.max_trial_count * hours * trial_rate.per_hour
    return Expected(hours, cost, basis, runs)


def duration(hours: float) -> str:
    """Hours as a reader counts them: `1.5 h` under two days, `7 days` from there."""
    return f"{amount(hours)} h" if hours < 48 else f"{amount(hours / 24)} days"


def amount(value: float) -> str:
    """A figure with thousands separators: whole from 100 up, else at most two decimals."""
    return f"{value:,.0f}" if value >= 100 or value.is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


# The spending limit per job, in US dollars.
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
    a worst case that cannot be priced is a refusal. The prices are `price_tables`, else the
    maintained table with the refresh cached in `env`'s state directory (`prices --refresh`)."""
    try:
        limit = max_cost(env)
    except ValueError as error:
        return Budget(f"{error}; {HOW_TO_SET_A_CAP}")
    if limit is None:
        return Budget(f"no spending cap is set; {HOW_TO_SET_A_CAP}")
    case = worst_case(experiment, tables(state_dir(env)) if price_tables is None else price_tables)
    if case.cost is None:
        return Budget(f"its cost is {case.missing} and {MAX_COST_VARIABLE} is ${limit:,.2f}", approvable=True)
    if case.cost > limit:
        reason = f"its worst case, ${case.cost:,.2f}, exceeds {MAX_COST_VARIABLE} (${limit:,.2f})"
        return Budget(reason, approvable=True)
    return Budget(None)
