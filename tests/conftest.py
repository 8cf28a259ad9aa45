"""Shared test setup: quiet TensorFlow, and paths to the repository and the optional real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
# Real images for realistic runs; never required (a user's clone has no ../shared).
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "horses_or_humans"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "train").is_dir():
        pytest.skip("../shared/data/horses_or_humans is not present")
    return SHARED_DATA
