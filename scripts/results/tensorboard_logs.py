"""Where a local job's TensorBoard logs are, and the `tensorboard --logdir` line that shows them all.

A trial writes its logs to `AIP_TENSORBOARD_LOG_DIR`, which the emulator sets, as Vertex AI does,
to `<base output directory>/<trial id>/logs/` (on disk: `<state>/gcs/BUCKET/PATH/<trial id>/logs/`,
`scripts.emulator.contract.output_directory`), and keeps. The job's base output directory holds
one subdirectory per trial, so it is the logdir that shows every trial of the job side by side
(TensorBoard names each run by its path: `3/logs/train`, `3/logs/validation`).

On Vertex AI the logs stay in Cloud Storage, or stream to the experiment's `tensorboard` instance:
the console shows them, and no local line is printed.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

# Each trial's logs, under its own directory of the job's base output directory.
TRIAL_LOGS = "logs"


class Where(Protocol):
    """Where the job ran: the part of `scripts.results.summary.Where` used here (named here, so
    that the summary can import this)."""

    @property
    def name(self) -> str: ...  # "local" or "vertex"

    @property
    def trial_outputs(self) -> str: ...  # the trials' base output directory, on disk for a local job


def logdir(job: HyperparameterTuningJob, backend: Where) -> str | None:
    """The local directory whose subdirectories are the job's trials, when a trial wrote logs there;
    None on Vertex AI, for a job without an output directory, or when no trial wrote any."""
    if backend.name != "local":
        return None
    if not backend.trial_outputs:
        return None
    root = Path(backend.trial_outputs)
    if any(_holds_files(root / trial.id / TRIAL_LOGS) for trial in job.trials):
        return str(root)
    return None


def command(directory: str) -> str:
    """The line to copy: `tensorboard --logdir DIR`, quoted for a shell."""
    return f"tensorboard --logdir {shlex.quote(directory)}"


def _holds_files(directory: Path) -> bool:
    return directory.is_dir() and any(path.is_file() for path in directory.rglob("*"))
