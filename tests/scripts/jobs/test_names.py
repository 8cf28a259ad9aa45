"""Resource names: a tuning job's name, its parent, and what is neither.

Each segment is one path segment: the GAPIC client's own parsers (`.+?` per segment) would read
a trial's name as a job and a job's name as a parent, which is why `scripts.jobs.names` keeps
its own patterns."""

from __future__ import annotations

import pytest

from scripts.commands.job_args import resolve_job_name
from scripts.errors import UserError
from scripts.jobs.names import custom_job_console_url, is_parent, job_id, parse_job_name, project_of

JOB = "projects/p-1/locations/us-east1/hyperparameterTuningJobs/42"


def test_a_job_name_is_taken_apart_and_put_back_together():
    parsed = parse_job_name(JOB)
    assert (parsed.project, parsed.location, parsed.id) == ("p-1", "us-east1", "42")
    assert str(parsed) == JOB and parsed.parent == "projects/p-1/locations/us-east1"
    assert job_id(JOB) == "42" and project_of(JOB) == "p-1"
    assert job_id("42") == "42" and project_of("42") == ""


@pytest.mark.parametrize(
    "text",
    [
        f"{JOB}/trials/2",  # a trial of the job
        "projects/p/x/locations/us-east1/hyperparameterTuningJobs/42",
        "projects/p/locations/l/customJobs/1",
        "",
    ],
)
def test_text_of_another_shape_is_no_job_and_the_user_is_told(text):
    assert parse_job_name(text) is None
    with pytest.raises(
        UserError, match="is not a job: give `projects/P/locations/L/hyperparameterTuningJobs/ID`"
    ):
        resolve_job_name(text)


def test_a_parent_is_a_project_and_a_location_and_nothing_below():
    assert is_parent("projects/p-1/locations/us-east1")
    assert not is_parent(JOB) and not is_parent("projects/p-1") and not is_parent("")


def test_a_trials_custom_job_has_a_console_page_and_other_text_none():
    assert custom_job_console_url("projects/123/locations/us-east1/customJobs/9") == (
        "https://console.cloud.google.com/agent-platform/locations/us-east1/training/9?project=123"
    )
    assert custom_job_console_url("projects/123/locations/us-east1/customJobs/9/x") is None
