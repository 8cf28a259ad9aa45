"""Compare a tuning job with a baseline job: better, worse, no clear difference, or no baseline.

    python -m scripts compare JOB [BASELINE] --backend local|vertex [--format table|json|markdown]
                              [--project P] [--region R]

BASELINE defaults to the newest SUCCEEDED job of JOB's experiment at another commit
(`scripts.results.baseline`). The verdict comes from JOB's and BASELINE's completed trials by the
method of `scripts.results.compare` (docs/compare.md says how it was chosen); `delta` is JOB's
best minus BASELINE's. The exit status is 0 whatever the verdict: a gate decides what to do with it.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scripts.jobs.names import JobName
    from scripts.vertex.backend import Backend
    from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scripts.commands.backend_args import add_backend_argument
    from scripts.commands.format_args import add_format_argument

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
    from scripts.commands.backend_args import local_backend

    if args.backend == "vertex":
        return _compare(args, wiring.backend, wiring.env)
    with local_backend(wiring.backend, resume=False) as backend:
        return _compare(args, backend, wiring.env)


def _compare(args: argparse.Namespace, backend: Backend, env: Mapping[str, str]) -> int:
    from scripts.results.baseline import find_baseline, no_baseline_reason
    from scripts.results.compare import comparison
    from scripts.vertex.service import JobService

    service = JobService(backend)
    job = service.get(str(_job_name(args, args.job, backend, env)))
    if args.baseline:
        baseline = service.get(str(_job_name(args, args.baseline, backend, env)))
    else:
        baseline = find_baseline(backend, job)
    data = comparison(job, baseline, backend=args.backend, no_baseline_reason=no_baseline_reason(job))
    if args.format == "json":
        print(json.dumps(data, indent=2))
    elif args.format == "markdown":
        print(markdown(data))
    else:
        print(table(data))
    return 0


def _job_name(args: argparse.Namespace, text: str, backend: Backend, env: Mapping[str, str]) -> JobName:
    """A job argument; locally a bare id may also be found among the state directory's jobs."""
    from scripts.commands.job_args import resolve_job_name
    from scripts.errors import UserError
    from scripts.jobs.names import BARE_ID, parse_job_name

    if args.backend == "local" and BARE_ID.match(text) and not (args.project or args.region):
        from scripts.commands.list import list_jobs

        for job in list_jobs(backend, "projects/-/locations/-"):
            parsed = parse_job_name(job.name)
            if parsed is not None and parsed.id == text:
                return parsed
        raise UserError(
            f"no job {text} in the local backend ({backend.state_dir or backend.emulator}): "
            "`python -m scripts list` shows its jobs"
        )
    return resolve_job_name(text, args.project, args.region, env)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.6g}"


def _rows(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, JOB's, BASELINE's) for each line of the side-by-side table."""
    job, baseline = data["job"], data["baseline"] or {}

    def both(render) -> tuple[str, str]:
        return render(job), render(baseline) if baseline else "-"

    def parameters(side: dict) -> str:
        return ", ".join(f"{key}={_number(value)}" for key, value in side["best_parameters"].items()) or "-"

    def cost(side: dict) -> str:
        amount = "-" if side["cost"] is None else f"{side['cost']:.2f} {side['currency']}"
        return amount if side["cost_billed"] else f"{amount} (estimate; not billed)"

    rows = [
        ("job", *both(lambda side: side["job"])),
        ("commit", *both(lambda side: (side["commit"] or "-")[:12])),
        ("state", *both(lambda side: side["state"])),
        (f"best {data['metric']}", *both(lambda side: _number(side["best_value"]))),
        ("best trial", *both(lambda side: _number(side["best_trial"]))),
        ("best parameters", *both(parameters)),
        ("completed trials", *both(lambda side: f"{side['completed_trials']} of {side['trials']}")),
        ("accelerator hours", *both(lambda side: _number(side["accelerator_hours"]))),
        ("cost", *both(cost)),
    ]
    return rows


def _evidence(data: dict[str, Any]) -> str:
    """The numbers behind the verdict, in one line."""
    evidence = data["evidence"]
    if evidence.get("test") == "mann-whitney-u":
        text = f"p = {evidence['p_value']:.4g} (threshold {evidence['threshold']:g}), U = {evidence['u']:g}"
        return text + (f"; {evidence['note']}" if "note" in evidence else "")
    if evidence.get("test") == "bootstrap-best":
        return (
            f"better in {evidence['share_better']:.1%}, worse in {evidence['share_worse']:.1%} of "
            f"{evidence['samples']} resamples (threshold {evidence['threshold']:.1%})"
        )
    return ""


def table(data: dict[str, Any]) -> str:
    """Aligned text: the verdict and delta, the method, its numbers, the two sides."""
    lines = [f"verdict: {data['verdict']}  (delta {_signed(data['delta'])}, {data['metric']} {data['goal']})"]
    lines.append(f"method: {data['method']}")
    evidence = _evidence(data)
    if evidence:
        lines.append(f"evidence: {evidence}")
    rows = [("", "JOB", "BASELINE"), *_rows(data)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def markdown(data: dict[str, Any]) -> str:
    """A pull-request comment section: the verdict in bold, the method and numbers, the two sides."""
    from scripts import escaping

    lines = [
        f"**Verdict: {data['verdict']}** — best {escaping.code(data['metric'])} "
        f"{_signed(data['delta'])} against the baseline ({data['goal']})",
        "",
        escaping.text(data["method"]) + (f" {escaping.text(_evidence(data))}." if _evidence(data) else ""),
        "",
        "| | this job | baseline |",
        "|---|---|---|",
    ]
    for what, job, baseline in _rows(data):
        lines.append(f"| {escaping.text(what)} | {escaping.text(job)} | {escaping.text(baseline)} |")
    return "\n".join(lines)
