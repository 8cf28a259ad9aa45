"""`/hpt run NAME SHA --confirm`, driven as hpt-commands.yml drives it, then the scheduled reporter.

The pull request's job (#3, at HEAD, its own image) and main's (#1, at MAIN, main's image) have
succeeded, and their studies alone give no clear verdict. A writer comments `--confirm`; the
`command` job hands it on without a build, `command-run` submits the four confirmation jobs to
the fake JobService on loopback (each side's best configuration, trained by each side's trainer:
its image by digest, its commit, 6 seeds), through the spending gate, once. The test then ends them
as Vertex AI would, with the head's trainer 5 points worse at every seed, and runs the reporter:
the verdict is posted again from the paired test, and the check run `hpt / horses-humans` on the
head commit is rewritten with it. GitHub is the fake API.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from google.cloud.aiplatform_v1 import JobState

from scripts.github.sticky_comment import sections
from scripts.results.confirmation import CONFIRMS_LABEL, VERDICT_OF_LABEL
from tests.fakes.job_service import FakeJobService, Script, make_trial
from tests.scripts.github import payloads
from tests.scripts.github.verdict_jobs import (
    HEAD,
    MAIN,
    MIXED,
    PROJECT,
    REGION,
    arrange,
    github_step,
    reporter,
    tuning_job,
)

EXPERIMENT = "horses-humans"
REGISTRY = f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer"
HEAD_IMAGE, MAIN_IMAGE = f"{REGISTRY}@sha256:{'a' * 64}", f"{REGISTRY}@sha256:{'b' * 64}"
COMMAND = f"/hpt run {EXPERIMENT} {HEAD[:7]} --confirm"
# main's study: the same values as the pull request's (MIXED), its best another configuration (trial 1).
MAIN_VALUES = [0.95, 0.91, 0.62, 0.93, 0.64, 0.60]


@pytest.fixture
def studies(github, fake):
    """main's job #1 and the pull request's #3, whose trials alone say no clear difference."""
    arrange(github)
    fake.add_job(tuning_job(1, MAIN, MAIN_VALUES, minute=0, experiment=EXPERIMENT, image=MAIN_IMAGE))
    fake.add_job(tuning_job(3, HEAD, MIXED, pull=5, minute=20, experiment=EXPERIMENT, image=HEAD_IMAGE))
    return github


def workflow_job(
    name: str, body: str, fake: FakeJobService, tmp_path, **env: str
) -> subprocess.CompletedProcess:
    """One job of hpt-commands.yml (`command` or `command-run`) for a comment on pull request #5."""
    event = payloads.write_event(tmp_path, "issue_comment", payloads.issue_comment(5, body, "MEMBER"))
    output = str(tmp_path / f"{name}-output")
    return github_step(
        name, fake, tmp_path, **event,
        HPT_STAGING_BUCKET="gs://bucket", HPT_PINNED_HEAD=HEAD, GITHUB_OUTPUT=output, **env,
    )  # fmt: skip


def created(fake: FakeJobService):
    return [job for job in fake.jobs.values() if CONFIRMS_LABEL in job.labels]


def end_confirmations(jobs) -> None:
    """Each confirmation job succeeds, as Vertex AI ends it: one trial per seed, the head's trainer
    5 points below main's at every seed and configuration."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for job in jobs:
        drop = 0.05 if job.labels["hpt-commit"] == HEAD else 0.0
        seeds = [str(seed) for seed in range(2, 8)]
        job.trials.extend(make_trial(seed, {"seed": seed}, 0.9 + 0.01 * int(seed) - drop) for seed in seeds)
        job.state = JobState.JOB_STATE_SUCCEEDED
        job.end_time = now


def test_confirm_submits_the_four_confirmation_jobs_once_then_the_verdict_is_posted_again(
    studies, fake, tmp_path, github_env
):
    first = reporter(fake, tmp_path)  # the studies' own verdict, and the check completed with it
    assert first.returncode == 0, first.stderr
    result = sections(studies.ours(5)[0]["body"])["result:3"]
    assert "**Verdict: no clear difference**" in result
    assert f"`{COMMAND}` trains each side's best configuration again" in result
    (check,) = studies.runs_on(HEAD)
    assert check["output"]["title"].startswith("no clear difference")

    handed = workflow_job("command", COMMAND, fake, tmp_path)
    assert handed.returncode == 0, handed.stderr
    outputs = (tmp_path / "command-output").read_text()
    assert "verb=run" in outputs and "trainer=\n" in outputs + "\n"  # nothing to build

    ran = workflow_job("command-run", COMMAND, fake, tmp_path)
    assert ran.returncode == 0, ran.stderr
    jobs = created(fake)
    # Each side's best configuration by each side's trainer.
    by_pair = {(job.labels[CONFIRMS_LABEL], job.labels["hpt-commit"]): job for job in jobs}
    assert sorted(by_pair) == sorted([("1", HEAD), ("1", MAIN), ("3", HEAD), ("3", MAIN)])
    for (config, commit), job in by_pair.items():
        (pool,) = job.trial_job_spec.worker_pool_specs
        assert pool.container_spec.image_uri == (HEAD_IMAGE if commit == HEAD else MAIN_IMAGE)
        # The best trial's parameter (trial 6 of #3, base 0.1 x 6; trial 1 of #1), as a static flag.
        best = f"--base={0.1 * 6}" if config == "3" else f"--base={0.1 * 1}"
        assert [arg for arg in pool.container_spec.args if arg.startswith("--base=")] == [best]
        (seed,) = job.study_spec.parameters
        assert seed.parameter_id == "seed"
        assert list(seed.categorical_value_spec.values) == ["2", "3", "4", "5", "6", "7"]
        assert job.max_trial_count == 6
        assert job.labels[VERDICT_OF_LABEL] == "3" and job.labels["hpt-pr"] == "5"
    reply = sections(studies.ours(5)[0]["body"])
    assert "submitted 4: the confirmation jobs of job `3` and its baseline `1` (below)" in reply["command"]
    assert "confirming:3" in reply

    again = workflow_job("command-run", COMMAND, fake, tmp_path)  # a re-run submits nothing twice
    assert again.returncode == 0, again.stderr
    assert len(created(fake)) == 4
    assert (
        "found 4 running already: the confirmation jobs of job `3`"
        in sections(studies.ours(5)[0]["body"])["command"]
    )

    end_confirmations(jobs[:3])
    waiting = reporter(fake, tmp_path)  # one still runs: the verdict waits for it
    assert "confirmed:3" not in sections(studies.ours(5)[0]["body"])
    assert "3 waiting for confirmations" in waiting.stdout, waiting.stdout
    assert studies.runs_on(HEAD)[0]["output"]["title"].startswith("no clear difference")

    end_confirmations(jobs[3:])
    done = reporter(fake, tmp_path)
    assert done.returncode == 0, done.stderr
    confirmed = sections(studies.ours(5)[0]["body"])["confirmed:3"]
    assert "**Verdict: worse**" in confirmed and "Wilcoxon signed-rank" in confirmed
    order = list(sections(studies.ours(5)[0]["body"]))  # what was submitted, then results, then this
    assert order.index("confirming:3") < order.index("result:3") < order.index("confirmed:3")
    (check,) = studies.runs_on(HEAD)  # the same check run, rewritten with the confirmed verdict
    assert (check["status"], check["conclusion"]) == ("completed", "neutral")
    assert check["output"]["title"].startswith("worse")
    assert "Wilcoxon signed-rank" in check["output"]["summary"]

    writes = len(studies.writes())
    assert reporter(fake, tmp_path).returncode == 0
    assert len(studies.writes()) == writes  # posted once

    confirmed_again = workflow_job("command-run", COMMAND, fake, tmp_path)  # all there: posted at once
    assert confirmed_again.returncode == 0, confirmed_again.stderr
    assert "were confirmed before" in sections(studies.ours(5)[0]["body"])["command"]
    assert len(created(fake)) == 4


def test_confirm_without_a_succeeded_job_at_the_head_submits_nothing_and_says_why(
    github, fake, tmp_path, github_env
):
    arrange(github)
    fake.add_job(tuning_job(1, MAIN, MIXED, minute=0, experiment=EXPERIMENT, image=MAIN_IMAGE))

    ran = workflow_job("command-run", COMMAND, fake, tmp_path)

    assert ran.returncode == 1
    assert fake.count("CreateHyperparameterTuningJob") == 0
    reply = sections(github.ours(5)[0]["body"])["command"]
    assert f"nothing confirmed: no SUCCEEDED job of {EXPERIMENT} at {HEAD[:12]}" in reply
    assert f"comment /hpt run {EXPERIMENT} {HEAD[:7]} to tune it" in reply


def test_confirm_of_two_jobs_of_one_trainer_submits_nothing(github, fake, tmp_path, github_env):
    arrange(github)
    fake.add_job(tuning_job(1, MAIN, MIXED, minute=0, experiment=EXPERIMENT, image=MAIN_IMAGE))
    fake.add_job(tuning_job(3, HEAD, MIXED, pull=5, minute=20, experiment=EXPERIMENT, image=MAIN_IMAGE))

    ran = workflow_job("command-run", COMMAND, fake, tmp_path)

    assert ran.returncode == 1 and fake.count("CreateHyperparameterTuningJob") == 0
    assert "ran the same trainer" in sections(github.ours(5)[0]["body"])["command"]


def test_confirm_is_a_command_of_its_own():
    from scripts.errors import UserError
    from scripts.github.events import parse_command

    command = parse_command(COMMAND)
    assert command.confirm and not (command.force or command.baseline or command.fork_trainer)
    assert command.text == COMMAND
    with pytest.raises(UserError, match="`--confirm` takes no other option"):
        parse_command(COMMAND + " --force")


def test_the_submitting_job_follows_its_confirmations_and_posts_the_verdict_itself(
    studies, fake, tmp_path, github_env
):
    """With `HPT_FOLLOW_MINUTES`, `command-run` follows the four jobs it submitted and, when the last
    ends, posts the confirmed verdict and rewrites the check, without waiting for the reporter. Here
    both trainers train every seed alike (the fake plays every created job the same way): a tie."""
    assert reporter(fake, tmp_path).returncode == 0  # the studies' verdict, the check completed
    fake.script = Script(trials=[make_trial(str(seed), {"seed": str(seed)}, 0.9) for seed in range(2, 8)])

    ran = workflow_job("command-run", COMMAND, fake, tmp_path, HPT_FOLLOW_MINUTES="1")

    assert ran.returncode == 0, ran.stderr
    assert len(created(fake)) == 4
    confirmed = sections(studies.ours(5)[0]["body"])["confirmed:3"]
    assert "**Verdict: no clear difference**" in confirmed and "Wilcoxon signed-rank" in confirmed
    (check,) = studies.runs_on(HEAD)
    assert "Wilcoxon signed-rank" in check["output"]["summary"]  # rewritten: it was the studies' test
