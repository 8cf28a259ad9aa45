"""Job resource names and the console pages that show them.

A job is `projects/{project}/locations/{location}/hyperparameterTuningJobs/{id}`; the emulator
uses the same shape. Commands accept either that or a bare id with `--project/--region` (or
`GOOGLE_CLOUD_PROJECT` / `GOOGLE_CLOUD_REGION`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from scripts.cli import UserError

_JOB_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/hyperparameterTuningJobs/(?P<id>[^/]+)$"
)
_CUSTOM_JOB_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/customJobs/(?P<id>[^/]+)$"
)
_BARE_ID = re.compile(r"^[A-Za-z0-9_-]+$")

# The console pages of the google-cloud-aiplatform SDK (jobs.py `_dashboard_uri`, console_utils):
# a tuning job and a custom job (a trial runs as one) both live under `training/`.
CONSOLE = (
    "https://console.cloud.google.com/agent-platform/locations/{location}/training/{id}?project={project}"
)


@dataclass(frozen=True)
class JobName:
    project: str
    location: str
    id: str

    def __str__(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/hyperparameterTuningJobs/{self.id}"

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"


def parse_job_name(name: str) -> JobName | None:
    match = _JOB_NAME.match(name)
    return JobName(match["project"], match["location"], match["id"]) if match else None


def resolve_job_name(text: str, project: str | None = None, region: str | None = None) -> JobName:
    """A full job name, or a bare id completed with the project and region (flags, then env)."""
    parsed = parse_job_name(text)
    if parsed:
        return parsed
    if not _BARE_ID.match(text):
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


def job_console_url(name: str) -> str | None:
    """The console page of a tuning job, or None for a name of another shape."""
    parsed = parse_job_name(name)
    if parsed is None:
        return None
    return CONSOLE.format(location=parsed.location, id=parsed.id, project=parsed.project)


def custom_job_console_url(name: str) -> str | None:
    """The console page of a trial's custom job (`Trial.custom_job`)."""
    match = _CUSTOM_JOB_NAME.match(name or "")
    if match is None:
        return None
    return CONSOLE.format(location=match["location"], id=match["id"], project=match["project"])
