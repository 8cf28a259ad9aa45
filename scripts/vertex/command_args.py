"""Arguments shared by the commands that act on an existing job: status, cancel, report."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scripts.vertex.names import JobName, resolve_job_name

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


def job_and_client(args: argparse.Namespace) -> tuple[JobName, JobServiceClient]:
    """The job the arguments name, and a client for its region (or for the emulator)."""
    from scripts.vertex.client import job_service_client

    name = resolve_job_name(args.job, args.project, args.region)
    return name, job_service_client(name.location)
