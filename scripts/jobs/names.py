"""Resource names of tuning jobs and of the custom jobs their trials run as.

A tuning job is `projects/{project}/locations/{location}/hyperparameterTuningJobs/{id}`; the
emulator issues names of the same shape. Each name is parsed here, once, into a `JobName`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Not the GAPIC client's `parse_hyperparameter_tuning_job_path` / `parse_common_location_path`:
# they match `.+?` per segment, so a trial's name would parse as a job whose id is `42/trials/2`
# and a job's name as a parent (tests/scripts/jobs/test_names.py); and importing that client's
# module takes about 1.1 s, against 0.05 s for this one.
_JOB_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/hyperparameterTuningJobs/(?P<id>[^/]+)$"
)
_CUSTOM_JOB_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/customJobs/(?P<id>[^/]+)$"
)
_PARENT = re.compile(r"^projects/[^/]+/locations/[^/]+$")
BARE_ID = re.compile(r"^[A-Za-z0-9_-]+$")

# The console pages of the google-cloud-aiplatform SDK (jobs.py `_dashboard_uri`, console_utils):
# a tuning job and a custom job (a trial runs as one) both live under `training/`.
CONSOLE = (
    "https://console.cloud.google.com/agent-platform/locations/{location}/training/{id}?project={project}"
)


@dataclass(frozen=True)
class JobName:
    """A tuning job's resource name, taken apart."""

    project: str
    location: str
    id: str

    def __str__(self) -> str:
        return f"{self.parent}/hyperparameterTuningJobs/{self.id}"

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    @property
    def console_url(self) -> str:
        """The job's page in the Google Cloud console (meaningful on Vertex AI only)."""
        return CONSOLE.format(location=self.location, id=self.id, project=self.project)


def parse_job_name(name: str) -> JobName | None:
    """The parts of a tuning job's name, or None for text of another shape."""
    match = _JOB_NAME.match(name or "")
    return JobName(match["project"], match["location"], match["id"]) if match else None


def is_parent(text: str) -> bool:
    """Whether `text` is a parent of jobs: `projects/{project}/locations/{location}`."""
    return bool(_PARENT.match(text or ""))


def job_id(name: str) -> str:
    """The id of a tuning job's name (`.../hyperparameterTuningJobs/42` -> `42`); other text as is."""
    parsed = parse_job_name(name)
    return parsed.id if parsed else name


def project_of(name: str) -> str:
    """The project of a tuning job's name, or "" for text of another shape."""
    parsed = parse_job_name(name)
    return parsed.project if parsed else ""


def custom_job_console_url(name: str) -> str | None:
    """The console page of a trial's custom job (`Trial.custom_job`), or None for another shape."""
    match = _CUSTOM_JOB_NAME.match(name or "")
    if match is None:
        return None
    return CONSOLE.format(location=match["location"], id=match["id"], project=match["project"])
