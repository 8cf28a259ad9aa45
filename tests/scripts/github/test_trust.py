"""The trust policy for a pull request's experiments file: it defines the study, nothing else.

What `/hpt run` submits before a merge, and what the plan says about it: where and as whom from
the default branch, no container environment and no storage location of the pull request's own,
each refusal located in the file, each ignored setting named in the plan.
"""

from __future__ import annotations

import pytest

from scripts.experiments import InvalidExperiments
from scripts.github import environment
from scripts.github.compiling import StepContext
from scripts.github.planning import plan_markdown
from scripts.github.trust import names_location
from tests.scripts.github.project import BASE_EXPERIMENTS, PR_EXPERIMENTS

HEAD = "1a2b3c4" + "d" * 33


@pytest.fixture
def context() -> StepContext:
    env = environment.trusted({"GITHUB_SHA": "c" * 40, "HPT_STAGING_BUCKET": "gs://main-bucket"})
    return StepContext(env, HEAD, "inputs-0123456789abcdef", "octo-org/hpt-demo")


def load(context: StepContext, tmp_path, text: str, name: str = "head"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return context.load(path, "experiments.yaml")


def with_wide_args(args: str) -> str:
    return PR_EXPERIMENTS.replace("      args: [--steps=2]\n", "", 1).replace(
        "    trainer:\n      args: [--steps=2]\n", f"    trainer:\n      args: {args}\n"
    )


@pytest.mark.parametrize(
    ("arg", "location"),
    [
        ("--data=dir:gs://attacker/images", True),
        ("--data", False),
        ("dir:../elsewhere", True),  # `--data dir:…` as two args
        ("--data=tfds:horses_or_humans", False),
        ("--data=synthetic", False),
        ("--model_dir=/gcs/attacker/model", True),
        ("--tfds_data_dir", True),
        ("gs://attacker/x", True),
        ("/mnt/secret", True),
        ("--output=https://attacker.example/upload", True),
        ("--epochs=5", False),
        ("--steps=2", False),
        ("--augment=flip", False),
    ],
)
def test_what_names_a_location(arg, location):
    assert names_location(arg) is location


def test_an_unmerged_file_may_not_choose_where_the_trial_reads_or_writes(context, tmp_path):
    trusted = load(context, tmp_path, BASE_EXPERIMENTS, "base")
    head = load(
        context, tmp_path, with_wide_args("[--steps=2, --data=dir:gs://attacker/x, --model_dir=gs://a/m]")
    )

    with pytest.raises(InvalidExperiments) as raised:
        context.compile(head, "wide", trusted=trusted)

    shown = [str(problem) for problem in raised.value.problems]
    assert [line.split(": ", 2)[1] for line in shown] == [
        "experiments.wide.trainer.args[1]",
        "experiments.wide.trainer.args[2]",
    ]
    assert all(line.startswith("experiments.yaml:") for line in shown)
    assert "may not choose where the trial reads or writes" in shown[0]


def test_locations_the_default_branch_already_names_are_run(context, tmp_path):
    """The same experiment on the default branch reads `dir:gs://main-bucket/data`: the pull request
    may keep it and change the study around it."""
    main_args = "[--steps=2, --data=dir:gs://main-bucket/data]"
    trusted = load(context, tmp_path, with_wide_args(main_args), "base")
    head = load(
        context,
        tmp_path,
        with_wide_args(main_args).replace(
            "max_trial_count: 2\n    parallel", "max_trial_count: 3\n    parallel"
        ),
    )
    compiled = context.compile(head, "wide", trusted=trusted)
    assert (
        "--data=dir:gs://main-bucket/data"
        in compiled.job.trial_job_spec.worker_pool_specs[0].container_spec.args
    )


def test_where_and_as_whom_come_from_the_default_branchs_experiment_of_that_name(context, tmp_path):
    trusted = load(
        context, tmp_path, PR_EXPERIMENTS.replace("  wide:\n", "  wide:\n    region: europe-west4\n"), "base"
    )
    head = load(context, tmp_path, PR_EXPERIMENTS.replace("  wide:\n", "  wide:\n    region: asia-east1\n"))
    compiled = context.compile(head, "wide", trusted=trusted)
    assert compiled.location == "europe-west4"


def test_the_plan_of_an_unmerged_file_is_the_job_run_submits_and_flags_what_it_ignores(context, tmp_path):
    trusted = load(context, tmp_path, BASE_EXPERIMENTS, "base")
    head = load(
        context,
        tmp_path,
        PR_EXPERIMENTS.replace(
            "  wide:\n", "  wide:\n    project: attacker-project\n    staging_bucket: gs://attacker-bucket\n"
        ),
    )
    markdown = plan_markdown(head, "wide", context, trusted=trusted)
    submitted = context.compile(head, "wide", trusted=trusted)

    assert f"`{submitted.spec_hash}`" in markdown
    assert "`your-project`" in markdown and "attacker-project" in markdown.split("#### Before the merge")[1]
    assert "`project`: `attacker-project` (the default branch's: `your-project`)" in markdown
    assert "`staging_bucket`: `gs://attacker-bucket` (the default branch's: `gs://main-bucket`)" in markdown
    assert "  /hpt run wide 1a2b3c4\n" in markdown


def test_a_plan_shows_what_run_refuses_instead_of_failing_the_pull_request(context, tmp_path):
    """A same-repository pull request that adds trainer.env is a valid change: merging runs it.
    Its plan is not a problem (the check stays green); it says `/hpt run` will not run it first."""
    trusted = load(context, tmp_path, BASE_EXPERIMENTS, "base")
    head = load(context, tmp_path, with_wide_args("[--steps=2]\n      env: {DATA: gs://somewhere}"))
    markdown = plan_markdown(head, "wide", context, trusted=trusted)

    assert "`/hpt run` does not submit this experiment before the merge" in markdown
    assert "experiments.wide.trainer.env" in markdown
    assert "/hpt run wide" not in markdown


TRIAL_ACCOUNT = "    service_account: hpt-trial@your-project.iam.gserviceaccount.com\n"


def test_a_pull_request_may_not_choose_where_the_trials_logs_stream(context, tmp_path):
    """The trial service account uploads to the TensorBoard: an unmerged file's instance is ignored
    (the default branch's, here none, is used) and the plan names what it ignored."""
    trusted = load(context, tmp_path, BASE_EXPERIMENTS, "base")
    theirs = "projects/attacker-project/locations/us-central1/tensorboards/1"
    head = load(
        context,
        tmp_path,
        PR_EXPERIMENTS.replace("  wide:\n", f"  wide:\n{TRIAL_ACCOUNT}    tensorboard: {theirs}\n"),
    )
    assert head.experiments["wide"].settings.tensorboard == theirs

    submitted = context.compile(head, "wide", trusted=trusted)
    assert "tensorboard" not in submitted.job_json["trialJobSpec"]
    markdown = plan_markdown(head, "wide", context, trusted=trusted)
    assert f"`tensorboard`: `{theirs}` (the default branch's: `unset`)" in markdown
    # After the merge the file is the default branch's: its instance is used.
    merged = context.compile(head, "wide")
    assert merged.job.trial_job_spec.tensorboard == theirs


def test_the_default_branchs_tensorboard_is_kept_whatever_the_pull_request_writes(context, tmp_path):
    ours = "    tensorboard: '1234'\n"
    base = BASE_EXPERIMENTS.replace(
        "    name: trainer\n", "    name: trainer\n" + TRIAL_ACCOUNT[2:] + ours[2:]
    )
    trusted = load(context, tmp_path, base, "base")
    head = load(
        context,
        tmp_path,
        PR_EXPERIMENTS.replace(
            "    name: trainer\n", "    name: trainer\n" + TRIAL_ACCOUNT[2:] + ours[2:]
        ).replace("  wide:\n", "  wide:\n    tensorboard: '666'\n"),
    )
    submitted = context.compile(head, "wide", trusted=trusted)
    assert submitted.job.trial_job_spec.tensorboard.endswith("/tensorboards/1234")
