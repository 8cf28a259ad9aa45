"""A proposal's verdict waits for a baseline still running (main's job `--baseline` tunes beside
the head), in the scheduled reporter and in the submitting job's follow, against the fake GitHub and
the fake JobService on loopback."""

from __future__ import annotations

from google.cloud.aiplatform_v1 import JobState

from scripts.github.api import GitHubClient
from scripts.github.follow_flow import follow_and_report
from scripts.github.runner import Step
from scripts.github.sticky_comment import sections
from scripts.vertex.backend import Backend
from tests.fakes.job_service import Script
from tests.scripts.github.verdict_jobs import HEAD, HIGH, LOW, MAIN, reporter, tuning_job


def test_the_reporter_posts_a_proposal_only_once_its_baseline_has_ended(repo, fake, tmp_path, github_env):
    # `--baseline` tunes main's experiment as main's job (no `hpt-pr`) beside the head's.
    base = fake.add_job(tuning_job(1, MAIN, [], state=JobState.JOB_STATE_RUNNING))
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5, minute=1))

    waiting = reporter(fake, tmp_path)

    assert waiting.returncode == 0, waiting.stderr
    assert "1 waiting for a baseline" in waiting.stdout
    assert "result:3" not in sections(repo.ours(5)[0]["body"])
    (check,) = repo.runs_on(HEAD)
    assert check["status"] == "in_progress"

    fake.jobs[base.name] = tuning_job(1, MAIN, HIGH)
    posted = reporter(fake, tmp_path)

    assert posted.returncode == 0, posted.stderr
    body = sections(repo.ours(5)[0]["body"])
    assert "**Verdict: worse**" in body["result:3"] and "`1` at `111111111111`" in body["result:3"]
    (check,) = repo.runs_on(HEAD)
    assert (check["status"], check["output"]["title"]) == ("completed", "worse (-0.3 accuracy)")


def test_a_running_confirmation_job_on_main_holds_no_proposal_back(repo, fake, tmp_path, github_env):
    """Another pull request's `--confirm` trains a best configuration with main's trainer (a job at
    main's commit): it is nobody's baseline, so this proposal is judged now."""
    from scripts.results.confirmation import CONFIRMS_LABEL

    fake.add_job(tuning_job(1, MAIN, HIGH))
    confirming = tuning_job(2, MAIN, [], pull=6, state=JobState.JOB_STATE_RUNNING, minute=2)
    confirming.labels[CONFIRMS_LABEL] = "1"
    fake.add_job(confirming)
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5, minute=1))

    posted = reporter(fake, tmp_path)

    assert posted.returncode == 0 and "0 waiting for a baseline" in posted.stdout, posted.stderr
    assert "**Verdict: worse**" in sections(repo.ours(5)[0]["body"])["result:3"]


def test_the_follow_posts_the_head_when_the_merge_base_tuned_beside_it_ends(repo, fake, tmp_path):
    # Both submitted by one `/hpt run wide SHA --baseline`: the head's job ends first.
    head = fake.add_job(
        tuning_job(3, HEAD, [], pull=5, state=JobState.JOB_STATE_PENDING),
        Script(trials=list(tuning_job(0, HEAD, LOW).trials)),
    )
    base = fake.add_job(
        tuning_job(1, MAIN, [], state=JobState.JOB_STATE_PENDING),
        Script(trials=list(tuning_job(0, MAIN, HIGH + HIGH).trials)),
    )
    client = GitHubClient(repo.repository, repo.token, repo.base_url, comment_settle_seconds=0)
    backend = Backend.emulator_at(fake.address, tmp_path / "state")
    now = [0.0]

    pending = follow_and_report(
        [head.name, base.name], backend, lambda: client, 3, Step({}),
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds), clock=lambda: now[0],
    )  # fmt: skip

    assert pending == []
    body = sections(repo.ours(5)[0]["body"])
    assert "**Verdict: worse**" in body["result:3"] and "`1` at `111111111111`" in body["result:3"]
    (check,) = repo.runs_on(HEAD)
    assert (check["status"], check["output"]["title"]) == ("completed", "worse (-0.3 accuracy)")
