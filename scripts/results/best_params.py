"""best_params.json: the winner of a job, ready to reuse.

The best trial's id, its value of the metric, its parameters both as data and as the trainer
flags a trial gets (`--learning_rate=0.01`, formatted as Vertex AI and the emulator pass them),
and where its model was saved (`<trial output>/model/`, the trial's `AIP_MODEL_DIR`). A job
without a best trial gets the same keys, empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.jobs.trial_flags import trial_flags
from scripts.results.trials import best_trial

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def best_params(job: HyperparameterTuningJob, data: dict[str, Any]) -> dict[str, Any]:
    """The winner of `job`; `data` is its summary (`scripts.results.summary.summary`)."""
    best = data["best_trial"]
    trial = best_trial(job)
    flags = trial_flags(trial, job.study_spec) if trial is not None else []
    output = (best or {}).get("output")
    return {
        "job": data["job"],
        "metric": data["metric"],
        "trial": best["id"] if best else None,
        "value": best["value"] if best else None,
        "parameters": best["parameters"] if best else {},
        "flags": flags,
        "model_dir": f"{output.rstrip('/')}/model/" if output else None,
    }
