"""Cancel a tuning job (its running trials stop; finished trials are kept)."""

from __future__ import annotations

import argparse

from scripts.commands.job_args import add_job_arguments, job_and_service
from scripts.jobs import states
from scripts.vertex.service import PollSchedule, is_terminal
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_job_arguments(parser)
    parser.add_argument("--wait", action="store_true", help="wait until the job is CANCELLED")


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    name, service = job_and_service(args, wiring)
    job = service.get(str(name))
    if is_terminal(job):
        # Cancelling an ended job is an error on Vertex (FAILED_PRECONDITION); say so plainly instead.
        wiring.say(f"{name} already ended: {states.short(job.state.name)}")
        return 0
    service.cancel(str(name))
    wiring.say(f"cancellation requested for {name}")
    if args.wait:
        job = service.follow(str(name), schedule=PollSchedule(initial=2.0, maximum=15.0))
        wiring.say(f"{name}: {states.short(job.state.name)}")
    return 0
