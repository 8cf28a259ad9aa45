"""The whole story of issue 24, driven as GitHub drives the workflows: a proposal tuned and judged.

main has a succeeded job of `quick` (submitted by experiments.yml's `dispatch` step, run to its
end). A same-repository pull request changes a trainer default (fewer epochs,
test_pull_request_trainer's `fewer-epochs` commit); a writer comments `/hpt run quick SHA7`; then
hpt-commands.yml's jobs run in turn: `command` (reads and authorizes it), `build` (Cloud Build
builds exactly that commit), `run` (submits by the built digest and follows the job to its end).
What a user sees is asserted: the pull request's comment gives the verdict against main's job with
both bests and the method, the check run `hpt / quick` on the head commit is completed with the
verdict as its title, and the tuned image is the commit's, not main's.

GitHub is the fake API (pull requests, compare, check runs, the registry's manifests), Cloud Build
the fake gRPC service, Vertex AI the emulator running the stand-in trainer. The fork without
`--fork-trainer` (main's trainer, and the reply says so) is
test_pull_request_trainer.test_a_fork_without_the_flag_tunes_the_default_branchs_trainer_and_says_why.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scripts.github.sticky_comment import sections
from tests.scripts.cloudbuild.conftest import BUCKET
from tests.scripts.github import payloads
from tests.scripts.github import test_pull_request_trainer as proposal
from tests.scripts.github.project import PROJECT, REGION, emulator, wait_until_ended

pytestmark = pytest.mark.slow

# The clone with the `fewer-epochs` commit, Cloud Build and the registry, and hpt-commands.yml's jobs.
history, cloud, jobs = proposal.history, proposal.cloud, proposal.jobs
VERDICTS = ("better", "worse", "no clear difference")


def _dispatch_on_main(root, commit: str, address: str, tmp_path, github_env) -> None:
    """experiments.yml's `dispatch` of `quick` on main at `commit` (not followed: it returns at once)."""
    event = payloads.write_event(
        tmp_path,
        "workflow_dispatch",
        payloads.workflow_dispatch(
            experiment="quick", max_trials="", parallel_trials="", dry_run=False, pull_request=""
        ),
    )
    env = {
        **os.environ,
        **event,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_REGION": REGION,
        "HPT_STAGING_BUCKET": f"gs://{BUCKET}",
        "HPT_REGISTRY_URL": github_env["GITHUB_API_URL"],
        "GITHUB_SHA": commit,
        "VERTEX_AI_EMULATOR_HOST": address,
    }
    done = subprocess.run(
        [sys.executable, "-m", "scripts", "github", "dispatch"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr


def _best(job) -> float:
    return max(trial.final_measurement.metrics[0].value for trial in job.trials)


def test_a_pull_request_that_changes_a_trainer_default_gets_a_verdict_against_main_and_a_check(
    history, github, github_env, cloud, jobs, tmp_path
):
    made, tuned = history
    builds, _ = cloud
    github.branches["main"] = [made.base]  # main's history, as the compare API reads it
    github.add_pull(5, tuned, made.base)
    github.contents[("experiments.yaml", tuned)] = proposal.PR_EXPERIMENTS
    body = f"/hpt run quick {tuned[:7]}"

    with emulator(made.root, tmp_path / "state") as address:
        _dispatch_on_main(made.root, made.base, address, tmp_path, github_env)
        (main_job,) = proposal._jobs(address)
        assert wait_until_ended(address, main_job.name) == "JOB_STATE_SUCCEEDED"

        handed = jobs.command(body)
        assert handed["trainer"] == tuned  # the `build` job runs, for this commit
        assert "with this commit's trainer (its image is built first when missing)" in jobs.reply()["command"]
        built = jobs.build(tuned)
        (request,) = builds.create_requests
        assert request.build.substitutions["COMMIT_SHA"] == tuned
        ran = jobs.run(
            body, tuned, built, VERTEX_AI_EMULATOR_HOST=address, HPT_FOLLOW_MINUTES="3",
            HPT_RESULTS_DIR=str(tmp_path / "results"),
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        listed = {job.labels["hpt-commit"]: job for job in proposal._jobs(address)}

    # The proposal's own trainer was tuned: the commit's digest, not main's.
    ours, baseline = listed[tuned], listed[made.base]
    assert ours.state.name == "JOB_STATE_SUCCEEDED" and ours.labels["hpt-pr"] == "5"
    assert jobs.reply()["command"].endswith("It tunes this commit's trainer.")
    assert proposal._image(ours) == f"{proposal.IMAGE}@{built['digest']}"
    assert proposal._image(baseline) == f"{proposal.IMAGE}@{proposal.MAIN_DIGEST}" != proposal._image(ours)

    # The comment: the verdict against main's job, both bests, the method in a sentence.
    ours_id, baseline_id = ours.name.rsplit("/", 1)[1], baseline.name.rsplit("/", 1)[1]
    section = sections(github.ours(5)[0]["body"])[f"result:{ours_id}"]
    assert "#### Compared with `main`" in section
    assert f"| commit | {tuned[:12]} | {made.base[:12]} |" in section  # this job, then main's
    (verdict,) = [each for each in VERDICTS if f"**Verdict: {each}**" in section]
    assert (
        f"Baseline: the newest SUCCEEDED job of `quick` on `main` at another commit, `{baseline_id}` at "
        f"`{made.base[:12]}`."
    ) in section
    assert f"| best accuracy | {_best(ours):.6g} | {_best(baseline):.6g} |" in section
    assert "Precedence test over each side's completed trials (2 against 2)" in section
    assert "Check `hpt / quick`: **neutral** (no `gate:`" in section
    # Two trainers, judged from the studies alone: the comment names the command that confirms them.
    assert f"`/hpt run quick {tuned[:7]} --confirm` trains each side's best configuration again" in section

    # The check on the head commit: in progress from the submission, completed with the verdict.
    (check,) = github.runs_on(tuned)
    started = next(r for r in github.requests if r.method == "POST" and r.path.endswith("/check-runs"))
    assert (started.body["head_sha"], started.body["status"]) == (tuned, "in_progress")
    assert (check["name"], check["external_id"]) == ("hpt / quick", ours_id)
    assert (check["status"], check["conclusion"]) == ("completed", "neutral")
    assert check["output"]["title"].startswith(f"{verdict} (") and "accuracy)" in check["output"]["title"]
    assert f"**Verdict: {verdict}**" in check["output"]["summary"]
    assert github.runs_on(made.base) == []  # main's own job is no proposal: no check
