"""What Vertex AI tells a trial through its environment: output paths and the cluster.

Vertex sets `AIP_MODEL_DIR`, `AIP_CHECKPOINT_DIR` and `AIP_TENSORBOARD_LOG_DIR` (usually
`gs://` paths under `<base_output_directory>/<trial_id>/`), and for multi-replica pools
`CLUSTER_SPEC` (its own format) and `TF_CONFIG`. No TensorFlow here.

The trainer's one door to its process environment is `process_environment()`: the other modules
take the mapping it returns. Writes go there too (`TF_CONFIG`, TensorFlow's `TF_*` settings),
because TensorFlow reads them from the process environment when it loads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from trainer.errors import TrainerUserError

# Vertex worker pools, in order, and the TF_CONFIG task type each one plays.
_POOL_ROLES = {
    "workerpool0": "chief",
    "workerpool1": "worker",
    "workerpool2": "ps",
    "workerpool3": "evaluator",
}


@dataclass(frozen=True)
class Cluster:
    """This process's place in a (possibly one-process) training cluster."""

    task_type: str = "chief"
    task_index: int = 0
    num_workers: int = 1  # chief + workers: the processes that train together
    has_chief: bool = True  # False when TF_CONFIG lists workers only; then worker 0 leads

    @property
    def is_multi_worker(self) -> bool:
        return self.num_workers > 1

    @property
    def is_chief(self) -> bool:
        """The chief reports metrics and writes the model: the `chief` task, else worker 0."""
        if self.task_type == "chief":
            return True
        return not self.has_chief and self.task_type == "worker" and self.task_index == 0


@dataclass(frozen=True)
class OutputPaths:
    """Where the run writes; None where neither a flag nor Vertex gave a place."""

    model_dir: str | None
    checkpoint_dir: str | None
    tensorboard_dir: str | None


def output_paths(environ: Mapping[str, str], model_dir_flag: str | None = None) -> OutputPaths:
    return OutputPaths(
        model_dir=model_dir_flag or environ.get("AIP_MODEL_DIR") or None,
        checkpoint_dir=environ.get("AIP_CHECKPOINT_DIR") or None,
        tensorboard_dir=environ.get("AIP_TENSORBOARD_LOG_DIR") or None,
    )


def tf_config_from_cluster_spec(cluster_spec: Mapping) -> dict:
    """Vertex's `CLUSTER_SPEC` as a `TF_CONFIG`: workerpool0 is the chief, workerpool1 the workers."""
    cluster = {
        _POOL_ROLES[pool]: list(addresses)
        for pool, addresses in cluster_spec.get("cluster", {}).items()
        if pool in _POOL_ROLES and addresses
    }
    task = cluster_spec.get("task", {})
    return {
        "cluster": cluster,
        "task": {
            "type": _POOL_ROLES.get(task.get("type", "workerpool0"), "chief"),
            "index": int(task.get("index", 0)),
        },
    }


def process_environment() -> MutableMapping[str, str]:
    """This process's environment, as Vertex AI set it (and as TensorFlow will read it)."""
    return os.environ


def ensure_tf_config(environ: MutableMapping[str, str]) -> None:
    """Derives `TF_CONFIG` from `CLUSTER_SPEC` when only the latter is set (TensorFlow reads TF_CONFIG)."""
    if not environ.get("TF_CONFIG") and environ.get("CLUSTER_SPEC"):
        environ["TF_CONFIG"] = json.dumps(tf_config_from_cluster_spec(json.loads(environ["CLUSTER_SPEC"])))


def cluster_from_environment(environ: Mapping[str, str]) -> Cluster:
    raw = environ.get("TF_CONFIG")
    if not raw:
        return Cluster()
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise TrainerUserError(f"TF_CONFIG is not JSON: {error}") from None
    cluster = config.get("cluster", {})
    task = config.get("task", {})
    num_workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    return Cluster(
        task_type=task.get("type", "chief"),
        task_index=int(task.get("index", 0)),
        num_workers=max(num_workers, 1),
        has_chief=bool(cluster.get("chief")) or not cluster,
    )
