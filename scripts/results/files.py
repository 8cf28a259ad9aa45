"""Write a finished job's summary next to its results: summary.md, summary.json, best_params.json,
and the pictures of the study (`scripts.results.plots`: history, parallel coordinates, curves,
slices; each PNG and SVG).

best_params.json is the winner of a job, ready to reuse: the best trial's id, its value of the
metric, its parameters both as data and as the trainer flags a trial gets (`--learning_rate=0.01`,
formatted as Vertex AI and the emulator pass them), and where its model was saved
(`<trial output>/model/`, the trial's `AIP_MODEL_DIR`). A job without a best trial gets the same
keys, empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.jobs.trial_flags import trial_flags
from scripts.results.markdown import render_summary
from scripts.results.plots import write_pictures
from scripts.results.summary import Where, summary
from scripts.results.trials import best_trial

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def write_summary(job: HyperparameterTuningJob, directory: Path, *, backend: Where) -> list[Path]:
    """Write the summary files into `directory` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    pictures = write_pictures(job, directory)  # first: the summary names the pictures it finds there
    data = summary(job, backend=backend, run_dir=directory)
    markdown_path = directory / "summary.md"
    json_path = directory / "summary.json"
    best_path = directory / "best_params.json"
    winner = best_params(job, data)
    markdown_path.write_text(render_summary(data), encoding="utf-8")
    # summary.json carries the winner too (its flags and model directory): one file tells it all.
    json_path.write_text(json.dumps({**data, "best_params": winner}, indent=2) + "\n", encoding="utf-8")
    best_path.write_text(json.dumps(winner, indent=2) + "\n", encoding="utf-8")
    return [markdown_path, json_path, best_path, *pictures]


def best_params(job: HyperparameterTuningJob, data: dict[str, Any]) -> dict[str, Any]:
    """The winner of `job` (best_params.json); `data` is its summary (`scripts.results.summary.summary`)."""
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
