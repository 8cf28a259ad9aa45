"""List a backend's tuning jobs, newest first (filter by experiment and state).

    python -m scripts list [--backend local|vertex] [--experiment NAME] [--state STATE ...]
                           [--limit N] [--format table|json] [--project P] [--region R]

The filter goes to the server (`ListHyperparameterTuningJobs`, `labels.hpt-experiment="..."`
and `state="JOB_STATE_..."` terms, the states ORed): Vertex AI and the emulator read the same
syntax. `--backend local` lists every job of the local state directory (the parent
`projects/-/locations/-`, unless --project/--region narrow it) without running any of them;
`--backend vertex` lists one project and region: --project/--region, else
`GOOGLE_CLOUD_PROJECT`/`GOOGLE_CLOUD_REGION`, else the experiments file's `defaults`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from scripts.commands.backend_args import add_backend_argument, local_backend
from scripts.commands.experiment_args import add_file_argument
from scripts.commands.format_args import add_format_argument
from scripts.emulator.contract import DATABASE_FILE
from scripts.errors import UserError, did_you_mean
from scripts.experiments import InvalidExperiments, load
from scripts.experiments.model import ExperimentsFile, Settings
from scripts.jobs import labels, states
from scripts.jobs.names import job_id
from scripts.results.trials import count_outcomes
from scripts.wiring import Wiring

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.vertex.backend import Backend

DEFAULT_LIMIT = 20


def _state(text: str) -> str:
    name = states.parse(text)
    if name is None:
        known = [states.short(state).lower() for state in states.ALL]
        hint = did_you_mean(text.lower(), known)
        raise argparse.ArgumentTypeError(f"unknown state {text!r}{hint} (known: {', '.join(known)})")
    return name


def _limit(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("the limit is 0 (every job) or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_backend_argument(parser, default="local")
    parser.add_argument("--experiment", metavar="NAME", help="only the jobs of this experiment (its label)")
    parser.add_argument(
        "--state",
        dest="states",
        type=_state,
        nargs="+",
        action="extend",
        default=[],
        metavar="STATE",
        help="only jobs in these states (any of them), e.g. running succeeded; repeatable",
    )
    parser.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"the newest N jobs (default {DEFAULT_LIMIT}; 0: all)",
    )
    add_format_argument(
        parser,
        {
            "table": "one aligned row per job",
            "json": "a JSON array: name, id, experiment, state, trials, times, console_url of each job",
        },
        default="table",
    )
    parser.add_argument(
        "--project",
        help="vertex default: $GOOGLE_CLOUD_PROJECT, else the file's; local default: every project",
    )
    parser.add_argument(
        "--region", help="vertex default: $GOOGLE_CLOUD_REGION, else the file's; local default: every region"
    )
    add_file_argument(parser)


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    configured, env = wiring.backend, wiring.env
    if args.backend == "vertex":
        parent = _vertex_parent(args, env)
        jobs = _jobs(configured, parent, args)
        return _print(args, jobs, configured, f"{configured.describe()} ({parent})", wiring)
    parent = f"projects/{args.project or '-'}/locations/{args.region or '-'}"
    if not configured.is_emulator and not (wiring.state_dir / DATABASE_FILE).exists():
        # Nothing ran here yet: no state directory to read, and none to create just to say so.
        return _print(args, [], configured, f"the local backend ({wiring.state_dir})", wiring)
    with local_backend(configured, resume=False) as backend:
        jobs = _jobs(backend, parent, args)
        where = f"the local backend ({backend.state_dir or backend.emulator})"
        return _print(args, jobs, backend, where, wiring)


def _jobs(backend: Backend, parent: str, args: argparse.Namespace) -> list[HyperparameterTuningJob]:
    """The jobs under `parent` of the experiment and states asked for, newest first."""
    # The job client (grpc, then the Vertex AI types): not for --help, nor for a machine that ran nothing.
    from scripts.vertex.service import JobService

    return JobService(backend).list_jobs(parent, args.experiment, args.states)


def _vertex_parent(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    """projects/P/locations/L from the flags, the environment, or the experiments file's defaults."""
    project = args.project or env.get("GOOGLE_CLOUD_PROJECT")
    region = args.region or env.get("GOOGLE_CLOUD_REGION")
    if not (project and region):
        experiments = _experiments(args.file, env)
        defaults = experiments.defaults if experiments else Settings()
        project = project or defaults.project
        region = region or defaults.region
    if not (project and region):
        raise UserError("list --backend vertex needs --project and --region (or GOOGLE_CLOUD_PROJECT/REGION)")
    return f"projects/{project}/locations/{region}"


def _experiments(path: str, env: Mapping[str, str]) -> ExperimentsFile | None:
    """The experiments file, for its defaults and names; None when it is not valid."""
    try:
        return load(path, env=env)
    except (InvalidExperiments, OSError):
        return None


def job_row(job: HyperparameterTuningJob, backend: Backend) -> dict:
    """What `list` shows of a job (the JSON object; the table shows the same)."""
    counts = count_outcomes(job)
    return {
        "name": job.name,
        "id": job_id(job.name),
        "display_name": job.display_name,
        "experiment": job.labels.get(labels.EXPERIMENT, ""),
        "state": states.short(job.state.name),
        "trials": {
            "done": counts["total"] - counts["active"],
            "total": job.max_trial_count,
            "succeeded": counts["succeeded"],
            "running": counts["active"],
        },
        "create_time": _time(job, "create_time"),
        "end_time": _time(job, "end_time"),
        "console_url": backend.console_url(job.name),
    }


def _time(job: HyperparameterTuningJob, field: str) -> str | None:
    if field not in job:
        return None
    return getattr(job, field).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _print(
    args: argparse.Namespace,
    jobs: list[HyperparameterTuningJob],
    backend: Backend,
    where: str,
    wiring: Wiring,
) -> int:
    total = len(jobs)
    if args.limit:
        jobs = jobs[: args.limit]
    rows = [job_row(job, backend) for job in jobs]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for line in table(rows):
            print(line)
    if total > len(rows):
        wiring.say(f"({total - len(rows)} older jobs not shown; --limit 0 shows all)")
    if not rows:
        wiring.say(_nothing(args, where, wiring.env))
    return 0


def table(rows: list[dict]) -> list[str]:
    """Aligned columns: id, experiment, state, trials done/total, created (UTC), console URL."""
    if not rows:
        return []
    header = ("id", "experiment", "state", "trials", "created (UTC)", "console")
    cells = [header] + [
        (
            row["id"],
            row["experiment"] or "-",
            row["state"],
            f"{row['trials']['done']}/{row['trials']['total']}",
            (row["create_time"] or "").replace("T", " ").removesuffix("Z")[:16],
            row["console_url"] or "",
        )
        for row in rows
    ]
    if not any(row["console_url"] for row in rows):
        cells = [line[:-1] for line in cells]  # an emulator's jobs have no console page
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]


def _nothing(args: argparse.Namespace, where: str, env: Mapping[str, str]) -> str:
    """What to say when no job matched, with a hint when the experiment name is not in the file."""
    text = f"no jobs on {where}"
    if args.experiment:
        text += f" of experiment {args.experiment!r}"
        experiments = _experiments(args.file, env)
        names = experiments.names if experiments else []
        if names and args.experiment not in names:
            text += did_you_mean(args.experiment, names)
    if args.states:
        text += " in state " + " or ".join(states.short(name) for name in args.states)
    return text
