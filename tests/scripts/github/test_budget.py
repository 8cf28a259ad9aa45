"""The spending gate: `HPT_MAX_COST` marks the plan and refuses a submission the run's reviewers
did not approve in the `vertex` environment (the run's review history, from the fake GitHub API);
without a cap nothing is submitted at all, approved or not; boot disks count in the worst case."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scripts.experiments import CompileContext, compile_experiment, load
from scripts.experiments.costs import budget, worst_case
from scripts.experiments.loader import load_text
from scripts.experiments.plan import render_plan
from scripts.github.sticky_comment import marker, sections
from scripts.github.submit_flow import submit_all
from scripts.paths import EXPERIMENTS_FILE
from scripts.vertex.backend import Backend
from tests.fakes.job_service import FakeJobService
from tests.scripts.github import payloads
from tests.scripts.github.project import PROJECT, REGION, make_history


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


@pytest.mark.parametrize("cap", [None, "", "inf", "a lot"])
def test_the_plan_says_plainly_that_nothing_is_submitted_without_a_cap(cap):
    env = {} if cap is None else {"HPT_MAX_COST": cap}
    compiled = compile_experiment(
        load(EXPERIMENTS_FILE, env), "horses-humans", CompileContext(env=env, commit="0" * 40, image_tag="t")
    )
    markdown = render_plan(compiled, env=env)
    assert markdown.startswith("### Plan: `horses-humans` (no spending cap)")
    assert (
        "- **Merging submits nothing until `HPT_MAX_COST` is set**, nor does `/hpt run`, approved or not"
        in markdown
    )
    assert "gh variable set HPT_MAX_COST" in markdown and "Over the budget" not in markdown
    assert budget(compiled.experiment, env).refusal is not None


def test_a_huge_boot_disk_counts_in_the_worst_case(monkeypatch, tmp_path):
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path))  # the shipped price table, no cached refresh
    text = EXPERIMENTS_FILE.read_text()
    pool = "        accelerator: {type: NVIDIA_TESLA_V100, count: 2}\n        replica_count: 1\n"
    assert text.count(pool) >= 1
    huge = text.replace(pool, pool + "        boot_disk: {type: pd-ssd, size_gb: 64000}\n", 1)
    default = load(EXPERIMENTS_FILE, {}).experiments["horses-humans"]
    bigger = load_text(huge, "experiments.yaml", {}).experiments["horses-humans"]
    # 6 trials x 168 h x 64,000 GB x $0.17 per GB-month / 730 h: about $15,000 more than 100 GB
    added = worst_case(bigger).cost - worst_case(default).cost
    assert added == pytest.approx(6 * 168 * (64_000 - 100) * 0.17 / 730)
    env = {"HPT_MAX_COST": "7000", "HPT_STATE_DIR": str(tmp_path)}
    assert budget(default, env).refusal is None
    assert budget(bigger, env).refusal.startswith("its worst case, $20,993.22, exceeds HPT_MAX_COST")


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
    backend = Backend.emulator_at(service.address)
    jobs, ok = submit_all(["horses-humans"], env=os.environ, backend=backend, pull_request=None)
    assert ok is submitted
    assert len(service.jobs) == (1 if submitted else 0)
    if not submitted:
        (job,) = jobs
        assert job.error.startswith("not submitted: its worst case, $")
        assert "a reviewer must approve this run in the `vertex` environment" in job.error


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return make_history(tmp_path_factory.mktemp("clone"))


def _submit_step(history, github, github_env, tmp_path, address: str, **env: str):
    """`python -m scripts github submit` for the merge's push, as experiments.yml runs it."""
    github.add_pull(5, history.head, history.base, merge_sha=history.merge)
    github.add_comment(
        5, f"{marker('experiments')}\n## Vertex AI hyperparameter tuning", user="github-actions[bot]"
    )
    full = {
        **os.environ,
        **github_env,
        **payloads.write_event(tmp_path, "push", payloads.push(history.base, history.merge)),
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_REGION": REGION,
        "VERTEX_AI_EMULATOR_HOST": address,  # stands in for Vertex AI: a workflow always spends
        "GITHUB_SHA": history.merge,
        "HPT_STATE_DIR": str(tmp_path / "state"),
        **env,
    }
    full = {name: value for name, value in full.items() if value is not None}
    return subprocess.run(
        [sys.executable, "-m", "scripts", "github", "submit"],
        cwd=history.root,
        capture_output=True,
        text=True,
        env=full,
        timeout=180,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cap", "approved"), [(None, False), (None, True), ("", True), ("inf", True), ("-1", True)]
)
def test_without_a_cap_a_merge_submits_nothing_even_approved(
    history, github, github_env, tmp_path, monkeypatch, cap, approved
):
    if approved:  # an approval in the `vertex` environment does not stand in for a cap
        github.approvals[42] = [_approval("vertex")]
    with FakeJobService() as service:
        result = _submit_step(
            history, github, github_env, tmp_path, service.address, HPT_MAX_COST=cap, GITHUB_RUN_ID="42"
        )
        assert result.returncode == 1, result.stderr
        assert service.count("CreateHyperparameterTuningJob") == 0 and service.jobs == {}
    submitted = sections(github.ours(5)[0]["body"])["submitted"]
    assert "`wide`" in submitted and "not submitted: " in submitted
    assert "set HPT_MAX_COST to the most one job may cost, in US dollars" in submitted
    assert "gh variable set HPT_MAX_COST" in submitted


@pytest.mark.slow
def test_with_a_cap_the_same_merge_submits(history, github, github_env, tmp_path):
    with FakeJobService() as service:
        result = _submit_step(history, github, github_env, tmp_path, service.address, HPT_MAX_COST="500")
        assert result.returncode == 0, result.stderr
        assert len(service.jobs) == 1
    assert "not submitted" not in sections(github.ours(5)[0]["body"])["submitted"]
