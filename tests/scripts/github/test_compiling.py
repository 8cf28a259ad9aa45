"""What a flow compiles with: the Actions environment as data, the tokens withheld, commit and image once."""

from __future__ import annotations

import pytest

from scripts import images
from scripts.errors import UserError
from scripts.experiments import InvalidExperiments
from scripts.github import environment
from scripts.github.compiling import StepContext, last_line
from scripts.jobs import labels
from tests.scripts.github.project import PR_EXPERIMENTS

COMMIT = "c" * 40


@pytest.fixture
def context() -> StepContext:
    env = environment.trusted(
        {
            "GITHUB_TOKEN": "ghs_secret",
            "GITHUB_SHA": COMMIT,
            "GITHUB_REPOSITORY": "octo-org/hpt-demo",
            "HPT_STAGING_BUCKET": "gs://e2e",
        }
    )
    return StepContext.resolve(env)


def test_the_commit_and_repository_come_from_the_actions_environment(context):
    assert (context.commit, context.repository) == (COMMIT, "octo-org/hpt-demo")
    assert context.image_tag == images.content_tag(COMMIT) and "GITHUB_TOKEN" not in context.env


def test_a_file_cannot_read_the_token_and_a_job_carries_its_pull_request(context, tmp_path):
    file = tmp_path / "experiments.yaml"
    file.write_text(
        PR_EXPERIMENTS.replace("The stand-in's slope tuned too.", "token=${GITHUB_TOKEN:-withheld}")
    )
    with pytest.raises(InvalidExperiments, match=r"\$\{GITHUB_TOKEN\} is not a variable experiments files"):
        context.load(file)
    file.write_text(PR_EXPERIMENTS)
    experiments = context.load(file)

    compiled = context.compile(experiments, "wide", pull_request=5, overrides=["max_trial_count=4"])

    assert compiled.job.labels[labels.PULL_REQUEST] == "5"
    assert compiled.job.labels[labels.COMMIT].startswith(COMMIT[:7])
    assert compiled.job.max_trial_count == 4
    assert compiled.job.trial_job_spec.base_output_directory.output_uri_prefix.startswith("gs://e2e/")


def test_a_failure_is_reported_as_its_last_line(context, tmp_path):
    file = tmp_path / "experiments.yaml"
    file.write_text(PR_EXPERIMENTS.replace("max_trial_count: 2", "max_trial_count: zero"))
    with pytest.raises(InvalidExperiments) as raised:
        context.load(file)
    assert last_line(raised.value) == str(raised.value.problems[-1])
    assert last_line(UserError("one line")) == "one line"


def test_an_unmerged_file_defines_the_study_only(context, tmp_path):
    """/hpt run of a pull request's file: where and as whom come from the default branch's file,
    and environment variables for the trial's container run only as the default branch sets them."""
    from tests.scripts.github.project import BASE_EXPERIMENTS

    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(
        BASE_EXPERIMENTS.replace(
            "staging_bucket: ${HPT_STAGING_BUCKET:-gs://your-bucket}", "staging_bucket: gs://main-bucket"
        )
    )
    tricks = PR_EXPERIMENTS.replace(
        "  wide:\n",
        "  wide:\n    project: attacker-project\n    staging_bucket: gs://attacker\n"
        "    service_account: admin@attacker-project.iam.gserviceaccount.com\n",
    )
    head.write_text(tricks)
    trusted = context.load(base)
    compiled = context.compile(context.load(head), "wide", trusted=trusted)
    assert compiled.parent.startswith("projects/your-project/")
    assert compiled.job.trial_job_spec.service_account == ""
    assert compiled.job.trial_job_spec.base_output_directory.output_uri_prefix.startswith("gs://main-bucket/")

    head.write_text(
        tricks.replace(
            "      args: [--steps=2]\n", "      args: [--steps=2]\n      env: {PYTHONPATH: /tmp/x}\n"
        )
    )
    with pytest.raises(
        UserError, match=r"experiments.wide.trainer.env: environment variables for the trial's container"
    ):
        context.compile(context.load(head), "wide", trusted=trusted)
