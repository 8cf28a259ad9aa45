"""The JOB argument of the commands that act on an existing job: status, cancel, report, compare, promote."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.jobs.names import BARE_ID, JobName, parse_job_name
from scripts.vertex.service import JobService
from scripts.wiring import Wiring

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job",
        metavar="JOB",
        help="projects/P/locations/L/hyperparameterTuningJobs/ID, or a bare ID with --project/--region",
    )
    parser.add_argument("--project", help="project of a bare job ID (default: $GOOGLE_CLOUD_PROJECT)")
    parser.add_argument("--region", help="region of a bare job ID (default: $GOOGLE_CLOUD_REGION)")


def resolve_job_name(
    text: str, project: str | None = None, region: str | None = None, env: Mapping[str, str] | None = None
) -> JobName:
    """A full job name, or a bare id completed with the project and region (flags, then `env`)."""
    parsed = parse_job_name(text)
    if parsed:
        return parsed
    if not BARE_ID.match(text):
        raise UserError(
            f"{text!r} is not a job: give `projects/P/locations/L/hyperparameterTuningJobs/ID` or a bare ID"
        )
    env = env or {}
    project = project or env.get("GOOGLE_CLOUD_PROJECT")
    region = region or env.get("GOOGLE_CLOUD_REGION")
    missing = [flag for flag, value in (("--project", project), ("--region", region)) if not value]
    if missing:
        raise UserError(
            f"job id {text!r} needs {' and '.join(missing)} (or GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_REGION)"
        )
    return JobName(project, region, text)


def job_and_service(args: argparse.Namespace, wiring: Wiring) -> tuple[JobName, JobService]:
    """The job the arguments name, and the JobService of the backend that holds it."""
    name = resolve_job_name(args.job, args.project, args.region, wiring.env)
    return name, JobService(wiring.backend)


def named_job(
    service: JobService, text: str, args: argparse.Namespace, env: Mapping[str, str]
) -> HyperparameterTuningJob:
    """The job a job argument of a command with `--backend` names: locally, a bare id may also be
    found among the state directory's jobs (whatever project and region they were submitted for)."""
    if args.backend == "local" and BARE_ID.match(text) and not (args.project or args.region):
        for job in service.list_jobs("projects/-/locations/-"):
            parsed = parse_job_name(job.name)
            if parsed is not None and parsed.id == text:
                return service.get(str(parsed))
        backend = service.backend
        raise UserError(
            f"no job {text} in the local backend ({backend.state_dir or backend.emulator}): "
            "`python -m scripts list` shows its jobs"
        )
    return service.get(str(resolve_job_name(text, args.project, args.region, env)))
