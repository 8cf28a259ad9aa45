"""`${VAR}` reads an allow list: documented names only, an unknown one is a located problem."""

from __future__ import annotations

import pytest

from scripts.experiments import InvalidExperiments, load_text

FILE = """\
version: 1
defaults:
  project: ${GOOGLE_CLOUD_PROJECT:-my-project}
  region: ${GOOGLE_CLOUD_REGION:-us-central1}
  staging_bucket: ${HPT_STAGING_BUCKET:-gs://my-bucket}
  image: {repository: hpt, name: trainer}
experiments:
  exp:
    description: "creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}"
    metric: {id: accuracy, goal: maximize}
    parameters:
      lr: {type: double, min: 0.1, max: 0.9}
    max_trial_count: 2
    parallel_trial_count: 1
    worker_pools:
      - machine_type: n1-standard-4
    trainer:
      args: ["--token=${GITHUB_TOKEN}"]
"""


def test_an_unknown_variable_is_a_located_problem_whatever_the_environment_holds():
    env = {"GOOGLE_APPLICATION_CREDENTIALS": "/secret/key.json", "GITHUB_TOKEN": "ghs_x"}
    with pytest.raises(InvalidExperiments) as raised:
        load_text(FILE, "experiments.yaml", env)
    lines = [str(problem) for problem in raised.value.problems]
    allowed = (
        "use GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_REGION, HPT_ARTIFACT_REPOSITORY, HPT_IMAGE, "
        "HPT_STAGING_BUCKET or HPT_TRIAL_SERVICE_ACCOUNT"
    )
    assert lines[:2] == [
        "experiments.yaml:9:18: experiments.exp.description: ${GOOGLE_APPLICATION_CREDENTIALS} is not a "
        f"variable experiments files may read: {allowed}",
        "experiments.yaml:18:14: experiments.exp.trainer.args[0]: ${GITHUB_TOKEN} is not a "
        f"variable experiments files may read: {allowed}",
    ]
    assert "/secret/key.json" not in "\n".join(lines) and "ghs_x" not in "\n".join(lines)


def test_documented_variables_are_read():
    text = FILE.replace("creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}", "x").replace("${GITHUB_TOKEN}", "y")
    loaded = load_text(
        text,
        "experiments.yaml",
        {"GOOGLE_CLOUD_PROJECT": "real-project", "HPT_STAGING_BUCKET": "gs://real-bucket"},
    )
    assert loaded.names == ["exp"] or list(loaded.names) == ["exp"]


def test_a_bad_value_from_a_variable_names_the_reference_it_came_from():
    text = FILE.replace("creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}", "x").replace("${GITHUB_TOKEN}", "y")
    with pytest.raises(InvalidExperiments) as raised:
        load_text(text, "experiments.yaml", {"HPT_STAGING_BUCKET": "s3://my-bucket"})
    assert [str(problem) for problem in raised.value.problems] == [
        "experiments.yaml:5:19: defaults.staging_bucket: 's3://my-bucket' is not valid: expected BUCKET,"
        " gs://BUCKET or gs://BUCKET/PATH (from ${HPT_STAGING_BUCKET:-gs://my-bucket})"
    ]


@pytest.mark.parametrize("value", ["my-bucket", "my-bucket/", "gs://my-bucket", "gs://my-bucket/"])
def test_the_staging_bucket_variable_takes_a_bare_name_as_build_and_doctor_do(value):
    text = FILE.replace("creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}", "x").replace("${GITHUB_TOKEN}", "y")
    loaded = load_text(text, "experiments.yaml", {"HPT_STAGING_BUCKET": value})
    assert loaded.defaults.staging_bucket == "gs://my-bucket"


def test_a_secret_exported_with_the_settings_prefix_is_not_readable():
    # An HPT_ prefix does not make a variable a setting: only the documented names can be read,
    # so a secret someone exports as HPT_... never reaches a plan.
    text = FILE.replace("creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}", "leak=${HPT_SECRET_TOKEN}").replace(
        "${GITHUB_TOKEN}", "y"
    )
    with pytest.raises(InvalidExperiments) as raised:
        load_text(text, "experiments.yaml", {"HPT_SECRET_TOKEN": "hunter2"})
    lines = [str(problem) for problem in raised.value.problems]
    assert lines == [
        "experiments.yaml:9:18: experiments.exp.description: ${HPT_SECRET_TOKEN} is not a variable "
        "experiments files may read: use GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_REGION, HPT_ARTIFACT_REPOSITORY, "
        "HPT_IMAGE, HPT_STAGING_BUCKET or HPT_TRIAL_SERVICE_ACCOUNT"
    ]
    assert "hunter2" not in "\n".join(lines)


@pytest.mark.parametrize("name", ["HPT_MAX_COST", "HPT_STATE_DIR", "HPT_TRIALS"])
def test_settings_the_file_does_not_need_are_not_readable_either(name):
    text = FILE.replace("creds=${GOOGLE_APPLICATION_CREDENTIALS:-none}", f"${{{name}:-x}}").replace(
        "${GITHUB_TOKEN}", "y"
    )
    refused = rf"\${{{name}}} is not a variable experiments files may read"
    with pytest.raises(InvalidExperiments, match=refused):
        load_text(text, "experiments.yaml", {name: "1"})
