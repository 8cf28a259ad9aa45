"""Where things are: the repository root, the default experiments file, local run state."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS_FILE = REPO_ROOT / "experiments.yaml"


def state_dir() -> Path:
    """The local backend's state (SQLite store, trial logs and outputs): `$HPT_STATE_DIR` or `.hpt/`."""
    return Path(os.environ.get("HPT_STATE_DIR") or REPO_ROOT / ".hpt").resolve()
