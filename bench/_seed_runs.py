"""Re-run one trial's configuration with other trainer seeds, all in this one process.

    python -m bench._seed_runs --seeds 2,3,4,5,6 -- --learning_rate=0.1 --momentum=0.5 ... [trainer flags]

Prints a JSON list: per seed, the trial's value as the tuner records it with
`measurement_selection: best` (the best reported `val_accuracy` over the epochs), or null where
the trainer stopped the trial itself (diverged or collapsed: a failed trial, no value).

`bench verdict` uses it for confirmation trials: `python -m trainer.task` once per seed, as the
emulator would run it, but without a process (and a TensorFlow import, about 6 s on 2 cores)
per trial. Each call seeds Keras afresh (`keras.utils.set_random_seed`) and builds a new model;
the values are the ones the emulator's trials report for the same flags (checked in
docs/compare.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

METRIC_TAG = "accuracy"  # the trainer's default --metric_tag, the experiment's metric


def run_seed(trainer_args: list[str], seed: int, metric_file: Path) -> float | None:
    """One trial: the best value the trainer reported to the tuner (hypertune's metric file)."""
    from trainer import task

    metric_file.unlink(missing_ok=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = task.main([*trainer_args, f"--seed={seed}", "--verbose=0"])
    if status != 0 or not metric_file.exists():
        return None
    reports = [json.loads(line) for line in metric_file.read_text().splitlines() if line.strip()]
    values = [float(value) for report in reports for key, value in report.items() if key == METRIC_TAG]
    return max(values) if values else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._seed_runs")
    parser.add_argument("--seeds", required=True, help="comma-separated trainer seeds")
    parser.add_argument("trainer_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    trainer_args = [arg for arg in args.trainer_args if arg != "--"]
    # The tuner's metric file and the model directory go to scratch space, not /tmp/hypertune.
    metric_file = Path(tempfile.mkdtemp(prefix="bench-seeds-")) / "output.metrics"
    os.environ["CLOUD_ML_HP_METRIC_FILE"] = str(metric_file)
    os.environ.pop("AIP_MODEL_DIR", None)
    logging.getLogger("trainer").setLevel(logging.WARNING)
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    print(json.dumps([run_seed(trainer_args, seed, metric_file) for seed in seeds]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
