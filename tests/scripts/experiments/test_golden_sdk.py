"""Golden tests: our compiled jobs equal what the real Vertex AI SDK classes build from the same arguments.

The SDK objects are constructed, never run: `aiplatform.init` with anonymous credentials and
`HyperparameterTuningJob(...)._gca_resource` is the message `run()` sends when it is given no
further arguments, as in the codelab (its service account, network, scheduling, web access and
TensorBoard arguments are set into that message just before sending). Where we differ
by design the test says so: display name, labels and the output directory are ours (the SDK
uses a timestamped directory); the SDK has no early-stopping or scheduling arguments at
construction, so those are checked against the message fields instead.
"""

from __future__ import annotations

import pytest

from scripts import images
from scripts.experiments import CompileContext, compile_experiment, load
from scripts.paths import EXPERIMENTS_FILE

aiplatform = pytest.importorskip("google.cloud.aiplatform")
hpt = pytest.importorskip("google.cloud.aiplatform.hyperparameter_tuning")

PROJECT, REGION, BUCKET = "your-project", "us-central1", "gs://your-bucket"  # the shipped placeholders


@pytest.fixture(scope="module")
def sdk():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform import initializer

    aiplatform.init(
        project=PROJECT, location=REGION, staging_bucket=BUCKET, credentials=AnonymousCredentials()
    )
    yield aiplatform
    initializer.global_config.__init__()  # leave the SDK's process-wide settings as they were


def ours(name: str):
    commit, tag = images.commit_and_tag("a" * 40)
    compiled = compile_experiment(
        load(EXPERIMENTS_FILE, {}), name, CompileContext(env={}, commit=commit, image_tag=tag)
    )
    image = compiled.job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri
    return compiled, compiled.job, image


def sdk_job(sdk, worker_pool_specs, **arguments):
    # as the codelab calls them; constructing sends nothing (run() would)
    custom_job = sdk.CustomJob(
        display_name="horses-humans", worker_pool_specs=worker_pool_specs, staging_bucket=BUCKET
    )
    job = sdk.HyperparameterTuningJob(display_name="horses-humans", custom_job=custom_job, **arguments)
    return job._gca_resource


def assert_same_but_identity(mine, theirs):
    """Equal messages once the fields we set by design (name, labels, output directory) are aligned."""
    theirs = type(theirs)(theirs)
    theirs.display_name = mine.display_name
    theirs.labels = dict(mine.labels)
    theirs.trial_job_spec.base_output_directory = mine.trial_job_spec.base_output_directory
    assert mine == theirs


def test_horses_humans_is_the_codelab_job(sdk):
    compiled, mine, image = ours("horses-humans")
    # The codelab's arguments, verbatim except for the image (gcr.io is retired; ours is Artifact Registry).
    worker_pool_specs = [
        {
            "machine_spec": {
                "machine_type": "n1-standard-4",
                "accelerator_type": "NVIDIA_TESLA_V100",
                "accelerator_count": 2,
            },
            "replica_count": 1,
            "container_spec": {"image_uri": image},
        }
    ]
    theirs = sdk_job(
        sdk,
        worker_pool_specs,
        metric_spec={"accuracy": "maximize"},
        parameter_spec={
            "learning_rate": hpt.DoubleParameterSpec(min=0.001, max=1, scale="log"),
            "momentum": hpt.DoubleParameterSpec(min=0, max=1, scale="linear"),
            "num_units": hpt.DiscreteParameterSpec(values=[64, 128, 512], scale=None),
        },
        max_trial_count=6,
        parallel_trial_count=2,
        search_algorithm=None,
    )
    # The SDK sends BEST_MEASUREMENT by default (the API's default is LAST); horses-humans says best.
    assert theirs.study_spec.measurement_selection_type.name == "BEST_MEASUREMENT"
    assert mine.study_spec == theirs.study_spec
    assert (mine.max_trial_count, mine.parallel_trial_count) == (6, 2)
    assert mine.trial_job_spec.worker_pool_specs == theirs.trial_job_spec.worker_pool_specs
    assert_same_but_identity(mine, theirs)
    assert image.startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer:inputs-")


def test_conditional_search_space_matches_the_sdk(sdk):
    _, mine, image = ours("horses-humans-conditional")
    batch_size = hpt.DiscreteParameterSpec(values=[32, 64, 128], scale=None, parent_values=[512])
    theirs = sdk_job(
        sdk,
        [
            {
                "machine_spec": {
                    "machine_type": "n1-standard-4",
                    "accelerator_type": "NVIDIA_TESLA_T4",
                    "accelerator_count": 1,
                },
                "replica_count": 1,
                "container_spec": {"image_uri": image},
            }
        ],
        metric_spec={"accuracy": "maximize"},
        parameter_spec={
            "learning_rate": hpt.DoubleParameterSpec(min=0.001, max=1, scale="log"),
            "momentum": hpt.DoubleParameterSpec(min=0, max=1, scale="linear"),
            "num_units": hpt.DiscreteParameterSpec(
                values=[64, 128, 512], scale=None, conditional_parameter_spec={"batch_size": batch_size}
            ),
        },
        max_trial_count=10,
        parallel_trial_count=2,
        search_algorithm=None,
        measurement_selection=None,
    )
    assert mine.study_spec == theirs.study_spec
    assert mine.trial_job_spec.worker_pool_specs == theirs.trial_job_spec.worker_pool_specs
    assert (
        mine.trial_job_spec.scheduling.timeout.total_seconds() == 90 * 60
    )  # not an SDK constructor argument


def test_grid_search_matches_the_sdk(sdk):
    _, mine, image = ours("horses-humans-grid")
    theirs = sdk_job(
        sdk,
        [
            {
                "machine_spec": {
                    "machine_type": "n1-standard-4",
                    "accelerator_type": "NVIDIA_TESLA_T4",
                    "accelerator_count": 1,
                },
                "replica_count": 1,
                "container_spec": {"image_uri": image},
            }
        ],
        metric_spec={"accuracy": "maximize"},
        parameter_spec={
            "learning_rate": hpt.DiscreteParameterSpec(values=[0.01, 0.1], scale=None),
            "momentum": hpt.DiscreteParameterSpec(values=[0.0, 0.9], scale=None),
            "num_units": hpt.DiscreteParameterSpec(values=[64, 128, 512], scale=None),
        },
        max_trial_count=12,
        parallel_trial_count=4,
        search_algorithm="grid",
        measurement_selection=None,
    )
    assert mine.study_spec == theirs.study_spec
    assert mine.trial_job_spec.worker_pool_specs == theirs.trial_job_spec.worker_pool_specs


def test_multi_worker_pools_match_the_sdk(sdk):
    _, mine, image = ours("horses-humans-multi-worker")
    pool = {
        "machine_spec": {
            "machine_type": "n1-standard-8",
            "accelerator_type": "NVIDIA_TESLA_T4",
            "accelerator_count": 2,
        },
        "disk_spec": {"boot_disk_type": "pd-ssd", "boot_disk_size_gb": 100},
        "container_spec": {"image_uri": image},
    }
    theirs = sdk_job(
        sdk,
        [{**pool, "replica_count": 1}, {**pool, "replica_count": 2}],
        metric_spec={"accuracy": "maximize"},
        parameter_spec={
            "learning_rate": hpt.DoubleParameterSpec(min=0.001, max=1, scale="log"),
            "momentum": hpt.DoubleParameterSpec(min=0, max=1, scale="linear"),
            "num_units": hpt.IntegerParameterSpec(min=64, max=512, scale=None),
        },
        max_trial_count=8,
        parallel_trial_count=2,
        search_algorithm="random",
        measurement_selection=None,
    )
    assert mine.study_spec == theirs.study_spec
    assert mine.trial_job_spec.worker_pool_specs == theirs.trial_job_spec.worker_pool_specs
    scheduling = mine.trial_job_spec.scheduling  # the SDK sets these in run(), not at construction
    assert scheduling.timeout.total_seconds() == 3 * 3600
    assert scheduling.restart_job_on_worker_restart
    assert scheduling.strategy == scheduling.Strategy.SPOT


def test_early_stopping_adds_only_the_stopping_rule_to_the_sdk_job(sdk):
    _, mine, image = ours("horses-humans-early-stopping")
    theirs = sdk_job(
        sdk,
        [
            {
                "machine_spec": {
                    "machine_type": "n1-standard-8",
                    "accelerator_type": "NVIDIA_TESLA_T4",
                    "accelerator_count": 1,
                },
                "replica_count": 1,
                "container_spec": {"image_uri": image, "args": ["--epochs=15"]},
            }
        ],
        metric_spec={"accuracy": "maximize"},
        parameter_spec={
            "learning_rate": hpt.DoubleParameterSpec(min=0.001, max=1, scale="log"),
            "momentum": hpt.DoubleParameterSpec(min=0.5, max=0.99, scale="reverse_log"),
            "num_units": hpt.DiscreteParameterSpec(values=[64, 128, 256, 512], scale=None),
        },
        max_trial_count=16,
        parallel_trial_count=4,
        max_failed_trial_count=3,
        measurement_selection="best",
    )
    # The SDK has no early-stopping argument: it is the one field ours adds to its study spec.
    assert "median_automated_stopping_spec" in mine.study_spec
    theirs.study_spec.median_automated_stopping_spec = type(mine.study_spec.median_automated_stopping_spec)()
    assert mine.study_spec == theirs.study_spec
    assert mine.max_failed_trial_count == theirs.max_failed_trial_count == 3
    assert mine.trial_job_spec.worker_pool_specs == theirs.trial_job_spec.worker_pool_specs
