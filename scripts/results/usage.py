"""What a tuning job used: machine and accelerator hours, and their estimated cost, by trial.

A trial's hours run from its `start_time` to its `end_time` (to now while it runs) on every
replica of every worker pool of the job's `trial_job_spec`; its cost is those hours at the list
prices of the job's region (`scripts.pricing`), labelled as an estimate with the prices' source
and date. The local emulator runs the same job on this machine: its figures are what the job's
machines would have cost on Vertex AI, and nothing was billed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scripts.jobs.names import parse_job_name
from scripts.pricing.table import Pool, PriceTable, rate
from scripts.results.trials import run_seconds

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Trial

BASIS = (
    "each trial's start to end on every replica, at on-demand list prices; "
    "no discounts, storage, network or start-up time"
)


def pools(job: HyperparameterTuningJob) -> list[Pool]:
    """The job's worker pools that run something (a skipped position has no machine type)."""
    found = []
    for spec in job.trial_job_spec.worker_pool_specs:
        machine = spec.machine_spec
        if not machine.machine_type:
            continue
        accelerator = machine.accelerator_type.name if machine.accelerator_type else None
        found.append(
            Pool(
                machine_type=machine.machine_type,
                accelerator_type=accelerator,
                accelerator_count=int(machine.accelerator_count) if accelerator else 0,
                replica_count=int(spec.replica_count),
            )
        )
    return found


def trial_hours(trial: Trial, now: dt.datetime) -> float:
    """Hours from the trial's start to its end (to `now` while it runs); 0 before it starts."""
    return (run_seconds(trial, now) or 0.0) / 3600


def usage(
    job: HyperparameterTuningJob,
    *,
    backend: str,
    now: dt.datetime | None = None,
    price_tables: Mapping[str, PriceTable] | None = None,
) -> dict[str, Any]:
    """Totals and per-trial figures: `accelerator_hours`, `machine_hours`, `cost`, `cost_estimate`,
    `pools`, and `trials` (by id)."""
    now = now or dt.datetime.now(dt.UTC)
    job_pools = pools(job)
    parsed = parse_job_name(job.name)
    region = parsed.location if parsed else ""
    trial_rate = rate(job_pools, region, price_tables)

    def figures(hours: float) -> dict[str, float | None]:
        return {
            "accelerator_hours": round(hours * trial_rate.accelerators, 6),
            "machine_hours": round(hours * trial_rate.machines, 6),
            "cost": _money(hours * trial_rate.per_hour) if trial_rate.per_hour is not None else None,
        }

    by_trial = {trial.id: figures(trial_hours(trial, now)) for trial in job.trials}
    table = trial_rate.table
    estimate: dict[str, Any] = {
        "estimate": True,
        "currency": table.currency if table else "USD",
        "region": region,
        "per_trial_hour": _money(trial_rate.per_hour) if trial_rate.per_hour is not None else None,
        "source": table.source if table else None,
        "recorded": table.recorded if table else None,
        "prices": trial_rate.citation(),
        "not_known": trial_rate.missing,
        "basis": BASIS,
        "billed": backend != "local",
    }
    if backend == "local":
        estimate["note"] = (
            "ran on the local emulator: what these machines would cost on Vertex AI; nothing was billed"
        )
    return {
        "pools": [dataclasses.asdict(pool) for pool in job_pools],
        **figures(sum(trial_hours(trial, now) for trial in job.trials)),
        "cost_estimate": estimate,
        "trials": by_trial,
    }


def _money(amount: float) -> float:
    return round(amount, 4)
