"""Write a finished job's summary next to its results: summary.md, summary.json, chart.png."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.paths import state_dir

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def run_dir(job: HyperparameterTuningJob, root: Path | None = None) -> Path:
    """`<state dir>/runs/<job id>/`: where a run's summary lives, for either backend."""
    job_id = job.name.rstrip("/").rsplit("/", 1)[-1]
    return (root or state_dir()) / "runs" / job_id


def write_summary(
    job: HyperparameterTuningJob, directory: Path, *, emulator: bool | None = None
) -> list[Path]:
    """Write the summary files into `directory` and return their paths."""
    from scripts.results.markdown import render_summary
    from scripts.results.summary import summary

    directory.mkdir(parents=True, exist_ok=True)
    data = summary(job, emulator=emulator, run_dir=directory)
    markdown_path = directory / "summary.md"
    json_path = directory / "summary.json"
    markdown_path.write_text(render_summary(data), encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    written = [markdown_path, json_path]
    chart = _chart_module()
    if chart is not None:
        chart_path = directory / "chart.png"
        chart.write_chart(job, chart_path)
        written.append(chart_path)
    return written


def _chart_module():
    """`scripts.results.chart` (the emulator's PNG chart) when it exists; the summary works without it."""
    try:
        return importlib.import_module("scripts.results.chart")
    except ModuleNotFoundError as error:
        if error.name not in {"scripts.results.chart"}:
            raise
        return None
