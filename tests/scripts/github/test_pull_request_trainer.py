"""`/hpt run NAME SHA` tunes the proposal: the pull request commit's own trainer, built by Cloud Build.

Driven as hpt-commands.yml drives it, job by job, from a real clone: `github command` (who asked,
which commit, whose trainer), then `build --source` of exactly that commit (the `build` job: the
commit checked out beside the default branch's code), then `github command-run` with the build's
outputs (the `run` job). GitHub is the fake API, Cloud Build the fake gRPC service, Cloud Storage
a fake upload endpoint, Artifact Registry the fake's manifest endpoint, Vertex AI the emulator
running the stand-in trainer.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from scripts import images
from scripts.github.sticky_comment import sections
from tests.scripts.cloudbuild import fake_cloudbuild
from tests.scripts.cloudbuild.conftest import BUCKET, FakeGoogleHttp
from tests.scripts.github import payloads
from tests.scripts.github.fake_github import tree_of
from tests.scripts.github.project import (
    BASE_EXPERIMENTS,
    PR_EXPERIMENTS,
    PROJECT,
    REGION,
    emulator,
    git,
    make_history,
)

pytestmark = pytest.mark.slow

IMAGE = f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer"
MAIN_DIGEST = "sha256:" + "d" * 64


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The shared history, plus a pull request commit off main that changes a trainer default
    (fewer epochs) and adds `wide`: its build inputs, and so its content tag, are its own."""
    made = make_history(tmp_path_factory.mktemp("clone"))
    root = made.root
    git(root, "checkout", "-q", "-b", "fewer-epochs", made.base)
    flags = root / "trainer" / "flags.py"
    text = flags.read_text()
    assert 'type=_positive_int, default=10, help="training epochs (default 10)"' in text
    flags.write_text(text.replace('default=10, help="training epochs (default 10)"', 'default=3, help="x"'))
    (root / "experiments.yaml").write_text(PR_EXPERIMENTS)
    git(root, "commit", "-q", "-am", "Train for 3 epochs by default")
    tuned = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    return made, tuned


@pytest.fixture
def cloud(github, tmp_path):
    """Cloud Build (its pushes land in the fake registry) and the bucket the source goes to."""
    storage = HTTPServer()
    storage.start()
    bucket = FakeGoogleHttp(url=storage.url_for("").rstrip("/"))
    storage.expect_request(f"/upload/storage/v1/b/{BUCKET}/o", method="POST").respond_with_handler(
        bucket.handle_upload
    )
    storage.expect_request(re.compile(f"/storage/v1/b/{BUCKET}.*"), method="GET").respond_with_json(
        {"kind": "storage#bucket", "name": BUCKET}
    )

    def pushed(build) -> None:
        for image in build.results.images:
            path, _, tag = image.name.removeprefix(f"{REGION}-docker.pkg.dev/").rpartition(":")
            github.images[f"{path}/manifests/{tag}"] = image.digest

    builds = fake_cloudbuild.FakeCloudBuild(
        fake_cloudbuild.Script(states=[(fake_cloudbuild.Status.SUCCESS, {})], on_success=pushed)
    )
    server, address = fake_cloudbuild.serve(builds)
    yield builds, {"CLOUD_BUILD_EMULATOR_HOST": address, "STORAGE_EMULATOR_HOST": bucket.url}
    server.stop(grace=None)
    storage.stop()


@pytest.fixture
def jobs(history, github, github_env, cloud, tmp_path):
    """The workflow's jobs, each a function: command(body), build(commit), run(body, **env)."""
    made, _ = history
    main_tag = images.content_tag(made.base, made.root)
    github.images[f"{PROJECT}/hpt/trainer/manifests/{main_tag}"] = MAIN_DIGEST
    builds, cloud_env = cloud
    settings = {
        **github_env,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_REGION": REGION,
        "HPT_STAGING_BUCKET": f"gs://{BUCKET}",
        "HPT_REGISTRY_URL": github_env["GITHUB_API_URL"],
        "GITHUB_SHA": made.base,  # issue_comment runs the default branch's head
    }

    class Jobs:
        def step(self, name: str, body: str, **env: str) -> subprocess.CompletedProcess[str]:
            return self.on(name, "issue_comment", payloads.issue_comment(5, body, "MEMBER"), **env)

        def on(
            self, name: str, event_name: str, payload: dict, **env: str
        ) -> subprocess.CompletedProcess[str]:
            event = payloads.write_event(tmp_path, event_name, payload)
            output = tmp_path / f"{name}-output"
            output.unlink(missing_ok=True)
            full = {**os.environ, **settings, **event, "GITHUB_OUTPUT": str(output), **env}
            command = [sys.executable, "-m", "scripts", "github", name]
            return subprocess.run(
                command, cwd=made.root, capture_output=True, text=True, env=full, timeout=240
            )

        def command(self, body: str) -> dict[str, str]:
            done = self.step("command", body)
            assert done.returncode == 0, done.stderr
            return _outputs(tmp_path / "command-output")

        def build(self, commit: str) -> dict[str, str]:
            """The `build` job: the commit checked out into a directory of its own, built from ours."""
            source = tmp_path / "commit-source"
            if not source.exists():
                git(tmp_path, "clone", "-q", str(made.root), str(source))
            git(source, "checkout", "-q", commit)
            output = tmp_path / "build-output"
            output.unlink(missing_ok=True)
            full = {**os.environ, **settings, **cloud_env, "GITHUB_OUTPUT": str(output)}
            command = [
                sys.executable,
                "-m",
                "scripts",
                "build",
                "--source",
                str(source),
                "--poll-interval",
                "0",
            ]
            done = subprocess.run(
                command, cwd=made.root, capture_output=True, text=True, env=full, timeout=240
            )
            assert done.returncode == 0, done.stderr
            return _outputs(output)

        def run(self, body: str, head: str, built: dict[str, str], **env: str) -> subprocess.CompletedProcess:
            return self.step(
                "command-run",
                body,
                HPT_PINNED_HEAD=head,
                HPT_TRAINER_IMAGE=built.get("image", ""),
                HPT_TRAINER_DIGEST=built.get("digest", ""),
                HPT_MAX_COST="100",
                **env,
            )

        def plan(self, fork: str | None = None) -> None:
            """The `pull_request` workflow's plan job, for pull request 5 (from the fork `fork`)."""
            head = github.pulls[5]["head"]["sha"]
            opened = payloads.pull_request("opened", 5, head, made.base, fork=fork)
            done = self.on("plan", "pull_request", opened)
            assert done.returncode == 0, done.stderr

        def reply(self) -> dict[str, str]:
            return sections(github.ours(5)[0]["body"])

    return Jobs()


def _outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _jobs(address: str):
    import grpc
    from google.cloud.aiplatform_v1 import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    client = JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    return list(client.list_hyperparameter_tuning_jobs(parent=f"projects/{PROJECT}/locations/{REGION}"))


def _image(job) -> str:
    return job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri


def _fork(github, number: int = 5) -> None:
    github.pulls[number]["head"]["repo"] = {"full_name": "eve/hpt-demo"}


def _planned(github, made, tuned) -> None:
    github.add_pull(5, tuned, made.base)
    github.contents[("experiments.yaml", tuned)] = PR_EXPERIMENTS
    github.contents[("experiments.yaml", made.base)] = BASE_EXPERIMENTS


def test_both_plans_of_a_same_repository_pull_request_show_the_image_of_its_trainer(history, github, jobs):
    """The plan on each push (git has the head) and `/hpt plan` (GitHub's listing of the head's tree)
    show the image `/hpt run` tunes: the head's own, at its content tag, not main's."""
    made, tuned = history
    _planned(github, made, tuned)
    github.trees[tuned] = tree_of(made.root, tuned)
    tag = images.content_tag(tuned, made.root)
    assert tag != images.content_tag(made.base, made.root)
    whose = (
        f"- To tune commit `{tuned[:7]}` now, with this commit's trainer (the image above, built first when"
    )

    jobs.plan()
    from_pull_request = jobs.reply()["plan"]
    jobs.command("/hpt plan")
    from_command = jobs.reply()["plan"]

    assert f"| Image | `{IMAGE}:{tag}` |" in from_pull_request and whose in from_pull_request
    assert from_command == from_pull_request


def test_hpt_plan_shows_the_default_branchs_image_when_github_lists_the_tree_in_part(history, github, jobs):
    made, tuned = history
    _planned(github, made, tuned)
    github.trees[tuned] = tree_of(made.root, tuned, truncated=True)

    jobs.command("/hpt plan")

    plan = jobs.reply()["plan"]
    assert f"| Image | `{IMAGE}:{images.content_tag(made.base, made.root)}` |" in plan
    assert (
        "with this commit's trainer (its image is built first when missing; the image above is the default "
        "branch's, as GitHub did not list this commit's build inputs)"
    ) in plan


def test_both_plans_of_a_fork_show_the_default_branchs_image_and_the_flag(history, github, github_env, jobs):
    made, tuned = history
    _planned(github, made, tuned)
    _fork(github)
    main = f"| Image | `{IMAGE}:{images.content_tag(made.base, made.root)}` |"
    whose = (
        f"- To tune commit `{tuned[:7]}` now, with the default branch's trainer (the image above: this pull "
        "request comes from a fork, whose trainer runs only when the command adds `--fork-trainer`)"
    )

    jobs.plan(fork="eve/hpt-demo")
    summary = Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()  # a fork's plan job cannot comment
    jobs.command("/hpt plan")
    from_command = jobs.reply()["plan"]

    assert main in summary and whose in summary
    assert main in from_command and whose in from_command
    assert not [r for r in github.requests if "/git/trees/" in r.path]  # the fork's tree is not asked for


def test_a_same_repository_pull_request_tunes_its_own_trainer_built_once(
    history, github, cloud, jobs, tmp_path
):
    """A trainer default changed on a branch: `/hpt run wide SHA` builds that commit's image (Cloud
    Build sees a build of exactly that commit, at its own content tag) and submits it by digest;
    running the command again builds nothing and submits nothing."""
    made, tuned = history
    builds, _ = cloud
    github.add_pull(5, tuned, made.base)
    github.contents[("experiments.yaml", tuned)] = PR_EXPERIMENTS
    body = f"/hpt run wide {tuned[:7]}"

    handed = jobs.command(body)
    assert handed["trainer"] == tuned == handed["head"]  # the `build` job runs, for this commit
    assert "with this commit's trainer (its image is built first when missing)" in jobs.reply()["command"]
    built = jobs.build(tuned)
    (request,) = builds.create_requests
    tag = images.content_tag(tuned, made.root)
    assert request.build.substitutions["COMMIT_SHA"] == tuned
    assert request.build.substitutions["_CONTENT_TAG"] == tag != images.content_tag(made.base, made.root)
    assert built["image"] == f"{IMAGE}:{tag}" and built["built"] == "true"

    with emulator(made.root, tmp_path / "state") as address:
        ran = jobs.run(body, tuned, built, VERTEX_AI_EMULATOR_HOST=address)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
        assert _image(job) == f"{IMAGE}@{built['digest']}" != f"{IMAGE}@{MAIN_DIGEST}"
        assert job.labels["hpt-commit"] == tuned and job.labels["hpt-pr"] == "5"
        found = jobs.reply()
        assert found["command"].startswith(f"`{body}` by @bob: submitted {tuned[:12]} (spec `")
        assert found["command"].endswith("It tunes this commit's trainer.")
        assert f"Image: `{IMAGE}@{built['digest']}`" in found["submitted:wide"]

        # The same command again: the image is found (pushed by that build), the job reused.
        jobs.command(body)
        again = jobs.build(tuned)
        assert len(builds.create_requests) == 1 and again["built"] == "false"
        assert again["digest"] == built["digest"]
        rerun = jobs.run(body, tuned, again, VERTEX_AI_EMULATOR_HOST=address)
        assert rerun.returncode == 0, rerun.stderr
        assert len(_jobs(address)) == 1
        assert "nothing new submitted" in jobs.reply()["command"]


def test_a_failed_build_submits_nothing_rather_than_another_trainer(history, github, jobs, tmp_path):
    made, tuned = history
    github.add_pull(5, tuned, made.base)
    github.contents[("experiments.yaml", tuned)] = PR_EXPERIMENTS
    body = f"/hpt run wide {tuned[:7]}"
    assert jobs.command(body)["trainer"] == tuned
    with emulator(made.root, tmp_path / "state") as address:
        ran = jobs.run(body, tuned, {}, VERTEX_AI_EMULATOR_HOST=address)  # `build` failed: no outputs
        assert ran.returncode == 1
        assert _jobs(address) == []
    reply = jobs.reply()["command"]
    assert reply.startswith(f"`{body}` by @bob: not run: the trainer image of {tuned[:12]} was not built")


def test_a_fork_without_the_flag_tunes_the_default_branchs_trainer_and_says_why(
    history, github, jobs, tmp_path
):
    made, tuned = history
    github.add_pull(5, tuned, made.base)
    _fork(github)
    github.contents[("experiments.yaml", tuned)] = PR_EXPERIMENTS
    body = f"/hpt run wide {tuned[:7]}"

    handed = jobs.command(body)
    assert handed["head"] == tuned and handed["trainer"] == ""  # the `build` job does not start
    assert "with the default branch's trainer: this pull request comes from a fork" in jobs.reply()["command"]
    with emulator(made.root, tmp_path / "state") as address:
        ran = jobs.run(body, tuned, {}, VERTEX_AI_EMULATOR_HOST=address)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
    assert _image(job) == f"{IMAGE}@{MAIN_DIGEST}"  # main's trainer, by digest
    reply = jobs.reply()["command"]
    assert "It tunes the default branch's trainer: this pull request comes from a fork" in reply
    assert "`--fork-trainer`" in reply


def test_a_fork_with_the_flag_builds_and_tunes_the_forks_commit(history, github, cloud, jobs, tmp_path):
    made, tuned = history
    builds, _ = cloud
    github.add_pull(5, tuned, made.base)
    _fork(github)
    github.contents[("experiments.yaml", tuned)] = PR_EXPERIMENTS
    body = f"/hpt run wide {tuned[:7]} --fork-trainer"

    assert jobs.command(body)["trainer"] == tuned
    built = jobs.build(tuned)
    (request,) = builds.create_requests
    assert request.build.substitutions["COMMIT_SHA"] == tuned
    with emulator(made.root, tmp_path / "state") as address:
        ran = jobs.run(body, tuned, built, VERTEX_AI_EMULATOR_HOST=address)
        assert ran.returncode == 0, ran.stderr
        (job,) = _jobs(address)
    assert _image(job) == f"{IMAGE}@{built['digest']}"
    assert "It tunes this commit's trainer, a fork's (`--fork-trainer`)." in jobs.reply()["command"]


def test_baseline_tunes_the_default_branchs_experiment_too_once_and_the_winner_is_handed_on(
    history, github, cloud, jobs, tmp_path
):
    """`--baseline`: main's `quick` at main's head with main's image, labelled as main's job (no
    `hpt-pr`); a re-run submits neither again. The step outputs hand on the pull request's winner."""
    made, tuned = history
    github.add_pull(5, tuned, made.base)
    github.contents[("experiments.yaml", tuned)] = PR_EXPERIMENTS.replace(
        "      base: {type: double, min: 0.1, max: 0.9}", "      base: {type: double, min: 0.5, max: 0.9}", 1
    )
    body = f"/hpt run quick {tuned[:7]} --baseline"
    jobs.command(body)
    built = jobs.build(tuned)
    results = tmp_path / "results"
    follow = {"HPT_FOLLOW_MINUTES": "3", "HPT_RESULTS_DIR": str(results)}
    with emulator(made.root, tmp_path / "state") as address:
        ran = jobs.run(body, tuned, built, VERTEX_AI_EMULATOR_HOST=address, **follow)
        assert ran.returncode == 0, ran.stderr
        listed = {job.labels["hpt-commit"]: job for job in _jobs(address)}
        assert set(listed) == {tuned, made.base}
        ours, baseline = listed[tuned], listed[made.base]
        assert ours.labels["hpt-pr"] == "5" and _image(ours) == f"{IMAGE}@{built['digest']}"
        assert "hpt-pr" not in baseline.labels and baseline.labels["hpt-baseline-for"] == "5"
        assert _image(baseline) == f"{IMAGE}@{MAIN_DIGEST}"
        assert baseline.study_spec.parameters[0].double_value_spec.min_value == 0.1  # main's experiment
        assert ours.study_spec.parameters[0].double_value_spec.min_value == 0.5
        found = jobs.reply()
        assert found["baseline:quick"].startswith(f"### Baseline: the default branch at {made.base[:12]}")
        assert baseline.name.rsplit("/", 1)[1] in found["baseline:quick"]

        handed = _outputs(tmp_path / "command-run-output")
        best = json.loads((results / ours.name.rsplit("/", 1)[1] / "best_params.json").read_text())
        assert handed["best-job"] == ours.name
        assert float(handed["best-value"]) == best["value"]
        assert shlex.split(handed["best-flags"]) == best["flags"] and best["flags"][0].startswith("--base=")
        assert handed["best-model-dir"] == best["model_dir"]

        rerun = jobs.run(body, tuned, built, VERTEX_AI_EMULATOR_HOST=address)
        assert rerun.returncode == 0, rerun.stderr
        assert len(_jobs(address)) == 2
        assert "reused" in jobs.reply()["baseline:quick"]

        # `--force` renews the pull request's job, never main's.
        forced = jobs.run(f"{body} --force", tuned, built, VERTEX_AI_EMULATOR_HOST=address)
        assert forced.returncode == 0, forced.stderr
        commits = sorted(job.labels["hpt-commit"] for job in _jobs(address))
        assert commits == sorted([tuned, tuned, made.base])
