"""Write a finished job's summary next to its results: summary.md, summary.json, best_params.json,
and the pictures of the study (`scripts.results.plots`: history, parallel coordinates, curves,
slices; each PNG and SVG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.results.best_params import best_params
from scripts.results.markdown import render_summary
from scripts.results.plots import write_pictures
from scripts.results.summary import Where, summary

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
