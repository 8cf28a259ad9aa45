"""Write a finished job's summary next to its results: summary.md, summary.json, chart.svg."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.results.summary import Where


def write_summary(job: HyperparameterTuningJob, directory: Path, *, backend: Where) -> list[Path]:
    """Write the summary files into `directory` and return their paths."""
    from scripts.results.chart import write_chart
    from scripts.results.markdown import render_summary
    from scripts.results.summary import summary

    directory.mkdir(parents=True, exist_ok=True)
    data = summary(job, backend=backend, run_dir=directory)
    markdown_path = directory / "summary.md"
    json_path = directory / "summary.json"
    markdown_path.write_text(render_summary(data), encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return [markdown_path, json_path, write_chart(job, directory / "chart.svg")]
