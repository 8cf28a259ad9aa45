"""The spending gate: `HPT_MAX_COST` marks the plan and refuses a submission the run's reviewers
did not approve in the `vertex` environment (the run's review history, from the fake GitHub API)."""

from __future__ import annotations

import pytest

from scripts.experiments import CompileContext, compile_experiment, load
from scripts.experiments.plan import over_budget, render_plan
from scripts.github.submit_flow import submit_all
from scripts.paths import EXPERIMENTS_FILE
from scripts.vertex.backend import Backend
from tests.fakes.job_service import FakeJobService


def _approval(environment: str, state: str = "approved") -> dict:
    return {"state": state, "environments": [{"id": 1, "name": environment}], "user": {"login": "alice"}}


def test_the_plan_marks_an_experiment_over_the_budget():
    env = {"HPT_MAX_COST": "1"}
    compiled = compile_experiment(
        load(EXPERIMENTS_FILE, env), "horses-humans", CompileContext(env=env, commit="0" * 40, image_tag="t")
    )
    markdown = render_plan(compiled, env=env)
    assert markdown.startswith("### Plan: `horses-humans` (over the budget)")
    assert "**Over the budget**: its worst case, $" in markdown and "exceeds HPT_MAX_COST ($1.00)" in markdown
    assert "(over the budget)" not in render_plan(compiled, env={"HPT_MAX_COST": "1000000"})
    assert over_budget(compiled.experiment, {}) is None


@pytest.fixture
def service(monkeypatch, github_env):
    with FakeJobService() as fake:
        monkeypatch.setenv("HPT_MAX_COST", "1")
        yield fake


@pytest.mark.parametrize(
    ("run_id", "approvals", "submitted"),
    [
        ("", None, False),  # outside a workflow run: never approved
        ("42", [], False),  # an environment without reviewers: nothing in the history
        ("42", [_approval("staging")], False),
        ("42", [_approval("vertex", "rejected")], False),
        ("42", [_approval("vertex")], True),
    ],
)
def test_a_submission_over_the_budget_needs_the_runs_approval(
    github, service, monkeypatch, run_id, approvals, submitted
):
    monkeypatch.setenv("GITHUB_RUN_ID", run_id)
    if approvals is not None:
        github.approvals[42] = approvals
    jobs, ok = submit_all(["horses-humans"], backend=Backend.emulator_at(service.address), pull_request=None)
    assert ok is submitted
    assert len(service.jobs) == (1 if submitted else 0)
    if not submitted:
        (job,) = jobs
        assert job.error.startswith("not submitted: its worst case, $")
        assert "a reviewer must approve this run in the `vertex` environment" in job.error
