"""Compiling experiments: the job in the JSON mapping, identity, determinism, profiles and overrides."""

from __future__ import annotations

import json

import pytest
from google.cloud.aiplatform_v1.types import HyperparameterTuningJob

from scripts import git, images
from scripts.errors import UserError
from scripts.experiments import CompileContext, InvalidExperiments, compile_experiment, load, load_text
from scripts.jobs import labels
from scripts.paths import EXPERIMENTS_FILE

from .helpers import EXPERIMENT, HEADER

COMMIT = "0123456789abcdef0123456789abcdef01234567"
IMAGE_TAG = "inputs-0123456789abcdef"

# Every option of the format at least once, so that the round trip covers each JSON field.
KITCHEN_SINK = (
    HEADER
    + """\
  service_account: trainer@my-project.iam.gserviceaccount.com
  network: projects/123456/global/networks/vpc
  labels: {team: ml}
experiments:
  everything:
    description: every option
    metric: {id: loss, goal: minimize}
    parameters:
      lr: {type: double, min: 0.0001, max: 0.1, scale: log}
      decay: {type: double, min: 0.5, max: 0.999, scale: reverse_log}
      layers:
        type: integer
        min: 0
        max: 4
        children:
          - when: [2, 3]
            parameters:
              width: {type: integer, min: 8, max: 64, scale: linear}
      optimizer:
        type: categorical
        values: [sgd, adam]
        children:
          - when: [sgd]
            parameters:
              momentum:
                type: discrete
                values: [0, 0.5, 0.9]
                children:
                  - when: [0.9]
                    parameters:
                      nesterov: {type: categorical, values: ['true', 'false']}
    algorithm: random
    max_trial_count: 20
    parallel_trial_count: 5
    max_failed_trial_count: 2
    measurement_selection: last
    early_stopping:
      rule: convex
      max_step_count: 10
      min_step_count: 2
      min_measurement_count: 3
      learning_rate_parameter_name: lr
      use_elapsed_duration: true
      update_all_stopped_trials: false
    worker_pools:
      - machine_type: a2-highgpu-1g
        accelerator: {type: NVIDIA_TESLA_A100, count: 1}
        boot_disk: {type: pd-ssd, size_gb: 200}
        env: {ROLE: chief}
      - machine_type: n1-standard-8
        accelerator: {type: NVIDIA_TESLA_T4, count: 2}
        replica_count: 3
      - ~
      - machine_type: n1-standard-4
        args: [--evaluator]
    trainer:
      args: [--epochs=5, --data=tfds:horses_or_humans]
      env: {TF_CPP_MIN_LOG_LEVEL: 2, DATA_DIR: /data}
    timeout: 2h30m
    restart_job_on_worker_restart: true
    scheduling_strategy: spot
    enable_web_access: true
    region: europe-west4
    labels: {cost-center: research}
"""
)


def compiled(text: str = HEADER + EXPERIMENT, name: str = "exp", **context):
    context.setdefault("env", {})
    context.setdefault("commit", COMMIT)
    context.setdefault("image_tag", IMAGE_TAG)
    return compile_experiment(
        load_text(text, "experiments.yaml", context["env"]), name, CompileContext(**context)
    )


def shipped(name: str, **context):
    context.setdefault("env", {})
    context.setdefault("commit", COMMIT)
    context.setdefault("image_tag", IMAGE_TAG)
    return compile_experiment(load(EXPERIMENTS_FILE, context["env"]), name, CompileContext(**context))


def _without_labels(job_json: dict) -> dict:
    return {key: value for key, value in job_json.items() if key != "labels"}


@pytest.mark.parametrize("name", [*load(EXPERIMENTS_FILE, {}).names, "everything"])
def test_the_json_is_exactly_what_the_real_message_prints(name):
    result = compiled(KITCHEN_SINK, name) if name == "everything" else shipped(name)
    message = HyperparameterTuningJob.from_json(result.to_json())  # unknown fields would raise
    printed = HyperparameterTuningJob.to_json(
        message, use_integers_for_enums=False, always_print_fields_with_no_presence=False
    )
    assert json.loads(printed) == result.job_json
    # byte for byte, but for the order of the label map (the message keeps no order for maps)
    assert json.dumps(_without_labels(json.loads(printed)), indent=2) == json.dumps(
        _without_labels(result.job_json), indent=2
    )
    assert result.job == message


def test_kitchen_sink_fields_reach_the_message():
    job = compiled(KITCHEN_SINK, "everything").job
    study = job.study_spec
    assert study.algorithm == study.Algorithm.RANDOM_SEARCH
    assert study.measurement_selection_type == study.MeasurementSelectionType.LAST_MEASUREMENT
    assert study.convex_automated_stopping_spec.learning_rate_parameter_name == "lr"
    assert "update_all_stopped_trials" in study.convex_automated_stopping_spec  # optional, set to false
    layers = study.parameters[2]
    assert layers.integer_value_spec.min_value == 0 and "default_value" not in layers.integer_value_spec
    assert list(layers.conditional_parameter_specs[0].parent_int_values.values) == [2, 3]
    momentum = study.parameters[3].conditional_parameter_specs[0]
    assert list(momentum.parent_categorical_values.values) == ["sgd"]
    nesterov = momentum.parameter_spec.conditional_parameter_specs[0]
    assert list(nesterov.parent_discrete_values.values) == [0.9]
    pools = job.trial_job_spec.worker_pool_specs
    assert [pool.replica_count for pool in pools] == [1, 3, 0, 1]
    assert pools[2] == type(pools[2])()  # the skipped position is an empty pool
    assert list(pools[3].container_spec.args) == ["--epochs=5", "--data=tfds:horses_or_humans", "--evaluator"]
    assert {env.name: env.value for env in pools[0].container_spec.env} == {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "DATA_DIR": "/data",
        "ROLE": "chief",
    }
    scheduling = job.trial_job_spec.scheduling
    assert scheduling.timeout.total_seconds() == 2.5 * 3600
    assert scheduling.strategy == scheduling.Strategy.SPOT and scheduling.restart_job_on_worker_restart
    assert job.trial_job_spec.enable_web_access
    assert job.trial_job_spec.service_account == "trainer@my-project.iam.gserviceaccount.com"
    assert job.trial_job_spec.network == "projects/123456/global/networks/vpc"
    assert job.labels["team"] == "ml" and job.labels["cost-center"] == "research"


def test_no_command_is_set_so_the_image_entrypoint_runs_the_trainer():
    for name in load(EXPERIMENTS_FILE, {}).names:
        for pool in shipped(name).job.trial_job_spec.worker_pool_specs:
            assert list(pool.container_spec.command) == []


def test_identity_labels_display_name_and_where_it_goes():
    result = compiled(pull_request=42, repository="Octo-Org/Vertex.HPT")
    job = result.job_json
    assert job["labels"][labels.EXPERIMENT] == "exp"
    assert job["labels"][labels.SPEC_HASH] == result.spec_hash
    assert job["labels"][labels.COMMIT] == COMMIT
    assert job["labels"][labels.PULL_REQUEST] == "42"
    # the normalized name, then a hash of the exact name: `Octo-Org/Vertex-HPT` gets another value
    assert job["labels"][labels.REPOSITORY] == "octo-org-vertex-hpt-74e58a925c"
    assert job["labels"][labels.MANAGED_BY] == labels.MANAGED_BY_VALUE
    assert job["displayName"] == "exp-0123456"
    assert (result.project, result.location, result.parent) == (
        "my-project",
        "us-central1",
        "projects/my-project/locations/us-central1",
    )
    assert job["trialJobSpec"]["baseOutputDirectory"]["outputUriPrefix"] == (
        f"gs://my-bucket/hpt/exp/{result.spec_hash[:12]}-{COMMIT}"  # the full commit: 7 hex may be shared
    )


def test_the_image_is_the_one_built_for_the_commit():
    commit, tag = images.commit_and_tag("HEAD")
    result = compiled(commit=commit, image_tag=tag)
    image = result.job_json["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["imageUri"]
    assert image == images.image_uri(
        "us-central1", "my-project", "hpt", "trainer", images.content_tag("HEAD")
    )
    tagged = compiled(image_tag="inputs-feedface")
    assert tagged.job_json["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["imageUri"].endswith(
        "/my-project/hpt/trainer:inputs-feedface"
    )


def test_an_explicit_image_uri_is_used_as_written():
    text = (
        HEADER.replace(
            "image: {repository: hpt, name: trainer}", "image: {uri: 'europe-docker.pkg.dev/p/r/t:v1'}"
        )
        + EXPERIMENT
    )
    image = compiled(text, image_tag=None).job_json["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert image["imageUri"] == "europe-docker.pkg.dev/p/r/t:v1"


def test_the_image_tag_comes_from_the_caller():
    with pytest.raises(ValueError, match="image_tag"):
        compiled(image_tag=None)


def test_compiling_twice_gives_the_same_job():
    assert compiled().to_json() == compiled().to_json()


def test_the_spec_hash_ignores_who_asks_and_which_image_tag():
    base = compiled()
    other = compiled(commit="f" * 40, pull_request=7, repository="a/b", image_tag="inputs-other")
    assert other.spec_hash == base.spec_hash
    assert other.job_json["labels"][labels.COMMIT] != base.job_json["labels"][labels.COMMIT]
    # same study, different commit: a different output directory, so two runs never share one
    assert (
        other.job_json["trialJobSpec"]["baseOutputDirectory"]
        != base.job_json["trialJobSpec"]["baseOutputDirectory"]
    )


def test_the_spec_hash_follows_the_study():
    base = compiled().spec_hash
    assert compiled(HEADER + EXPERIMENT.replace("max: 1,", "max: 0.5,")).spec_hash != base
    assert compiled(profile=None, overrides={"max_trial_count": 5}).spec_hash != base
    reformatted = (
        HEADER
        + EXPERIMENT.replace(
            "    max_trial_count: 4\n    parallel_trial_count: 2\n",
            "    parallel_trial_count: 2   # reordered, commented\n    max_trial_count: 4\n",
        ).replace("description", "")
        + "    description: words do not define a study\n    labels: {x: y}\n"
    )
    assert compiled(reformatted).spec_hash == base


def test_environment_references_resolve_from_the_context(monkeypatch):
    # A variable of the repository's own is read once it is added to the allow list (docs/experiments.md).
    from scripts.experiments import environment

    monkeypatch.setattr(environment, "ALLOWED", environment.ALLOWED | {"HPT_TRIALS"})
    text = HEADER.replace(
        "project: my-project", "project: ${GOOGLE_CLOUD_PROJECT:-placeholder-project}"
    ) + EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: ${HPT_TRIALS:-4}")
    assert compiled(text).project == "placeholder-project"
    result = compiled(text, env={"GOOGLE_CLOUD_PROJECT": "real-project", "HPT_TRIALS": "8"})
    assert result.parent == "projects/real-project/locations/us-central1"
    assert result.job_json["maxTrialCount"] == 8


def test_an_unset_variable_fails_the_compile_at_its_line():
    text = HEADER.replace("project: my-project", "project: ${GOOGLE_CLOUD_PROJECT}") + EXPERIMENT
    loaded = load_text(text, "experiments.yaml", {"GOOGLE_CLOUD_PROJECT": "at-load-time"})
    with pytest.raises(InvalidExperiments) as raised:
        compile_experiment(loaded, "exp", CompileContext(env={}, commit=COMMIT, image_tag=IMAGE_TAG))
    assert [str(p) for p in raised.value.problems] == [
        "experiments.yaml:2:12: defaults.project: ${GOOGLE_CLOUD_PROJECT} is not set in the environment "
        "and has no default (write ${GOOGLE_CLOUD_PROJECT:-default})"
    ]


def test_the_offline_profile_appends_trainer_args_and_keeps_the_counts():
    plain = shipped("horses-humans")
    offline = shipped("horses-humans", profile="offline")
    args = offline.job_json["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"]
    assert "--data=synthetic" in args and any(arg.startswith("--epochs=") for arg in args)
    assert offline.job_json["maxTrialCount"] == 6 and offline.job_json["parallelTrialCount"] == 2
    assert offline.spec_hash != plain.spec_hash


def test_overrides_set_fields_and_are_checked_like_the_file():
    result = shipped(
        "horses-humans", overrides={"max_trial_count": "3", "worker_pools.0.machine_type": "n1-standard-8"}
    )
    assert result.job_json["maxTrialCount"] == 3
    assert (
        result.job_json["trialJobSpec"]["workerPoolSpecs"][0]["machineSpec"]["machineType"] == "n1-standard-8"
    )
    with pytest.raises(InvalidExperiments) as raised:
        shipped("horses-humans", overrides={"parallel_trial_count": 2, "max_trial_count": "zero"})
    assert [str(p) for p in raised.value.problems] == [
        "--set:2:1: experiments.horses-humans.max_trial_count: expected an integer, got text ('zero')"
    ]
    with pytest.raises(InvalidExperiments) as raised:
        shipped("horses-humans", overrides={"max_trials": 3})
    assert [str(p) for p in raised.value.problems] == [
        "--set:1:1: experiments.horses-humans.max_trials: "
        "unknown key 'max_trials' (did you mean 'max_trial_count'?)"
    ]
    with pytest.raises(InvalidExperiments) as raised:
        shipped("horses-humans", overrides={"worker_pools[3].machine_type": "n1-standard-4"})
    assert "no such field to set" in str(raised.value)


def test_unknown_experiment_and_profile_list_the_known_ones():
    with pytest.raises(
        UserError, match=r"unknown experiment 'nope' in .*experiments.yaml \(known: horses-humans, "
    ):
        shipped("nope")
    with pytest.raises(InvalidExperiments, match=r"unknown profile 'fast' \(known: offline\)"):
        shipped("horses-humans", profile="fast")


def test_a_misspelt_experiment_or_profile_suggests_the_closest_name():
    with pytest.raises(
        UserError, match=r"unknown experiment 'horses-humas' \(did you mean 'horses-humans'\?\)"
    ):
        shipped("horses-humas")
    with pytest.raises(InvalidExperiments, match=r"unknown profile 'ofline' \(did you mean 'offline'\?\)"):
        shipped("horses-humans", profile="ofline")


def test_an_empty_optional_setting_is_unset_and_dollar_dollar_is_literal():
    text = HEADER.replace(
        "project: my-project", "project: my-project\n  service_account: ${HPT_TRIAL_SERVICE_ACCOUNT:-}"
    ) + (EXPERIMENT + "    trainer:\n      args: ['--template=$${HOME}/x']\n")
    job = compiled(text).job_json
    assert "serviceAccount" not in job["trialJobSpec"]
    assert job["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"] == ["--template=${HOME}/x"]
    account = "trial@my-project.iam.gserviceaccount.com"
    with_account = compiled(text, env={"HPT_TRIAL_SERVICE_ACCOUNT": account}).job_json
    assert with_account["trialJobSpec"]["serviceAccount"] == "trial@my-project.iam.gserviceaccount.com"


def test_an_override_can_replace_a_list():
    result = shipped("horses-humans", overrides={"parameters.num_units.values": "[64, 128]"})
    assert result.job.study_spec.parameters[2].discrete_value_spec.values == [64.0, 128.0]
    with pytest.raises(InvalidExperiments, match=r"--set:1:1: .*values must be increasing"):
        shipped("horses-humans", overrides={"parameters.num_units.values": "[128, 64]"})


def test_a_compiled_experiment_made_from_a_message_gives_the_same_json():
    from scripts.experiments import CompiledExperiment

    original = shipped("horses-humans-multi-worker")
    rebuilt = CompiledExperiment(
        original.name,
        original.project,
        original.location,
        original.parent,
        job=original.job,
        spec_hash=original.spec_hash,
    )
    assert rebuilt.job_json == original.job_json


def test_a_revision_name_is_labelled_with_its_full_commit():
    head = git.head_commit()
    if head is None:
        pytest.skip("not in a git checkout")
    commit, tag = images.commit_and_tag("HEAD")
    assert compiled(commit=commit, image_tag=tag).job_json["labels"][labels.COMMIT] == head
    assert images.commit_and_tag(head[:10]) == images.commit_and_tag(head) == (head, tag)


def test_outside_git_the_job_says_so():
    job = compiled(commit=None).job_json
    assert job["labels"][labels.COMMIT] == "none"
    assert job["displayName"] == "exp-nocommit"
    assert job["trialJobSpec"]["baseOutputDirectory"]["outputUriPrefix"].endswith("-nocommit")


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("median", "median_automated_stopping_spec"),
        ("decay_curve", "decay_curve_stopping_spec"),
        ("convex", "convex_automated_stopping_spec"),
    ],
)
def test_each_stopping_rule_sets_its_field_of_the_v1_study_spec(rule, field):
    text = HEADER + EXPERIMENT + f"    early_stopping: {{rule: {rule}, use_elapsed_duration: true}}\n"
    result = compiled(text)
    study = result.job.study_spec
    assert study._pb.WhichOneof("automated_stopping_spec") == field
    assert getattr(study, field).use_elapsed_duration
    assert HyperparameterTuningJob.from_json(result.to_json()) == result.job


def test_override_values_are_read_as_yaml_once():
    from scripts.experiments import parse_overrides

    overrides = parse_overrides(["max_trial_count=3", "description='3'", "trainer.args=[--epochs=2]"])
    assert overrides == {"max_trial_count": "3", "description": "'3'", "trainer.args": "[--epochs=2]"}
    result = shipped("horses-humans", overrides=overrides)
    assert result.experiment.description == "3" and result.experiment.max_trial_count == 3
    assert result.experiment.trainer_args == ("--epochs=2",)
