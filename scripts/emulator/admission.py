"""What one job may ask of this machine, and how many trials run at once.

Beyond the local limits (`local_limit_problem`) the emulator refuses a job (INVALID_ARGUMENT).
They are checked before anything is stored or started, and again when a stored job is resumed,
so that no request can make the emulator loop, fill the disk or take every port. Vertex AI's own
limits are in the rule book (`scripts.experiments.rules`); these are the local machine's.

Trials at once: the machine's slots, shared by every job, and each job's share. A trial takes a
slot per replica; the slots are the machine's cores, or `--max-parallel`. A job runs
`parallel_trial_count` trials at once when the slots allow, fewer (said in the log) when they do
not, and a job waiting for a slot is woken when another job frees one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob

from scripts.emulator.contract import OutsideStateDir, output_directory
from scripts.emulator.trials import replica_counts

logger = logging.getLogger("scripts.emulator")

MAX_LOCAL_TRIALS = 1000  # max_trial_count
MAX_LOCAL_PARALLEL = 64  # parallel_trial_count
MAX_LOCAL_REPLICAS = 32  # replicas of one trial, over its worker pools


def local_limit_problem(job: HyperparameterTuningJob, state_dir: Path) -> str | None:
    """Why this emulator will not run `job` on this machine (None: it will), naming the field."""
    where = "hyperparameter_tuning_job"
    if job.max_trial_count > MAX_LOCAL_TRIALS:
        return (
            f"{where}.max_trial_count: at most {MAX_LOCAL_TRIALS} trials locally, got {job.max_trial_count}"
        )
    if job.parallel_trial_count > MAX_LOCAL_PARALLEL:
        return (
            f"{where}.parallel_trial_count: at most {MAX_LOCAL_PARALLEL} parallel trials locally, "
            f"got {job.parallel_trial_count}"
        )
    replicas = 0
    for index, pool in enumerate(job.trial_job_spec.worker_pool_specs):
        replicas += pool.replica_count
        if pool.replica_count > MAX_LOCAL_REPLICAS or replicas > MAX_LOCAL_REPLICAS:
            return (
                f"{where}.trial_job_spec.worker_pool_specs[{index}].replica_count: at most "
                f"{MAX_LOCAL_REPLICAS} replicas per trial locally, got {pool.replica_count}"
            )
    prefix = job.trial_job_spec.base_output_directory.output_uri_prefix
    if prefix:
        try:
            output_directory(prefix, state_dir)
        except OutsideStateDir as error:
            return f"{where}.trial_job_spec.base_output_directory.output_uri_prefix: {error}"
    return None


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Slots:
    """Trials' replicas running at once, over all jobs: at most `capacity`."""

    def __init__(self, capacity: int, on_free: Callable[[], None]) -> None:
        self.capacity = capacity
        self._on_free = on_free  # wakes the jobs that wait for a slot
        self._lock = threading.Lock()
        self._in_use = 0

    def take(self, count: int) -> bool:
        with self._lock:
            if self._in_use + count > self.capacity:
                return False
            self._in_use += count
            return True

    def free(self, count: int) -> None:
        with self._lock:
            self._in_use -= count
        self._on_free()


@dataclass(frozen=True)
class Share:
    """One job's share of the machine."""

    parallel: int  # trials at once
    slots_per_trial: int
    threads_per_replica: int


def share(job: HyperparameterTuningJob, capacity: int, max_parallel: int | None) -> Share:
    """Trials of this job at once: `parallel_trial_count` within the machine's slots."""
    wanted = max(1, job.parallel_trial_count)
    # A trial of several replicas takes a slot per replica (all the slots, at most).
    replicas = sum(replica_counts(job))
    slots_per_trial = min(replicas, capacity)
    parallel = min(wanted, max(1, capacity // slots_per_trial))
    if parallel < wanted:
        logger.warning(
            "job %s: parallel_trial_count %d capped to %d (%d slots: this machine's %s; %d per trial)",
            job.name,
            wanted,
            parallel,
            capacity,
            "--max-parallel" if max_parallel else "cores",
            slots_per_trial,
        )
    threads_per_replica = max(1, machine_cores() // (parallel * replicas))
    return Share(parallel, slots_per_trial, threads_per_replica)
