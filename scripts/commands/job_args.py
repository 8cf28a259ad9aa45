"""The JOB argument of the commands that act on an existing job: status, cancel, report."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from scripts.errors import UserError
from scripts.jobs.names import BARE_ID, JobName, parse_job_name
from scripts.vertex.backend import Backend

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import JobServiceClient


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job",
        metavar="JOB",
        help="projects/P/locations/L/hyperparameterTuningJobs/ID, or a bare ID with --project/--region",
    )
    parser.add_argument("--project", help="project of a bare job ID (default: $GOOGLE_CLOUD_PROJECT)")
    parser.add_argument("--region", help="region of a bare job ID (default: $GOOGLE_CLOUD_REGION)")


def resolve_job_name(text: str, project: str | None = None, region: str | None = None) -> JobName:
    """A full job name, or a bare id completed with the project and region (flags, then env)."""
    parsed = parse_job_name(text)
    if parsed:
        return parsed
    if not BARE_ID.match(text):
        raise UserError(
            f"{text!r} is not a job: give `projects/P/locations/L/hyperparameterTuningJobs/ID` or a bare ID"
        )
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
    region = region or os.environ.get("GOOGLE_CLOUD_REGION")
    missing = [flag for flag, value in (("--project", project), ("--region", region)) if not value]
    if missing:
        raise UserError(
            f"job id {text!r} needs {' and '.join(missing)} (or GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_REGION)"
        )
    return JobName(project, region, text)


def job_and_client(args: argparse.Namespace) -> tuple[JobName, Backend, JobServiceClient]:
    """The job the arguments name, the backend that holds it, and a client for the job's region."""
    name = resolve_job_name(args.job, args.project, args.region)
    backend = Backend.from_environment()
    return name, backend, backend.job_service_client(name.location)
