"""The winner handed on: a followed job's best trial as the submitting step's outputs.

The next step of a workflow (retrain, register, deploy) takes them as they are, without reading
the comment:

- `best-job`: the job's resource name;
- `best-value`: the best trial's value of the metric;
- `best-flags`: its parameters as the trainer flags a trial gets (`--learning_rate=0.01
  --momentum=0.9`), quoted for a shell where a value needs it;
- `best-model-dir`: where that trial saved its model (its `AIP_MODEL_DIR`);
- `best-parameters`: the parameters as one line of JSON.

They are read from the `best_params.json` the result's files hold (`$HPT_RESULTS_DIR/<job id>/`,
written when the result was posted), so the outputs, the artifact and the comment say the same.
A job that did not end while it was followed, or ended without a best trial, hands nothing on.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.github.runner import Step
from scripts.github.tuning_jobs import RESULTS_DIR_VARIABLE
from scripts.jobs.names import job_id


def winner_of(job_names: Sequence[str], results_dir: str) -> dict[str, Any] | None:
    """The `best_params.json` of the first of `job_names` whose result has a best trial, else None."""
    if not results_dir:
        return None
    for name in job_names:
        path = Path(results_dir) / job_id(name) / "best_params.json"
        try:
            best = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(best, dict) and best.get("trial") is not None:
            return best
    return None


def hand_on(job_names: Sequence[str], step: Step) -> dict[str, Any] | None:
    """Set the step's `best-*` outputs from the first of `job_names` with a best trial; that winner."""
    best = winner_of(job_names, step.env.get(RESULTS_DIR_VARIABLE, ""))
    if best is None:
        return None
    step.set_output("best-job", str(best.get("job") or ""))
    step.set_output("best-value", json.dumps(best.get("value")))
    step.set_output("best-flags", shlex.join(str(flag) for flag in best.get("flags") or []))
    step.set_output("best-model-dir", str(best.get("model_dir") or ""))
    step.set_output("best-parameters", json.dumps(best.get("parameters") or {}, sort_keys=True))
    return best
