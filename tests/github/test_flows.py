"""The whole GitHub loop through our commands, from a real clone with a real history:

pull request → plan comment (updated on the next push, sent to the job summary for a fork) →
merge → jobs submitted to the local JobService emulator, comment updated → jobs end → the report
posts the best trial into the same comment, and posting again changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.github.comments import marker, sections
from tests.github import payloads
from tests.github.project import (
    BASE_EXPERIMENTS,
    PR_EXPERIMENTS,
    PROJECT,
    REGION,
    emulator,
    make_history,
    wait_until_ended,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return make_history(tmp_path_factory.mktemp("clone"))


@pytest.fixture
def step(history, github_env, tmp_path):
    def run(name: str, event_name: str, payload: dict, **env: str) -> subprocess.CompletedProcess[str]:
        full = {
            **os.environ,
            **github_env,
            **payloads.write_event(tmp_path, event_name, payload),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "GOOGLE_CLOUD_REGION": REGION,
            **env,
        }
        return subprocess.run(
            [sys.executable, "-m", "scripts", "github", name],
            cwd=history.root,
            capture_output=True,
            text=True,
            env=full,
            timeout=180,
        )

    return run


def test_plan_comment_for_a_pull_request_then_updated_on_the_next_push(github, history, step, github_env):
    github.add_pull(5, history.head, history.base)
    opened = step("plan", "pull_request", payloads.pull_request("opened", 5, history.head, history.base))
    assert opened.returncode == 0, opened.stderr

    (comment,) = github.ours(5)
    plan = sections(comment["body"])["plan"]
    assert plan.split("\n", 1)[1].startswith(f"### Plan for {history.head[:12]}")
    assert "<b>wide</b>" in plan and "<b>quick</b>" not in plan  # only what the pull request changes
    assert Path(github_env["GITHUB_OUTPUT"]).read_text() == "changed=wide\n"
    assert github.token not in opened.stdout + opened.stderr

    again = step("plan", "pull_request", payloads.pull_request("synchronize", 5, history.head, history.base))
    assert again.returncode == 0, again.stderr
    assert len(github.ours(5)) == 1  # updated in place, never a second comment
    assert [r.method for r in github.writes()] == ["POST"]  # the same plan: nothing to rewrite


def test_a_fork_pull_request_gets_its_plan_in_the_job_summary(github, history, step, github_env):
    github.add_pull(6, history.head, history.base)
    payload = payloads.pull_request("opened", 6, history.head, history.base, fork="mallory/hpt-demo")
    result = step("plan", "pull_request", payload)

    assert result.returncode == 0, result.stderr
    assert github.writes() == []
    assert "<b>wide</b>" in Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "comes from a fork" in result.stderr


def test_an_invalid_experiments_file_fails_the_check_and_says_where(github, history, step, tmp_path):
    github.add_pull(7, history.head, history.base)
    broken = history.root / "experiments.yaml"
    original = broken.read_text()
    broken.write_text(original.replace("max_trial_count: 2", "max_trial_count: zero", 1))
    try:
        result = step(
            "plan", "pull_request", payloads.pull_request("synchronize", 7, history.head, history.base)
        )
    finally:
        broken.write_text(original)
    assert result.returncode == 1
    plan = sections(github.ours(7)[0]["body"])["plan"]
    assert "has problems" in plan and "experiments.yaml:" in plan and "max_trial_count" in plan


def test_merge_submits_once_and_the_report_posts_the_best_trial_once(
    github, history, step, tmp_path, github_env
):
    github.add_pull(5, history.head, history.base, merge_sha=history.merge)
    github.add_comment(
        5, f"{marker('experiments')}\n## Vertex AI hyperparameter tuning", user="github-actions[bot]"
    )
    with emulator(history.root, tmp_path / "state") as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.merge}
        push = payloads.push(history.base, history.merge)
        submitted = step("submit", "push", push, **env)
        assert submitted.returncode == 0, submitted.stderr

        body = github.ours(5)[0]["body"]
        table = sections(body)["submitted"]
        assert "`wide`" in table and "`quick`" not in table
        outputs = Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines()
        (job_name,) = [line.removeprefix("jobs=") for line in outputs if line.startswith("jobs=")]
        assert job_name.startswith(f"projects/{PROJECT}/locations/{REGION}/hyperparameterTuningJobs/")
        job_id = job_name.rsplit("/", 1)[-1]
        assert f"| `wide` | `{job_id}` |" in table  # no console link for an emulator's job

        # A re-run of the same push finds the job it made: no second job.
        rerun = step("submit", "push", push, **env)
        assert rerun.returncode == 0, rerun.stderr
        assert Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines().count(f"jobs={job_name}") == 2
        assert sections(github.ours(5)[0]["body"])["submitted"].count("| `wide` |") == 1

        assert wait_until_ended(address, job_name) == "JOB_STATE_SUCCEEDED"
        reported = step("report", "schedule", {}, **env)
        assert reported.returncode == 0, reported.stderr
        result = sections(github.ours(5)[0]["body"])[f"result:{job_name.rsplit('/', 1)[-1]}"]
        assert "wide" in result and "accuracy" in result.lower()

        writes = len(github.writes())
        again = step("report", "schedule", {}, **env)
        assert again.returncode == 0, again.stderr
        assert len(github.writes()) == writes  # idempotent: nothing posted twice
        assert "1 already posted" in again.stdout
    assert len(github.ours(5)) == 1


def test_dispatch_dry_run_plans_with_the_overrides_and_submits_nothing(github, history, step, github_env):
    inputs = {
        "experiment": "wide",
        "max_trials": "4",
        "parallel_trials": "",
        "pull_request": "",
        "dry_run": True,
    }
    result = step("dry-run", "workflow_dispatch", payloads.workflow_dispatch(**inputs))
    assert result.returncode == 0, result.stderr
    summary = Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("### Dry run: wide")
    assert "| Trials | 4 in total, 2 at a time |" in summary  # max_trials applied, parallel kept
    assert github.requests == []
    # The dry-run job has no credentials and no approval: it never submits, whatever it is sent.
    refused = step("dry-run", "workflow_dispatch", payloads.workflow_dispatch(**{**inputs, "dry_run": False}))
    assert refused.returncode != 0
    assert "only plans: this dispatch asks to submit" in refused.stderr
    assert github.requests == []


def test_hpt_plan_reads_the_pull_requests_file_through_the_api_without_credentials(github, history, step):
    # The pull request's file tries to print the token; the plan is computed without it.
    leaky = PR_EXPERIMENTS.replace("The stand-in's slope tuned too.", "token=${GITHUB_TOKEN:-withheld}")
    github.add_pull(5, history.head, history.base)
    github.contents[("experiments.yaml", history.head)] = leaky
    github.contents[("experiments.yaml", history.base)] = BASE_EXPERIMENTS
    result = step("command", "issue_comment", payloads.issue_comment(5, "/hpt plan", "COLLABORATOR"))

    assert result.returncode == 0, result.stderr
    found = sections(github.ours(5)[0]["body"])
    # A credential is not a variable an experiments file may read: a located problem, no value.
    assert "experiments.wide.description: ${GITHUB_TOKEN} is not a variable" in found["plan"]
    assert github.token not in found["plan"]
    assert found["command"] == "`/hpt plan` by @bob: the plan above is up to date."
    fetched = [
        (r.path.rsplit("/", 1)[-1], r.query.get("ref")) for r in github.requests if "/contents/" in r.path
    ]
    assert fetched == [("experiments.yaml", history.head), ("experiments.yaml", history.base)]


def test_dispatch_with_overrides_then_report_to_the_pull_request_or_the_summary(
    github, history, step, tmp_path, github_env
):
    github.add_pull(8, history.head, history.base)
    to_pull = {
        "experiment": "wide",
        "max_trials": "1",
        "parallel_trials": "1",
        "pull_request": "8",
        "dry_run": False,
    }
    unlinked = {
        "experiment": "wide",
        "max_trials": "2",
        "parallel_trials": "",
        "pull_request": "",
        "dry_run": False,
    }
    with emulator(history.root, tmp_path / "state") as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.merge}
        for inputs in (to_pull, unlinked):
            result = step("dispatch", "workflow_dispatch", payloads.workflow_dispatch(**inputs), **env)
            assert result.returncode == 0, result.stderr
        outputs = Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines()
        first, second = [line.removeprefix("jobs=") for line in outputs if line.startswith("jobs=")]
        assert first != second
        for name in (first, second):
            assert wait_until_ended(address, name) == "JOB_STATE_SUCCEEDED"
        job = _job(address, first)
        assert (job.max_trial_count, job.parallel_trial_count, job.labels["hpt-pr"]) == (1, 1, "8")
        assert "hpt-pr" not in _job(address, second).labels

        summary = Path(github_env["GITHUB_STEP_SUMMARY"])
        summary.unlink()
        # Dispatched, the reporter also writes jobs without a pull request to its summary.
        reported = step("report", "workflow_dispatch", payloads.workflow_dispatch(), **env)
        assert reported.returncode == 0, reported.stderr

    body = github.ours(8)[0]["body"]
    assert "| `wide` |" in sections(body)["submitted:wide"]
    assert f"result:{first.rsplit('/', 1)[-1]}" in sections(body)
    assert second in summary.read_text() and first not in summary.read_text()


def _job(address: str, name: str):
    import grpc
    from google.cloud.aiplatform_v1 import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    client = JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    return client.get_hyperparameter_tuning_job(name=name)


def test_hpt_run_submits_the_head_the_plan_showed_and_never_a_later_push(github, history, step, github_env):
    """A push between the comment and the submission is never submitted; the reply names the commit
    and spec hash, and a second `/hpt run` says it reused the job instead of "submitted"."""
    from scripts.github.bodies import now
    from scripts.github.comments import record_line, set_section

    later = "d" * 40
    github.add_pull(5, history.head, history.base)
    github.contents[("experiments.yaml", history.head)] = PR_EXPERIMENTS
    github.contents[("experiments.yaml", later)] = PR_EXPERIMENTS.replace(
        "max_trial_count: 2", "max_trial_count: 40"
    )
    planned = step("plan", "pull_request", payloads.pull_request("opened", 5, history.head, history.base))
    assert planned.returncode == 0, planned.stderr
    time.sleep(1.1)  # the plan's record and the comment's creation time are whole seconds
    comment = payloads.issue_comment(5, "/hpt run wide", "MEMBER", created_at=now())

    pinned = step("command", "issue_comment", comment)
    assert pinned.returncode == 0, pinned.stderr
    head = dict(line.split("=", 1) for line in Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines())[
        "head"
    ]
    assert head == history.head

    # The author pushes while the submitting job waits in the queue, and the plan follows the push.
    github.pulls[5]["head"]["sha"] = later
    ours = github.ours(5)[0]
    moved = f"{record_line(head=later, at=now())}\n### Plan for {later[:12]}"
    ours["body"] = set_section(ours["body"], "plan", moved)

    with emulator(history.root, tmp_path_of(github_env)) as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.base, "HPT_PINNED_HEAD": head}
        ran = step("command-run", "issue_comment", comment, **env)
        assert ran.returncode == 0, ran.stderr
        reply = sections(github.ours(5)[0]["body"])["command"]
        assert reply.startswith(f"`/hpt run wide` by @bob: submitted {history.head[:12]} (spec `")
        (job_name,) = [job.name for job in _jobs(address)]
        job = _job(address, job_name)
        assert job.max_trial_count == 2 and job.labels["hpt-commit"] == history.head[:63]
        fetched = {r.query.get("ref") for r in github.requests if "/contents/" in r.path}
        assert later not in fetched

        again = step("command-run", "issue_comment", comment, **env)
        assert again.returncode == 0, again.stderr
        reply = sections(github.ours(5)[0]["body"])["command"]
        assert "nothing new submitted" in reply and "--force" in reply
        assert len(_jobs(address)) == 1

    # Without the first job's pin, the second pins again, and a plan made after the comment is refused.
    refused = step("command", "issue_comment", comment)
    assert refused.returncode == 0
    assert "not run: the plan changed after this comment" in sections(github.ours(5)[0]["body"])["command"]


def tmp_path_of(github_env) -> Path:
    return Path(github_env["GITHUB_OUTPUT"]).parent / "state"


def _jobs(address: str):
    import grpc
    from google.cloud.aiplatform_v1 import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    client = JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    return list(client.list_hyperparameter_tuning_jobs(parent=f"projects/{PROJECT}/locations/{REGION}"))


FORK_TRICKS = PR_EXPERIMENTS.replace(
    "  wide:\n",
    "  wide:\n"
    "    project: attacker-project\n"
    "    region: europe-west4\n"
    "    staging_bucket: gs://attacker-bucket\n"
    "    image: {uri: 'docker.io/attacker/miner:latest'}\n"
    "    service_account: trial-admin@e2e-project.iam.gserviceaccount.com\n"
    "    network: projects/1/global/networks/attacker\n",
)


def test_hpt_run_of_a_forks_file_takes_where_and_as_whom_from_the_default_branch(
    github, history, step, github_env
):
    from scripts.github.bodies import now
    from scripts.github.comments import record_line, set_section

    fork_head = "e" * 40
    github.add_pull(5, fork_head, history.base)
    github.contents[("experiments.yaml", fork_head)] = FORK_TRICKS
    body = set_section(
        f"{marker('experiments')}\n## Vertex AI hyperparameter tuning",
        "plan",
        f"{record_line(head=fork_head, at='2026-11-27T11:00:00Z')}\n### Plan for {fork_head[:12]}",
    )
    github.add_comment(5, body, user="github-actions[bot]")
    comment = payloads.issue_comment(5, "/hpt run wide", "OWNER", created_at=now())

    with emulator(history.root, tmp_path_of(github_env)) as address:
        env = {
            "VERTEX_AI_EMULATOR_HOST": address,
            "GITHUB_SHA": history.base,
            "HPT_PINNED_HEAD": fork_head,
            "HPT_STAGING_BUCKET": "gs://trusted-bucket",
            "GOOGLE_APPLICATION_CREDENTIALS": "/secret/key.json",
        }
        ran = step("command-run", "issue_comment", comment, **env)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
    spec = job.trial_job_spec
    assert job.name.startswith(f"projects/{PROJECT}/locations/{REGION}/")
    image = spec.worker_pool_specs[0].container_spec.image_uri
    assert image.startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer:")
    assert spec.service_account == "" and spec.network == ""
    assert spec.base_output_directory.output_uri_prefix.startswith("gs://trusted-bucket/")
    assert "attacker" not in str(job) and "/secret/key.json" not in str(job)


def test_hpt_plan_and_the_pull_request_plan_agree_for_the_same_head(github, history, step):
    """One source of settings: the plan `/hpt plan` posts is the one the pull_request path posts."""
    settings = {
        "HPT_STAGING_BUCKET": "gs://e2e-bucket",
        "HPT_ARTIFACT_REPOSITORY": "e2e-repo",
        "HPT_TRIAL_SERVICE_ACCOUNT": "trial@e2e-project.iam.gserviceaccount.com",
    }
    github.add_pull(5, history.head, history.base)
    github.contents[("experiments.yaml", history.head)] = PR_EXPERIMENTS
    github.contents[("experiments.yaml", history.base)] = BASE_EXPERIMENTS
    opened = payloads.pull_request("opened", 5, history.head, history.base)
    assert step("plan", "pull_request", opened, GITHUB_SHA=history.head, **settings).returncode == 0
    from_pull_request = sections(github.ours(5)[0]["body"])["plan"]

    asked = step("command", "issue_comment", payloads.issue_comment(5, "/hpt plan", "MEMBER"), **settings)
    assert asked.returncode == 0, asked.stderr
    from_command = sections(github.ours(5)[0]["body"])["plan"]

    assert from_command.split("\n", 1)[1] == from_pull_request.split("\n", 1)[1]
    assert "e2e-repo" in from_command or "gs://e2e-bucket" in from_command


def test_the_submitting_job_follows_a_short_job_and_posts_its_result_and_files(
    github, history, step, github_env, tmp_path
):
    """HPT_FOLLOW_MINUTES: the merge's own job posts the best trial, writes summary.json and
    chart.svg for the artifact, and `link-files` links the artifact; the reporter then has nothing to do."""
    import time as clock

    github.add_pull(5, history.head, history.base, merge_sha=history.merge)
    results = tmp_path / "results"
    with emulator(history.root, tmp_path / "state") as address:
        env = {
            "VERTEX_AI_EMULATOR_HOST": address,
            "GITHUB_SHA": history.merge,
            "HPT_FOLLOW_MINUTES": "3",
            "HPT_RESULTS_DIR": str(results),
        }
        started = clock.monotonic()
        submitted = step("submit", "push", payloads.push(history.base, history.merge), **env)
        took = clock.monotonic() - started
        assert submitted.returncode == 0, submitted.stderr
        lines = Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines()
        (job_name,) = [line.removeprefix("jobs=") for line in lines if line.startswith("jobs=")]
        job = job_name.rsplit("/", 1)[-1]
        assert f"results=5:{job}" in lines
        body = github.ours(5)[0]["body"]
        assert "wide" in sections(body)[f"result:{job}"]
        assert sorted(path.name for path in (results / job).iterdir()) == ["chart.svg", "summary.json"]
        assert took < 120  # the job takes seconds; the result followed within the poll interval

        url = "https://github.com/octo-org/hpt-demo/actions/runs/1/artifacts/4242"
        linked = step(
            "link-files",
            "push",
            payloads.push(history.base, history.merge),
            ARTIFACT_URL=url,
            RESULTS=f"5:{job}",
        )
        assert linked.returncode == 0, linked.stderr
        assert f"[workflow artifact]({url})" in sections(github.ours(5)[0]["body"])[f"files:{job}"]

        reported = step("report", "schedule", {}, VERTEX_AI_EMULATOR_HOST=address)
        assert reported.returncode == 0 and "1 already posted" in reported.stdout
    assert list(sections(github.ours(5)[0]["body"])) == ["submitted", f"result:{job}", f"files:{job}"]
