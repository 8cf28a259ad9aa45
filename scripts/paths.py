"""Where things are: the repository root, the default experiments file, local run state."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS_FILE = REPO_ROOT / "experiments.yaml"


def experiments_file() -> str:
    """The default experiments file as commands and flows name it: relative to the working directory
    when under it, so problems read `experiments.yaml:LINE:COL`, which editors and GitHub annotations
    resolve; else `EXPERIMENTS_FILE`, absolute."""
    relative = os.path.relpath(EXPERIMENTS_FILE)
    return str(EXPERIMENTS_FILE) if relative.startswith("..") else relative


def state_dir(env: Mapping[str, str]) -> Path:
    """The local backend's state (SQLite store, trial logs and outputs): `$HPT_STATE_DIR` or `.hpt/`."""
    return Path(env.get("HPT_STATE_DIR") or REPO_ROOT / ".hpt").resolve()
