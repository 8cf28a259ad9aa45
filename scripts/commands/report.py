"""Summarize a tuning job: best trial, trial table, chart (markdown or json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scripts.commands.format_args import add_format_argument
from scripts.commands.job_args import add_job_arguments, job_and_service
from scripts.results.markdown import COMMENT_LIMIT, render_summary
from scripts.results.summary import summary
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_job_arguments(parser)
    add_format_argument(
        parser,
        {
            "markdown": "the summary as the pull-request comment shows it (best trial, trial table, links)",
            "json": "the summary's data, as summary.json holds it (every trial, counts, links)",
        },
        default="markdown",
    )
    parser.add_argument("--output", type=Path, help="write the summary to this file instead of stdout")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="most characters of Markdown (default: GitHub's comment limit, 65536)",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    name, service = job_and_service(args, wiring)
    job = service.get(str(name))
    backend = service.backend
    data = summary(job, backend=backend.where(job), run_dir=backend.linked_run_dir(job.name))
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
