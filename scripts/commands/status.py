"""Show a tuning job's state and trials."""

from __future__ import annotations

import argparse
import datetime as dt

from scripts.commands.format_args import add_format_argument
from scripts.commands.job_args import add_job_arguments, job_and_service
from scripts.results.trials import best_trial, final_value, objective
from scripts.vertex.jobjson import to_json
from scripts.vertex.progress import ProgressDisplay
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_job_arguments(parser)
    add_format_argument(
        parser,
        {
            "table": "the job's state and console page, a table of its trials, the best so far",
            "json": "the job (with its trials) as protobuf JSON",
        },
        default="table",
        json_alias=True,
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    name, service = job_and_service(args, wiring)
    job = service.get(str(name))
    if args.format == "json":
        print(to_json(job))
        return 0
    print(f"{job.name} ({job.display_name})")
    url = service.backend.console_url(job.name)
    if url:
        print(url)
    for line in ProgressDisplay.table(job, dt.datetime.now(dt.UTC)):
        print(line)
    best = best_trial(job)
    if best is not None:
        goal = objective(job)
        value = final_value(best, goal.metric_id)
        print(f"best so far: trial {best.id}, {goal.metric_id}={value:.6g} ({goal.goal})")
    if job.error.message:
        wiring.say(f"error: {job.error.message}")
    return 0
