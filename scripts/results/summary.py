"""A tuning job summarized as plain JSON data: the single source for the Markdown, too.

`summary(job)` is what `report --format json` prints and what `summary.json` holds; its keys are
a stable interface for other tools (the pull-request comment, dashboards).

What the job used (`usage`): `accelerator_hours`, `machine_hours` and `cost` in total and in each
trial's record, the worker `pools` they were counted on, and `cost_estimate` (an estimate: the
region, the price per trial-hour, the prices' `source` and `recorded` date, or why the cost is
`not_known`; `billed` is false for a local run). A trial's hours run from its `start_time` to its
`end_time` (to now while it runs) on every replica of every worker pool of the job's
`trial_job_spec`; its cost is those hours at the list prices of the job's region
(`scripts.pricing`). The local emulator runs the same job on this machine: its figures are what the
job's machines would have cost on Vertex AI, and nothing was billed.

What the study found (`scripts.results.analysis`, from the trials alone): `importance` per
parameter (non-negative, summing to 1; None for each when fewer than 3 trials completed),
`best_region` per parameter (the interval, or the values, the top trials span), and `analysis`
(the top trials, the advice lines, and a `caveat` when too few trials completed to say).
`pictures` names the pictures of the study found in the run directory (`scripts.results.plots`).

Where to look at the job (`links`): console pages on Vertex AI; locally, the run directory, the
trials' outputs and their TensorBoard logs. A trial writes its logs to `AIP_TENSORBOARD_LOG_DIR`,
which the emulator sets, as Vertex AI does, to `<base output directory>/<trial id>/logs/` (on disk:
`<state>/gcs/BUCKET/PATH/<trial id>/logs/`, `scripts.emulator.contract.output_directory`), and
keeps. The job's base output directory holds one subdirectory per trial, so it is the logdir that
shows every trial of the job side by side (TensorBoard names each run by its path: `3/logs/train`,
`3/logs/validation`). On Vertex AI the logs stay in Cloud Storage, or stream to the experiment's
`tensorboard` instance: the console shows them, and no local line is printed.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.jobs import fidelity
from scripts.jobs.names import job_id, parse_job_name
from scripts.pricing.table import Pool, PriceTable, rate, tables
from scripts.results import trials as trial_results
from scripts.results.analysis import analyze
from scripts.results.plots import picture_names

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Trial

# Each trial's logs, under its own directory of the job's base output directory.
TRIAL_LOGS = "logs"


@dataclass(frozen=True)
class Where:
    """Where one job ran and where to look at it, as plain values: what a summary needs of the
    backend that ran the job. The backend hands it over (`scripts.vertex.backend.Backend.where`),
    so that results never call back up into vertex."""

    name: str  # "local" or "vertex"
    local_state_dir: Path  # where a refreshed price table is cached (`prices --refresh`)
    console_url: str | None = None  # the job's console page (Vertex AI only)
    trial_outputs: str = ""  # the trials' base output directory: gs://... on Vertex AI, on disk locally
    trial_console_urls: Mapping[str, str] = field(default_factory=dict)  # custom job -> its console page


def _timestamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


# `"field" in message` is protobuf presence: whether an optional message field (a time, the
# final measurement, the error) was set at all.


def trial_record(
    trial: Trial,
    metric_id: str,
    output_prefix: str,
    backend: Where,
    used: dict[str, Any] | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": trial.id,
        "state": trial.state.name,
        "outcome": trial_results.outcome(trial, metric_id),
        "parameters": {p.parameter_id: trial_results.parameter_value(p) for p in trial.parameters},
        "value": trial_results.final_value(trial, metric_id),
        "step": int(trial.final_measurement.step_count) if "final_measurement" in trial else None,
        "seconds": trial_results.run_seconds(trial),
        **(used or {}),
    }
    if trial.infeasible_reason:
        record["reason"] = trial.infeasible_reason
    if output_prefix:
        record["output"] = f"{output_prefix.rstrip('/')}/{trial.id}/"
    if trial.custom_job:
        record["custom_job"] = trial.custom_job
        console = backend.trial_console_urls.get(trial.custom_job)
        if console:
            record["console"] = console
    return record


def links(job: HyperparameterTuningJob, *, backend: Where, run_dir: Path | None = None) -> dict[str, str]:
    """Where to look at the job: console pages on Vertex, the emulator's own paths locally."""
    found: dict[str, str] = {}
    if backend.console_url:
        found["console"] = backend.console_url
    elif run_dir is not None:
        found["run"] = str(run_dir)
    if backend.trial_outputs:
        found["outputs"] = backend.trial_outputs
    logs = tensorboard_logdir(job, backend)  # a local job's trials' TensorBoard logs, side by side
    if logs:
        found["tensorboard"] = logs
    return found


def tensorboard_logdir(job: HyperparameterTuningJob, backend: Where) -> str | None:
    """The local directory whose subdirectories are the job's trials, when a trial wrote logs there;
    None on Vertex AI, for a job without an output directory, or when no trial wrote any."""
    if backend.name != "local" or not backend.trial_outputs:
        return None
    root = Path(backend.trial_outputs)
    if any(_holds_files(root / trial.id / TRIAL_LOGS) for trial in job.trials):
        return str(root)
    return None


def tensorboard_command(directory: str) -> str:
    """The line to copy: `tensorboard --logdir DIR`, quoted for a shell."""
    return f"tensorboard --logdir {shlex.quote(directory)}"


def _holds_files(directory: Path) -> bool:
    return directory.is_dir() and any(path.is_file() for path in directory.rglob("*"))


def _pictures(run_dir: Path | None) -> list[str]:
    """The pictures of the study already drawn in the run directory, by file name."""
    if run_dir is None:
        return []
    return [name for name in picture_names() if (run_dir / name).is_file()]


def summary(
    job: HyperparameterTuningJob,
    *,
    backend: Where,
    run_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The job as JSON-ready data; `backend`: where it ran (`Backend.where(job)`; it decides the links)."""
    goal = trial_results.objective(job)
    prefix = backend.trial_outputs
    used = usage(job, backend=backend.name, now=now, price_tables=tables(backend.local_state_dir))
    records = {
        t.id: trial_record(t, goal.metric_id, prefix, backend, used["trials"].get(t.id)) for t in job.trials
    }
    ranked_ids = [t.id for t in trial_results.ranked(job)]
    unranked = sorted((i for i in records if i not in set(ranked_ids)), key=trial_results.trial_sort_key)
    best = records[ranked_ids[0]] if ranked_ids else None
    found = analyze(job)
    return {
        "job": job.name,
        "id": job_id(job.name),
        "display_name": job.display_name,
        "state": job.state.name,
        "backend": backend.name,
        "metric": {"id": goal.metric_id, "goal": goal.goal},
        "best_trial": best,
        "counts": {**trial_results.count_outcomes(job), "max_trial_count": job.max_trial_count},
        "created": _timestamp(job.create_time if "create_time" in job else None),
        "started": _timestamp(job.start_time if "start_time" in job else None),
        "ended": _timestamp(job.end_time if "end_time" in job else None),
        "duration_seconds": trial_results.run_seconds(job, now or dt.datetime.now(dt.UTC)),
        # What the job used, priced as an estimate (`usage`).
        "accelerator_hours": used["accelerator_hours"],
        "machine_hours": used["machine_hours"],
        "cost": used["cost"],
        "cost_estimate": used["cost_estimate"],
        "pools": used["pools"],
        "error": job.error.message if "error" in job and job.error.message else None,
        "labels": dict(sorted(job.labels.items())),  # a map field: its order is not kept
        "links": links(job, backend=backend, run_dir=run_dir),
        # What the emulator ran without its effect (machine types, service account...): said out loud.
        "not_emulated": fidelity.not_emulated(job) if backend.name == "local" else [],
        # What the study found, from the trials alone (scripts.results.analysis).
        "importance": found["importance"],
        "best_region": found["best_region"],
        "analysis": found["analysis"],
        "pictures": _pictures(run_dir),
        # Best first, then the trials without a value in id order.
        "trials": [records[i] for i in ranked_ids + unranked],
    }


# -- what the job used ------------------------------------------------------------------------------


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
    return (trial_results.run_seconds(trial, now) or 0.0) / 3600


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
        "pools": [asdict(pool) for pool in job_pools],
        **figures(sum(trial_hours(trial, now) for trial in job.trials)),
        "cost_estimate": estimate,
        "trials": by_trial,
    }


def _money(amount: float) -> float:
    return round(amount, 4)
