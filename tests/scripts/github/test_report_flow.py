"""The reporter's bookkeeping against the fake GitHub API (the full loop is in test_flows.py)."""

from __future__ import annotations

from scripts.github.api import GitHubClient
from scripts.github.report_flow import report
from scripts.github.runner import Step
from scripts.github.sticky_comment import marker, set_section
from scripts.github.tuning_jobs import EndedJob
from scripts.jobs.labels import repository_filter

JOB = "projects/p/locations/us-central1/hyperparameterTuningJobs/{}"


def test_the_list_filter_names_this_repository_by_its_label():
    # The label of this exact repository (normalized name and a hash of the name), or, for jobs the
    # release before submitted, the normalized name alone.
    assert repository_filter("Octo-Org/HPT.demo") == (
        '(labels.hpt-repo="octo-org-hpt-demo-856e04897f" OR labels.hpt-repo="octo-org-hpt-demo")'
    )


def test_posted_results_are_skipped_and_one_broken_pull_request_does_not_stop_the_others(github):
    client = GitHubClient(github.repository, github.token, github.base_url)
    github.add_pull(5, "a" * 40, "b" * 40)
    body = set_section(
        f"{marker('experiments')}\n## Vertex AI hyperparameter tuning", "result:11", "best: 0.9"
    )
    github.add_comment(5, body, user="github-actions[bot]")
    jobs = [
        EndedJob(JOB.format(10), "gone", 99),  # pull request 99 does not exist: 404
        EndedJob(JOB.format(11), "wide", 5),  # already posted
        EndedJob(JOB.format(12), "manual", None),  # dispatched without a pull request
    ]

    rendered = []

    counts = report(jobs, client, lambda job: rendered.append(job.name) or "", Step({}))

    assert counts == {
        "posted": 0,
        "already posted": 1,
        "waiting for a baseline": 0,
        "waiting for confirmations": 0,
        "without pull request": 1,
        "failed": 1,
    }
    assert github.writes() == []
    assert rendered == []  # nothing rendered that is not posted


def test_without_a_location_the_reporter_looks_where_the_experiments_run():
    from scripts.experiments.loader import load
    from scripts.github.report_flow import locations
    from scripts.paths import EXPERIMENTS_FILE

    env = {"GOOGLE_CLOUD_PROJECT": "proj-x"}
    expected = sorted(
        {(e.settings.project, e.settings.region) for e in load(EXPERIMENTS_FILE, env).experiments.values()}
    )
    assert locations(None, None, env) == expected
    assert all(project == "proj-x" for project, _ in expected)
    assert locations("p", "europe-west4", env) == [("p", "europe-west4")]
