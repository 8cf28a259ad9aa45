"""Cancel a tuning job (its running trials stop; finished trials are kept)."""

from __future__ import annotations

import argparse
import sys

from scripts.commands.job_args import add_job_arguments, job_and_client
from scripts.jobs import states


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_job_arguments(parser)
    parser.add_argument("--wait", action="store_true", help="wait until the job is CANCELLED")


def run(args: argparse.Namespace) -> int:
    from scripts.vertex.follow import PollSchedule, cancel_job, follow, get_job, is_terminal

    name, _, client = job_and_client(args)
    job = get_job(client, str(name))
    if is_terminal(job):
        # Cancelling an ended job is an error on Vertex (FAILED_PRECONDITION); say so plainly instead.
        print(f"{name} already ended: {states.short(job.state.name)}", file=sys.stderr)
        return 0
    cancel_job(client, str(name))
    print(f"cancellation requested for {name}", file=sys.stderr)
    if args.wait:
        job = follow(client, str(name), schedule=PollSchedule(initial=2.0, maximum=15.0))
        print(f"{name}: {states.short(job.state.name)}", file=sys.stderr)
    return 0
