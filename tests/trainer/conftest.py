"""Helpers for the trainer's tests: run `python -m trainer.task` as a trial would, make tiny data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Small enough for seconds per run on 2 shared cores; the synthetic signal is learnable at this size.
TINY = ["--image_size", "32", "--batch_size", "32"]


@dataclass
class TrainerRun:
    returncode: int
    output: str  # stdout and stderr together, as a trial's log
    metric_file: Path

    def reports(self) -> list[dict]:
        """The cloudml-hypertune lines, parsed; [] when the trainer reported nothing."""
        if not self.metric_file.exists():
            return []
        return [json.loads(line) for line in self.metric_file.read_text().splitlines()]


def trainer_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A trial's environment: its own metric file; nothing of Vertex's unless given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIP_", "CLOUD_ML_", "TF_CONFIG", "CLUSTER_SPEC"))
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        CLOUD_ML_HP_METRIC_FILE=str(tmp_path / "hypertune" / "output.metrics"),
        CLOUD_ML_TRIAL_ID="7",
    )
    env.update(extra)
    return env


def trainer_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainer.task", *args]


def run_trainer(tmp_path: Path, *args: str, timeout: float = 240, **env: str) -> TrainerRun:
    environment = trainer_env(tmp_path, **env)
    completed = subprocess.run(
        trainer_command(*args),
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return TrainerRun(
        completed.returncode,
        completed.stdout + completed.stderr,
        Path(environment["CLOUD_ML_HP_METRIC_FILE"]),
    )


def write_image_folder(root: Path, size: int = 32, per_split: int = 48) -> Path:
    """`root/{train,test}/{blue,red}/*.png`: the synthetic red/blue squares, as PNG files."""
    from PIL import Image

    from trainer.data import synthetic_arrays

    for seed, split in enumerate(("train", "test")):
        images, labels = synthetic_arrays(per_split, size, seed=seed)
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            class_dir = root / split / ("red" if label == 0 else "blue")
            class_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.asarray(image)).save(class_dir / f"{index:03d}.png")
    return root


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "images")
