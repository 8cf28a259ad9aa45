"""Compare a tuning job with a baseline job: better, worse, no clear difference, or no baseline.

    python -m scripts compare JOB [BASELINE] --backend local|vertex [--format table|json|markdown]
                              [--project P] [--region R]

BASELINE defaults to the newest SUCCEEDED job of JOB's experiment at another commit
(`scripts.results.confirmation`). The verdict comes from JOB's and BASELINE's completed trials by the
method of `scripts.results.compare` (docs/compare.md says how it was chosen); `delta` is JOB's
best minus BASELINE's. The exit status is 0 whatever the verdict: a gate decides what to do with it.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from scripts.commands.backend_args import add_backend_argument, reading_backend
from scripts.commands.format_args import add_format_argument
from scripts.commands.job_args import named_job
from scripts.jobs import labels, states
from scripts.results.compare import comparison
from scripts.results.compare_text import markdown, table
from scripts.results.confirmation import (
    find_baseline,
    find_confirmations,
    missing_confirmations,
    no_baseline_reason,
    overrides,
    same_trainer,
)
from scripts.vertex.service import JobService

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job",
        metavar="JOB",
        help="projects/P/locations/L/hyperparameterTuningJobs/ID, or a bare ID "
        "(locally; elsewhere with --project/--region)",
    )
    parser.add_argument(
        "baseline",
        metavar="BASELINE",
        nargs="?",
        help="the job to compare with "
        "(default: the newest SUCCEEDED job of JOB's experiment at another commit)",
    )
    add_backend_argument(parser)
    add_format_argument(
        parser,
        {
            "table": "the verdict, the method and its numbers, then each side's best, parameters and cost",
            "json": "verdict, delta, method, evidence, and job/baseline: best_value, best_parameters, "
            "job, commit, cost",
            "markdown": "the same as a pull-request comment section",
        },
        default="table",
    )
    parser.add_argument("--project", help="project of a bare job ID (default: $GOOGLE_CLOUD_PROJECT)")
    parser.add_argument("--region", help="region of a bare job ID (default: $GOOGLE_CLOUD_REGION)")


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    with reading_backend(args.backend, wiring.backend) as backend:
        service = JobService(backend)
        job = named_job(service, args.job, args, wiring.env)
        named = named_job(service, args.baseline, args, wiring.env) if args.baseline else None
        # The baseline and the confirmations are among these.
        succeeded = service.experiment_jobs(job, [states.SUCCEEDED])
        baseline = named if named is not None else find_baseline(job, succeeded)
        confirmations = find_confirmations(job, baseline, succeeded)
        data = comparison(
            job,
            baseline,
            backend=args.backend,
            no_baseline_reason=no_baseline_reason(job),
            confirmations=confirmations,
        )
        if args.format == "json":
            print(json.dumps(data, indent=2))
        elif args.format == "markdown":
            print(markdown(data))
        else:
            print(table(data))
            if (
                baseline is not None
                and data["method_name"] != "paired-confirmation"
                and not same_trainer(job, baseline)
            ):
                _confirm_hint(missing_confirmations(job, baseline, confirmations), args.backend, wiring.say)
    return 0


def _confirm_hint(
    missing: Sequence[tuple[HyperparameterTuningJob, HyperparameterTuningJob]],
    backend: str,
    say: Callable[[str], None],
) -> None:
    """On stderr, the `run` lines that make the missing confirmation jobs, by trainer commit: a
    verdict from the studies alone mixes the trainers with the luck of two small searches."""
    if not missing:
        return
    say(
        "\nTo judge the two trainers past the noise of the searches, train each best configuration again "
        "with both trainers (docs/compare.md), then compare again:"
    )
    by_commit: dict[str, list[str]] = {}
    for config, trainer in missing:
        commit = trainer.labels.get(labels.COMMIT, "")
        experiment = config.labels.get(labels.EXPERIMENT, config.display_name)
        line = ["python", "-m", "scripts", "run", experiment, "--backend", backend, "--commit", commit]
        line += [part for value in overrides(config, trainer) for part in ("--set", value)]
        by_commit.setdefault(commit, []).append(shlex.join(line))
    for commit, lines in by_commit.items():
        # The local backend runs the working tree's trainer, whatever `--commit` says.
        checkout = f" (git checkout {commit[:12]} first)" if backend == "local" else ""
        say(f"  with the trainer of {commit[:12]}{checkout}:")
        say("\n".join(f"    {line}" for line in lines))
