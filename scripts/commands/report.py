"""Summarize a tuning job: best trial, trial table, chart (markdown or json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scripts.vertex.command_args import add_job_arguments, job_and_client

HELP = "Summarize a tuning job: best trial, trial table, chart (markdown or json)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_job_arguments(parser)
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--output", type=Path, help="write the summary to this file instead of stdout")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="most characters of Markdown (default: GitHub's comment limit, 65536)",
    )


def run(args: argparse.Namespace) -> int:
    from scripts.results.files import run_dir
    from scripts.results.markdown import COMMENT_LIMIT, render_summary
    from scripts.results.summary import summary
    from scripts.vertex.client import emulator_host
    from scripts.vertex.follow import get_job

    name, client = job_and_client(args)
    job = get_job(client, str(name))
    # An emulator job's summary links its local run directory, when this machine has it.
    local = run_dir(job) if emulator_host() and run_dir(job).is_dir() else None
    data = summary(job, run_dir=local)
    if args.format == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = render_summary(data, limit=args.limit or COMMENT_LIMIT)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
