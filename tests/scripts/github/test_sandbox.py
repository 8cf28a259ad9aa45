"""The one child process of the flows: a pull request's file is planned where no credential exists."""

from __future__ import annotations

import os
import subprocess

import pytest

from scripts.github import environment, sandbox
from tests.scripts.github.project import BASE_EXPERIMENTS, PR_EXPERIMENTS

SECRETS = {
    "GITHUB_TOKEN": "ghs_secret",
    "ACTIONS_RUNTIME_TOKEN": "runtime-secret",
    "GOOGLE_APPLICATION_CREDENTIALS": "/tmp/gha-creds-secret.json",
}


def test_a_trusted_file_sees_everything_but_the_tokens():
    env = environment.trusted({**SECRETS, "GITHUB_SHA": "a" * 40, "HPT_STAGING_BUCKET": "gs://b"})
    assert env == {
        "GITHUB_SHA": "a" * 40,
        "HPT_STAGING_BUCKET": "gs://b",
        "GOOGLE_APPLICATION_CREDENTIALS": "/tmp/gha-creds-secret.json",
    }


def test_an_untrusted_file_sees_only_the_settings_it_reads():
    env = environment.untrusted(
        {
            **SECRETS,
            "PATH": "/usr/bin",
            "GOOGLE_CLOUD_PROJECT": "p",
            "HPT_STAGING_BUCKET": "gs://b",
            "HPT_MAX_COST": "200",
            "HPT_SECRET_TOKEN": "hunter2",
            "GITHUB_SHA": "a",
        }
    )
    # The settings the plan reads (the file's `${VAR}` allow list, the budget), not every HPT_ name.
    assert env == {
        "PATH": "/usr/bin",
        "GOOGLE_CLOUD_PROJECT": "p",
        "HPT_STAGING_BUCKET": "gs://b",
        "HPT_MAX_COST": "200",
    }


@pytest.fixture
def files(tmp_path, monkeypatch):
    # The variables an experiments file may read are an allow list (the documented settings): the
    # child has none of the secrets, whatever the file names.
    monkeypatch.delenv("HPT_IMAGE", raising=False)
    probing = PR_EXPERIMENTS.replace("The stand-in's slope tuned too.", "probe=${HPT_IMAGE:-unset}")
    head, base = tmp_path / "head.yaml", tmp_path / "base.yaml"
    head.write_text(probing)
    base.write_text(BASE_EXPERIMENTS)
    return head, base


def test_a_file_naming_a_credential_gets_located_problems_not_its_value(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    head = tmp_path / "head.yaml"
    head.write_text(
        PR_EXPERIMENTS.replace(
            "The stand-in's slope tuned too.",
            "token=${GITHUB_TOKEN:-withheld} creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}",
        )
    )
    plan = sandbox.plan_of_files(sandbox.PlanFiles(head, head, None), env=os.environ)
    assert not plan.valid
    # Named as its author knows it, not by the copy the flow wrote.
    assert plan.problems[0].startswith(
        "experiments.yaml:23:18: experiments.wide.description: ${GITHUB_TOKEN} is not"
    )
    assert "${GOOGLE_APPLICATION_CREDENTIALS} is not" in plan.problems[1]
    assert not any(secret in "\n".join(plan.problems) for secret in SECRETS.values())


def test_a_secret_exported_as_hpt_something_is_neither_read_nor_in_the_child(tmp_path, monkeypatch):
    # `/hpt plan` of a pull request's file: a secret named with the settings' prefix is a located
    # problem, and the child that plans the file does not even hold it.
    monkeypatch.setenv("HPT_SECRET_TOKEN", "hunter2")
    head = tmp_path / "head.yaml"
    head.write_text(PR_EXPERIMENTS.replace("The stand-in's slope tuned too.", "leak=${HPT_SECRET_TOKEN:-no}"))
    default_branch = tmp_path / "default-branch.yaml"
    default_branch.write_text(BASE_EXPERIMENTS)

    plan = sandbox.plan_of_files(sandbox.PlanFiles(head, default_branch, None), env=os.environ)

    assert not plan.valid
    # FILE:LINE:COL (the file as the plan names it), the field, and what may be read instead
    assert (
        ":23:18: experiments.wide.description: ${HPT_SECRET_TOKEN} is not a variable "
        "experiments files may read: use GOOGLE_CLOUD_PROJECT,"
    ) in plan.problems[0]
    assert "hunter2" not in "\n".join(plan.problems)
    assert "HPT_SECRET_TOKEN" not in environment.untrusted(os.environ)


def test_the_plan_is_computed_in_a_child_without_credentials(files, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    started = []
    real_run = subprocess.run

    def run(command, **options):
        started.append((command, options["env"]))
        return real_run(command, **options)

    monkeypatch.setattr(sandbox.subprocess, "run", run)
    head, base = files

    plan = sandbox.plan_of_files(sandbox.PlanFiles(head, base, base), env=os.environ)

    ((command, env),) = started
    assert command[1:4] == ["-m", "scripts.github.sandbox", "plan"]
    assert env == environment.untrusted(os.environ) and not set(SECRETS) & set(env)
    assert plan.valid and [(c.experiment, c.kind) for c in plan.changes] == [("wide", "added")]
    ((name, markdown),) = plan.plans
    assert name == "wide" and "probe=unset" in markdown
    assert not any(secret in markdown for secret in SECRETS.values())


def test_an_invalid_file_gives_its_problems_as_validate_prints_them(tmp_path):
    head = tmp_path / "head.yaml"
    head.write_text(PR_EXPERIMENTS.replace("max_trial_count: 2", "max_trial_count: zero", 1))

    plan = sandbox.plan_of_files(sandbox.PlanFiles(head, head, None), env=os.environ)

    assert not plan.valid and plan.plans == [] and plan.changes == []
    assert plan.problems[0].startswith("experiments.yaml:16:22: experiments.quick.max_trial_count: ")
    assert plan.problems[-1] == "experiments.yaml: 1 problem"


def test_without_a_valid_base_every_experiment_is_added(files, tmp_path):
    head, _ = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 7\n")
    for base in (None, broken):
        plan = sandbox.plan_of_files(sandbox.PlanFiles(head, head, base), env=os.environ)
        assert [(c.experiment, c.kind) for c in plan.changes] == [("quick", "added"), ("wide", "added")]
