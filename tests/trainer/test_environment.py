"""Vertex's environment: output paths, CLUSTER_SPEC -> TF_CONFIG, who is chief."""

from __future__ import annotations

import json

import pytest

from trainer.environment import (
    Cluster,
    cluster_from_environment,
    ensure_tf_config,
    output_paths,
    tf_config_from_cluster_spec,
)
from trainer.errors import TrainerUserError

# What Vertex sets for a chief pool of 1 and a worker pool of 2 (documented CLUSTER_SPEC format).
CLUSTER_SPEC = {
    "cluster": {
        "workerpool0": ["cmle-training-workerpool0-ab-0:2222"],
        "workerpool1": ["cmle-training-workerpool1-ab-0:2222", "cmle-training-workerpool1-ab-1:2222"],
    },
    "environment": "cloud",
    "task": {"type": "workerpool1", "index": 1, "trial": "3"},
    "job": '{"python_module":"","package_uris":[],"job_args":[]}',
}


def test_vertex_output_paths_are_read_from_the_environment():
    environ = {
        "AIP_MODEL_DIR": "gs://bucket/out/3/model/",
        "AIP_CHECKPOINT_DIR": "gs://bucket/out/3/checkpoints/",
        "AIP_TENSORBOARD_LOG_DIR": "gs://bucket/out/3/logs/",
    }
    paths = output_paths(environ)
    assert paths.model_dir == "gs://bucket/out/3/model/"
    assert paths.checkpoint_dir == "gs://bucket/out/3/checkpoints/"
    assert paths.tensorboard_dir == "gs://bucket/out/3/logs/"
    assert output_paths(environ, model_dir_flag="/tmp/m").model_dir == "/tmp/m"
    assert output_paths({}) == output_paths({"AIP_MODEL_DIR": ""})
    assert output_paths({}).model_dir is None


def test_cluster_spec_becomes_tf_config_with_pool0_as_chief():
    assert tf_config_from_cluster_spec(CLUSTER_SPEC) == {
        "cluster": {
            "chief": ["cmle-training-workerpool0-ab-0:2222"],
            "worker": ["cmle-training-workerpool1-ab-0:2222", "cmle-training-workerpool1-ab-1:2222"],
        },
        "task": {"type": "worker", "index": 1},
    }


def test_tf_config_is_derived_only_when_missing():
    environ = {"CLUSTER_SPEC": json.dumps(CLUSTER_SPEC)}
    ensure_tf_config(environ)
    assert json.loads(environ["TF_CONFIG"])["task"] == {"type": "worker", "index": 1}
    given = {"CLUSTER_SPEC": json.dumps(CLUSTER_SPEC), "TF_CONFIG": '{"task": {"type": "chief", "index": 0}}'}
    ensure_tf_config(given)
    assert given["TF_CONFIG"] == '{"task": {"type": "chief", "index": 0}}'


@pytest.mark.parametrize(
    ("tf_config", "expected"),
    [
        (None, Cluster("chief", 0, 1)),
        (
            {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}},
            Cluster("worker", 0, 2, has_chief=False),
        ),
        (
            {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}},
            Cluster("worker", 1, 2, has_chief=False),
        ),
        (
            {"cluster": {"chief": ["c:1"], "worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}},
            Cluster("worker", 0, 3),
        ),
        ({"cluster": {"chief": ["c:1"]}, "task": {"type": "chief", "index": 0}}, Cluster("chief", 0, 1)),
    ],
)
def test_cluster_from_tf_config(tf_config, expected):
    environ = {} if tf_config is None else {"TF_CONFIG": json.dumps(tf_config)}
    assert cluster_from_environment(environ) == expected


def test_only_one_task_is_chief():
    # With a chief task, worker 0 is not the chief; without one, worker 0 is.
    assert Cluster("chief", 0, 3).is_chief
    assert not Cluster("worker", 0, 3, has_chief=True).is_chief
    assert not Cluster("worker", 1, 2, has_chief=False).is_chief
    spec_with_chief = {
        "cluster": {"chief": ["c:1"], "worker": ["a:1"]},
        "task": {"type": "worker", "index": 0},
    }
    assert not cluster_from_environment({"TF_CONFIG": json.dumps(spec_with_chief)}).is_chief
    spec_without = {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}
    assert cluster_from_environment({"TF_CONFIG": json.dumps(spec_without)}).is_chief
    assert Cluster().is_chief and not Cluster().is_multi_worker


def test_unreadable_tf_config_is_a_user_error():
    with pytest.raises(TrainerUserError, match="TF_CONFIG is not JSON"):
        cluster_from_environment({"TF_CONFIG": "{not json"})
