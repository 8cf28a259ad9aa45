"""The submitting job's follow (`scripts.github.follow_flow`): how soon it looks again, against the fake
GitHub and the fake JobService on loopback, with the waits recorded instead of slept."""

from __future__ import annotations

import pytest
from google.cloud.aiplatform_v1 import JobState

from scripts.errors import UserError
from scripts.github.api import GitHubClient
from scripts.github.follow_flow import FIRST_INTERVAL, follow_and_report
from scripts.github.runner import Step
from scripts.vertex.backend import Backend
from tests.fakes.job_service import Script
from tests.scripts.github.verdict_jobs import HIGH, MAIN, tuning_job


def _waits(fake, github, tmp_path, env: dict[str, str]) -> list[float]:
    """The waits between polls while main's job (its trials appearing one read at a time) runs."""
    job = fake.add_job(
        tuning_job(1, MAIN, [], state=JobState.JOB_STATE_PENDING),
        Script(trials=list(tuning_job(0, MAIN, HIGH).trials)),
    )
    client = GitHubClient(github.repository, github.token, github.base_url, comment_settle_seconds=0)
    waits: list[float] = []
    pending = follow_and_report(
        [job.name], Backend.emulator_at(fake.address, tmp_path / "state"), lambda: client, 3, Step(env),
        sleep=waits.append, clock=lambda: sum(waits),
    )  # fmt: skip
    assert pending == []
    return waits


def test_polls_start_at_the_first_interval_and_at_the_variables_seconds_when_set(fake, repo, tmp_path):
    assert _waits(fake, repo, tmp_path, {})[0] == FIRST_INTERVAL
    quick = _waits(fake, repo, tmp_path, {"HPT_FOLLOW_FIRST_POLL_SECONDS": "0.2"})
    assert quick[0] == 0.2 and max(quick) < FIRST_INTERVAL  # the trials keep changing: no growth past it


def test_a_first_poll_that_is_no_number_is_refused_by_name(fake, repo, tmp_path):
    with pytest.raises(UserError, match="HPT_FOLLOW_FIRST_POLL_SECONDS='soon' is not a number of seconds"):
        _waits(fake, repo, tmp_path, {"HPT_FOLLOW_FIRST_POLL_SECONDS": "soon"})
