"""What one job may ask of this machine: beyond these the emulator refuses it (INVALID_ARGUMENT).

Checked before anything is stored or started, and again when a stored job is resumed, so that no
request can make the emulator loop, fill the disk or take every port. Vertex AI's own limits are
in the rule book (`scripts.experiments.rules`); these are the local machine's.
"""

from __future__ import annotations

from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob

from scripts.emulator.contract import OutsideStateDir, output_directory

MAX_LOCAL_TRIALS = 1000  # max_trial_count
MAX_LOCAL_PARALLEL = 64  # parallel_trial_count
MAX_LOCAL_REPLICAS = 32  # replicas of one trial, over its worker pools


def local_limit_problem(job: HyperparameterTuningJob, state_dir: Path | None = None) -> str | None:
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
            output_directory(prefix, state_dir or Path("/nonexistent-state"))
        except OutsideStateDir as error:
            return f"{where}.trial_job_spec.base_output_directory.output_uri_prefix: {error}"
    return None
