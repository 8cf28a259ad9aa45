"""The stand-in trainer (`trainer_standin.py`) that also saves a model where the real one does.

After the stand-in's reports, a run that ends well writes a SavedModel's `saved_model.pb` and
`variables/` to `$AIP_MODEL_DIR`, or with `--export_format keras` `model.keras` (the trainer's
`--export_format` and its default, trainer/flags.py): files for `promote` to register, in the
trainer's layout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import trainer_standin  # beside this file: run as a script, its folder is first on sys.path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--export_format", choices=("keras", "saved_model"), default="saved_model")
    args, rest = parser.parse_known_args(argv)
    status = trainer_standin.main(rest)
    model_dir = os.environ.get("AIP_MODEL_DIR")
    if status == 0 and model_dir:
        directory = Path(model_dir)
        directory.mkdir(parents=True, exist_ok=True)
        if args.export_format == "saved_model":
            (directory / "saved_model.pb").write_bytes(b"stand-in SavedModel")
            (directory / "variables").mkdir(exist_ok=True)
        else:
            (directory / "model.keras").write_bytes(b"stand-in Keras archive")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
