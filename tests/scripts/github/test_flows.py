"""The whole GitHub loop through our commands, from a real clone with a real history:

pull request → plan comment (updated on the next push, sent to the job summary for a fork) →
merge → jobs submitted to the local JobService emulator, comment updated → jobs end → the report
posts the best trial into the same comment, and posting again changes nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.github.sticky_comment import marker, sections, set_section
from scripts.results.plots import picture_names
from tests.scripts.github import payloads
from tests.scripts.github.fake_github import tree_of
from tests.scripts.github.project import (
    BASE_EXPERIMENTS,
    MODEL_SAVING_STANDIN,
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
def trainer_image(github, history) -> str:
    """The history's trainer image, pushed to the fake registry: submitted jobs name it by this digest."""
    from scripts import images

    digest = "sha256:" + "d" * 64
    tag = images.content_tag(history.merge, history.root)  # the same for every commit of the history
    github.images[f"{PROJECT}/hpt/trainer/manifests/{tag}"] = digest
    return f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer@{digest}"


@pytest.fixture
def step(history, github_env, tmp_path, trainer_image):
    from scripts import images

    # What hpt-commands.yml's `build` job hands `/hpt run`'s submitting job for a commit of this
    # history: they change only experiments.yaml, so each one's trainer image is main's.
    built, digest = trainer_image.split("@")
    tag = images.content_tag(history.merge, history.root)

    def run(name: str, event_name: str, payload: dict, **env: str) -> subprocess.CompletedProcess[str]:
        full = {
            **os.environ,
            **github_env,
            **payloads.write_event(tmp_path, event_name, payload),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "GOOGLE_CLOUD_REGION": REGION,
            # Artifact Registry is the fake's manifest endpoint: the flows look digests up there.
            "HPT_REGISTRY_URL": github_env["GITHUB_API_URL"],
            "HPT_TRAINER_IMAGE": f"{built}:{tag}",
            "HPT_TRAINER_DIGEST": digest,
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
    assert plan.startswith(f"### Plan for {history.head[:12]}")
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
    github, history, step, tmp_path, github_env, trainer_image
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
        # The job runs the image the content tag named at submit time, by digest: a tag moved later
        # changes nothing it runs.
        assert _job(address, job_name).trial_job_spec.worker_pool_specs[0].container_spec.image_uri == (
            trainer_image
        )

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


def test_a_merge_whose_image_the_registry_lacks_submits_nothing_and_says_so(
    github, history, step, tmp_path, github_env
):
    github.images.clear()  # the content tag was never pushed (or the registry cannot say)
    github.add_pull(5, history.head, history.base, merge_sha=history.merge)
    with emulator(history.root, tmp_path / "state") as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.merge}
        submitted = step("submit", "push", payloads.push(history.base, history.merge), **env)
        assert submitted.returncode == 1
        assert _jobs(address) == []
    assert "no digest, no job" in submitted.stderr
    table = sections(github.ours(5)[0]["body"])["submitted"]
    assert "| `wide` | not submitted: run wide: no digest, no job" in table


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


def test_hpt_run_submits_the_commit_it_names_and_nothing_a_comment_or_a_push_says(
    github, history, step, github_env
):
    """`/hpt run wide SHA7` submits that commit, the pull request's head when the command was read:
    a bot comment's record naming another commit is ignored, a push while the submitting job waits
    is never submitted, and the plan, the reply and the job carry the same spec hash. A second
    `/hpt run` reuses the job; the same command read after the push is refused with the new head."""
    later = "d" * 40
    github.add_pull(5, history.head, history.base)
    github.contents[("experiments.yaml", history.head)] = PR_EXPERIMENTS
    github.contents[("experiments.yaml", later)] = PR_EXPERIMENTS.replace(
        "max_trial_count: 2", "max_trial_count: 40"
    )
    planned = step("plan", "pull_request", payloads.pull_request("opened", 5, history.head, history.base))
    assert planned.returncode == 0, planned.stderr
    plan = sections(github.ours(5)[0]["body"])["plan"]
    command = f"/hpt run wide {history.head[:7]}"
    assert f"  {command}\n" in plan  # the line to copy
    spec = re.search(r"\| Spec hash \| `([0-9a-f]{12,})` \|", plan)[1]

    # Any workflow writes as the same bot: a record naming another commit must change nothing.
    ours = github.ours(5)[0]
    forged = f"<!-- vertex-hpt-record head={later} at=2026-11-27T11:00:00Z -->\n### Plan for {later[:12]}"
    ours["body"] = set_section(ours["body"], "plan", "").replace(
        "plan -->\n\n<!--", f"plan -->\n{forged}\n<!--"
    )
    assert f"head={later}" in ours["body"]
    comment = payloads.issue_comment(5, command, "MEMBER")
    pinned = step("command", "issue_comment", comment)
    assert pinned.returncode == 0, pinned.stderr
    head = outputs(github_env)["head"]
    assert head == history.head

    # The author pushes while the submitting job waits for its approval.
    github.pulls[5]["head"]["sha"] = later
    with emulator(history.root, tmp_path_of(github_env)) as address:
        env = {
            "VERTEX_AI_EMULATOR_HOST": address,
            "GITHUB_SHA": history.base,
            "HPT_PINNED_HEAD": head,
            "HPT_MAX_COST": "100",
        }
        ran = step("command-run", "issue_comment", comment, **env)
        assert ran.returncode == 0, ran.stderr
        reply = sections(github.ours(5)[0]["body"])["command"]
        assert reply.startswith(f"`{command}` by @bob: submitted {history.head[:12]} (spec `{spec[:12]}`)")
        (job_name,) = [job.name for job in _jobs(address)]
        job = _job(address, job_name)
        assert job.max_trial_count == 2 and job.labels["hpt-commit"] == history.head[:63]
        assert job.labels["hpt-spec-hash"] == spec[:63]
        fetched = {r.query.get("ref") for r in github.requests if "/contents/" in r.path}
        assert later not in fetched

        again = step("command-run", "issue_comment", comment, **env)
        assert again.returncode == 0, again.stderr
        reply = sections(github.ours(5)[0]["body"])["command"]
        assert "nothing new submitted" in reply and f"`{command} --force`" in reply
        assert len(_jobs(address)) == 1

    refused = step("command", "issue_comment", comment)
    assert refused.returncode == 0
    reply = sections(github.ours(5)[0]["body"])["command"]
    assert f"not run: `{history.head[:7]}` is not this pull request's head, `ddddddd` is" in reply


def test_the_plan_is_of_the_heads_file_not_of_the_merge_checkout(github, history, step, github_env):
    """GitHub checks out a merge of the pull request into today's main for the plan job; when main
    changed the experiment since the branch point, that file is not the one `/hpt run` submits. The
    plan is of the head's file, so its trial count and spec hash are the job's."""
    merged_file = history.root / "experiments.yaml"
    checkout = merged_file.read_text()
    # main raised `wide`'s trials (the last `max_trial_count: 2` in the file is `wide`'s).
    before, after = PR_EXPERIMENTS.rsplit("max_trial_count: 2", 1)
    merged_file.write_text(f"{before}max_trial_count: 40{after}")
    try:
        github.add_pull(5, history.head, history.base)
        github.contents[("experiments.yaml", history.head)] = PR_EXPERIMENTS
        planned = step("plan", "pull_request", payloads.pull_request("opened", 5, history.head, history.base))
    finally:
        merged_file.write_text(checkout)
    assert planned.returncode == 0, planned.stderr
    plan = sections(github.ours(5)[0]["body"])["plan"]
    assert "| Trials | 2 in total, 2 at a time |" in plan and "40 in total" not in plan

    comment = payloads.issue_comment(5, f"/hpt run wide {history.head[:7]}", "OWNER")
    assert step("command", "issue_comment", comment).returncode == 0
    with emulator(history.root, tmp_path_of(github_env)) as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.base, "HPT_MAX_COST": "100"}
        ran = step("command-run", "issue_comment", comment, **env)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
    assert job.max_trial_count == 2
    assert f"`{job.labels['hpt-spec-hash']}" in plan


def outputs(github_env) -> dict[str, str]:
    lines = Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


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
    github, history, step, github_env, trainer_image
):
    """The fork's project, region, bucket, image, service account and network are replaced by the
    default branch's; `/hpt plan` shows exactly that job (same spec hash) and names each setting the
    fork tried to change."""
    fork_head = "e" * 40
    github.add_pull(5, fork_head, history.base)
    github.contents[("experiments.yaml", fork_head)] = FORK_TRICKS
    github.contents[("experiments.yaml", history.base)] = BASE_EXPERIMENTS
    settings = {"HPT_STAGING_BUCKET": "gs://trusted-bucket"}
    asked = step("command", "issue_comment", payloads.issue_comment(5, "/hpt plan", "OWNER"), **settings)
    assert asked.returncode == 0, asked.stderr
    plan = sections(github.ours(5)[0]["body"])["plan"]
    before_merge = plan.split("#### Before the merge", 1)[1]
    for field in ("project", "region", "staging_bucket", "image_uri", "service_account", "network"):
        assert f"`{field}`:" in before_merge
    assert "attacker" not in plan.split("#### Before the merge", 1)[0]

    comment = payloads.issue_comment(5, f"/hpt run wide {fork_head[:7]}", "OWNER")
    with emulator(history.root, tmp_path_of(github_env)) as address:
        env = {
            **settings,
            "VERTEX_AI_EMULATOR_HOST": address,
            "GITHUB_SHA": history.base,
            "HPT_PINNED_HEAD": fork_head,
            "HPT_MAX_COST": "100",
            "GOOGLE_APPLICATION_CREDENTIALS": "/secret/key.json",
        }
        ran = step("command-run", "issue_comment", comment, **env)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
    spec = job.trial_job_spec
    assert job.name.startswith(f"projects/{PROJECT}/locations/{REGION}/")
    image = spec.worker_pool_specs[0].container_spec.image_uri
    assert image == trainer_image  # the default branch's image, by digest
    assert spec.service_account == "" and spec.network == ""
    assert spec.base_output_directory.output_uri_prefix.startswith("gs://trusted-bucket/")
    assert "attacker" not in str(job) and "/secret/key.json" not in str(job)
    assert f"| Spec hash | `{job.labels['hpt-spec-hash']}" in plan


def test_hpt_run_of_an_unmerged_file_never_lets_it_choose_storage(github, history, step, github_env):
    """Trainer args of an unmerged file that name a location are refused with where they are written:
    nothing is submitted, and the plan said so before anyone commented `/hpt run`."""
    fork_head = "f" * 40
    github.add_pull(5, fork_head, history.base)
    github.contents[("experiments.yaml", fork_head)] = PR_EXPERIMENTS.replace(
        "      args: [--steps=2]\n", "      args: [--steps=2, --data=dir:gs://attacker/x]\n"
    )
    github.contents[("experiments.yaml", history.base)] = BASE_EXPERIMENTS
    asked = step("command", "issue_comment", payloads.issue_comment(5, "/hpt plan", "OWNER"))
    assert asked.returncode == 0, asked.stderr
    plan = sections(github.ours(5)[0]["body"])["plan"]
    assert "`/hpt run` does not submit this experiment before the merge" in plan

    comment = payloads.issue_comment(5, f"/hpt run wide {fork_head[:7]}", "OWNER")
    with emulator(history.root, tmp_path_of(github_env)) as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.base, "HPT_MAX_COST": "100"}
        ran = step("command-run", "issue_comment", comment, **env)
        assert ran.returncode == 1
        assert _jobs(address) == []
    reply = sections(github.ours(5)[0]["body"])["command"]
    assert "could not submit" in reply and "experiments.wide.trainer.args[1]" in reply


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
    github.trees[history.head] = tree_of(history.root, history.head)  # the image of its trainer
    opened = payloads.pull_request("opened", 5, history.head, history.base)
    assert step("plan", "pull_request", opened, GITHUB_SHA=history.head, **settings).returncode == 0
    from_pull_request = sections(github.ours(5)[0]["body"])["plan"]

    asked = step("command", "issue_comment", payloads.issue_comment(5, "/hpt plan", "MEMBER"), **settings)
    assert asked.returncode == 0, asked.stderr
    from_command = sections(github.ours(5)[0]["body"])["plan"]

    assert from_command == from_pull_request
    assert "e2e-repo" in from_command or "gs://e2e-bucket" in from_command


def test_the_submitting_job_follows_a_short_job_and_posts_its_result_and_files(
    github, history, step, github_env, tmp_path
):
    """HPT_FOLLOW_MINUTES: the merge's own job posts the best trial, writes summary.json,
    best_params.json and the pictures for the artifact, and `link-files` links the artifact; the
    reporter then has nothing to do."""
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
        assert sorted(path.name for path in (results / job).iterdir()) == sorted(
            ["summary.json", "best_params.json", *picture_names()]
        )
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


def _model_versions(address: str, model: str):
    """The model's versions in the emulator's Model Registry, read with the real GAPIC client."""
    import grpc
    from google.api_core.exceptions import NotFound
    from google.cloud.aiplatform_v1 import ModelServiceClient
    from google.cloud.aiplatform_v1.services.model_service.transports import ModelServiceGrpcTransport

    client = ModelServiceClient(transport=ModelServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    try:
        return list(client.list_model_versions(name=model))
    except NotFound:
        return []


def test_hpt_promote_registers_the_best_trial_of_the_pull_requests_succeeded_job_once(
    github, history, step, github_env
):
    """`/hpt promote wide` by a writer: nothing before the pull request has a job (a reply says so);
    after `/hpt run` succeeded, the best trial's model becomes version 1 of `wide` with the job's
    labels, and the same command again registers nothing and names that version. The second job
    asks GitHub for the author's permission again, and another pull request's command finds no job."""
    model = f"projects/{PROJECT}/locations/{REGION}/models/wide"
    github.add_pull(5, history.head, history.base)
    github.add_pull(6, history.head, history.base)
    github.contents[("experiments.yaml", history.head)] = PR_EXPERIMENTS
    promote = payloads.issue_comment(5, "/hpt promote wide", "MEMBER")
    run = payloads.issue_comment(5, f"/hpt run wide {history.head[:7]}", "MEMBER")

    def reply(number: int = 5) -> str:
        return sections(github.ours(number)[0]["body"])["command"]

    with emulator(history.root, tmp_path_of(github_env), MODEL_SAVING_STANDIN) as address:
        env = {"VERTEX_AI_EMULATOR_HOST": address, "GITHUB_SHA": history.base, "HPT_MAX_COST": "100"}

        asked = step("command", "issue_comment", promote)
        assert asked.returncode == 0, asked.stderr
        assert outputs(github_env)["verb"] == "promote"  # the job with credentials takes it from here
        assert reply().startswith("`/hpt promote wide` by @bob: promoting the best trial")
        early = step("command-promote", "issue_comment", promote, **env)
        assert early.returncode == 0, early.stderr
        assert reply() == (
            "`/hpt promote wide` by @bob: not promoted: no job of `wide` was submitted for this pull request"
        )
        assert _model_versions(address, model) == []

        assert step("command", "issue_comment", run).returncode == 0
        ran = step("command-run", "issue_comment", run, HPT_PINNED_HEAD=history.head, **env)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
        assert wait_until_ended(address, job.name) == "JOB_STATE_SUCCEEDED"
        ended = _job(address, job.name)
        best = max(ended.trials, key=lambda trial: trial.final_measurement.metrics[0].value)
        job_id = job.name.rsplit("/", 1)[-1]

        first = step("command-promote", "issue_comment", promote, **env)
        assert first.returncode == 0, first.stderr
        assert reply().startswith(
            f"`/hpt promote wide` by @bob: registered `{model}@1`: trial `{best.id}` of job `{job_id}` "
            f"at `{history.head[:12]}`, accuracy "
        )
        (version,) = _model_versions(address, model)
        assert version.labels["hpt-pr"] == "5" and version.labels["hpt-commit"] == history.head
        assert (version.labels["hpt-job"], version.labels["hpt-trial"]) == (job_id, best.id)
        assert version.labels["hpt-spec-hash"] == ended.labels["hpt-spec-hash"]
        assert version.artifact_uri.endswith(f"/{best.id}/model")

        again = step("command-promote", "issue_comment", promote, **env)
        assert again.returncode == 0, again.stderr
        assert reply() == (
            f"`/hpt promote wide` by @bob: already promoted: `{model}@1` holds trial `{best.id}` of job "
            f"`{job_id}` at `{history.head[:12]}`; nothing new was registered."
        )
        assert len(_model_versions(address, model)) == 1

        # Pull request 6 has no job of its own: the one of #5 is not its to promote.
        other = payloads.issue_comment(6, "/hpt promote wide", "OWNER", author="alice")
        assert step("command", "issue_comment", other).returncode == 0
        assert step("command-promote", "issue_comment", other, **env).returncode == 0
        assert reply(6).endswith("not promoted: no job of `wide` was submitted for this pull request")
        assert len(_model_versions(address, model)) == 1

        # A read-only member is refused by the first job and, were it started anyway, by the second.
        reader = payloads.issue_comment(5, "/hpt promote wide", "MEMBER", author="carol")
        refused = step("command", "issue_comment", reader)
        assert refused.returncode == 0 and outputs(github_env)["verb"] == ""
        assert (
            "GitHub reports `read` for you. Nothing was run"
            in sections(github.ours(5)[0]["body"])["refused:carol"]
        )
        forced = step("command-promote", "issue_comment", reader, **env)
        assert forced.returncode != 0 and "only runs an authorized `/hpt promote" in forced.stderr
        assert len(_model_versions(address, model)) == 1
