"""Fixtures: a fake GitHub API on loopback and the environment our commands read."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.fakes.job_service import FakeJobService
from tests.scripts.github.fake_github import FakeGitHub
from tests.scripts.github.verdict_jobs import arrange


@pytest.fixture(autouse=True)
def no_comment_settling(monkeypatch):
    """Comment writers read their comment back at once instead of after a pause."""
    monkeypatch.setenv("HPT_COMMENT_SETTLE_SECONDS", "0")


@pytest.fixture(autouse=True)
def quick_follow_polls(monkeypatch):
    """A submitting job that follows its jobs looks again after 0.2 s, not 5 s: the emulator's and the
    fake's jobs here end within seconds."""
    monkeypatch.setenv("HPT_FOLLOW_FIRST_POLL_SECONDS", "0.2")


@pytest.fixture
def github(httpserver) -> FakeGitHub:
    fake = FakeGitHub(base_url=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    return fake


@pytest.fixture
def github_env(github, monkeypatch, tmp_path) -> dict[str, str]:
    """The variables a GitHub Actions step sees, pointing at the fake API."""
    env = {
        "GITHUB_API_URL": github.base_url,
        "GITHUB_TOKEN": github.token,
        "GITHUB_REPOSITORY": github.repository,
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
        # The repository variable a workflow needs before it submits anything (the spending gate);
        # above the worst case of every experiment these tests submit at the shipped prices.
        "HPT_MAX_COST": "10000",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def fake() -> Iterator[FakeJobService]:
    """The fake JobService on loopback, holding the jobs a test adds."""
    with FakeJobService() as service:
        yield service


@pytest.fixture
def repo(github) -> FakeGitHub:
    """The fake GitHub with pull requests #5 and #6 on main (`verdict_jobs.arrange`)."""
    return arrange(github)
