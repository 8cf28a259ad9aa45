"""Command-line flags of the trainer. Parses without TensorFlow, so bad flags fail in milliseconds.

The three tuned hyperparameters are required, as in the codelab; Vertex AI appends them to the
container's arguments as `--<parameter_id>=<value>`. Everything else is a static setting with
the codelab's default.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
EXPORT_FORMATS = ("keras", "saved_model")
# unit: the codelab's x / 255 in [0, 1]; per_image: each image to zero mean and unit variance.
INPUT_SCALINGS = ("unit", "per_image")
# none: training images as read (the codelab's); flip: each mirrored left-right at random.
AUGMENTATIONS = ("none", "flip")
DATA_FORMS = "tfds:NAME, dir:PATH (with PATH/train/<class>/* and PATH/test/<class>/*) or synthetic"


@dataclass(frozen=True)
class DataSource:
    """Where the images come from: `kind` is "tfds", "dir" or "synthetic"; `location` the rest."""

    kind: str
    location: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.location}" if self.location else self.kind


def parse_data_source(value: str) -> DataSource:
    """`tfds:NAME` | `dir:PATH` | `synthetic`; anything else names the accepted forms."""
    kind, sep, location = value.partition(":")
    if value == "synthetic":
        return DataSource("synthetic")
    if sep and kind in ("tfds", "dir") and location.strip():
        return DataSource(kind, location.strip())
    raise argparse.ArgumentTypeError(f"--data {value!r} is not a data source; use {DATA_FORMS}")


def _finite_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value}")
    return number


def _bounded(name: str, convert: Callable[[str], Any], accept: Callable[[Any], bool], rule: str):
    """An argparse type: `convert`, then `rule` (with the text given) when `accept` refuses the value.
    Named `name`: argparse shows it for text that does not convert ("invalid _positive_int value")."""

    def parse(value: str) -> Any:
        number = convert(value)
        if not accept(number):
            raise argparse.ArgumentTypeError(rule.format(value))
        return number

    parse.__name__ = name
    return parse


# Three 3x3 valid convolutions, each followed by 2x2 pooling, leave nothing of a smaller image.
MIN_IMAGE_SIZE = 22
_positive_int = _bounded("_positive_int", int, lambda n: n >= 1, "must be a positive integer, got {}")
_non_negative_int = _bounded("_non_negative_int", int, lambda n: n >= 0, "must be 0 or more, got {}")
_image_size = _bounded(
    "_image_size",
    int,
    lambda n: n >= MIN_IMAGE_SIZE,
    f"the CNN needs images of at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}, got {{}}",
)
_non_negative_float = _bounded("_non_negative_float", _finite_float, lambda n: n >= 0, "must be >= 0, got {}")
_positive_float = _bounded("_positive_float", _finite_float, lambda n: n > 0, "must be > 0, got {}")
_dropout_rate = _bounded(
    "_dropout_rate", _finite_float, lambda n: 0 <= n < 1, "a dropout rate is at least 0 and below 1, got {}"
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (the full usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m trainer.task",
        description="Train the horses-or-humans CNN and report val_accuracy to Vertex AI's tuning service.",
        allow_abbrev=False,
    )
    tuned = parser.add_argument_group("tuned hyperparameters (required)")
    tuned.add_argument("--learning_rate", required=True, type=_positive_float, help="SGD learning rate")
    tuned.add_argument("--momentum", required=True, type=_non_negative_float, help="SGD momentum")
    tuned.add_argument(
        "--num_units", required=True, type=_positive_int, help="units of the hidden dense layer"
    )

    static = parser.add_argument_group("static settings")
    static.add_argument("--epochs", type=_positive_int, default=10, help="training epochs (default 10)")
    static.add_argument(
        "--batch_size", type=_positive_int, default=64, help="batch size per replica (default 64)"
    )
    static.add_argument(
        "--image_size", type=_image_size, default=150, help="images are resized to this square"
    )
    static.add_argument(
        "--data",
        type=parse_data_source,
        default=DataSource("tfds", "horses_or_humans"),
        metavar="SOURCE",
        help=f"{DATA_FORMS} (default tfds:horses_or_humans)",
    )
    static.add_argument(
        "--tfds_data_dir", default=None, help="TFDS data directory, local or gs:// (default: TFDS's)"
    )
    static.add_argument(
        "--metric_tag", default="accuracy", help="tag the metric is reported under (default accuracy)"
    )
    static.add_argument("--seed", type=int, default=1, help="seed for weights and shuffling (default 1)")
    static.add_argument("--precision", choices=PRECISIONS, default="auto", help="dtype policy (default auto)")
    static.add_argument(
        "--synthetic_examples",
        type=_positive_int,
        default=256,
        help="images per split for --data synthetic (default 256)",
    )
    static.add_argument(
        "--model_dir",
        default=None,
        help="where the trained model goes (default $AIP_MODEL_DIR; nothing is saved when neither is set)",
    )
    # A SavedModel by default: Vertex AI's prebuilt TensorFlow inference containers, `promote`'s
    # default, serve that and not a .keras file (scripts/registry/serving.py).
    static.add_argument(
        "--export_format",
        choices=EXPORT_FORMATS,
        default="saved_model",
        help="saved_model: a SavedModel in DIR with a serving_default signature, as Vertex AI's "
        "TensorFlow containers serve it (default); keras: DIR/model.keras",
    )
    static.add_argument(
        "--cpu_replicas",
        type=_positive_int,
        default=1,
        help="split the CPU into this many devices and mirror over them when there is no GPU (testing)",
    )
    static.add_argument(
        "--input_scaling",
        choices=INPUT_SCALINGS,
        default="unit",
        help="unit: the codelab's x / 255 (default); per_image: each image standardized",
    )
    # Chosen by `python -m bench study` (docs/trainer.md, "Choosing the defaults by the study"):
    # flips are on by default, dropout is off (it adds a layer to the codelab's model).
    static.add_argument(
        "--dropout",
        type=_dropout_rate,
        default=0.0,
        help="dropout rate between the convolutions and the dense layer (default 0: the codelab's model)",
    )
    static.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        default="flip",
        help="flip: mirror training images left-right at random (default); none: as read (the codelab's)",
    )
    static.add_argument(
        "--collapse_patience",
        type=_non_negative_int,
        default=2,
        help="stop (exit 4) after this many epochs in a row of constant predictions; 0: never (default 2)",
    )
    static.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=2, help="Keras fit verbosity (default 2)"
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses `argv` (default `sys.argv[1:]`); exits 2 with one line on a bad flag."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    _check_local_data_dir(args.data)
    return args


def _check_local_data_dir(source: DataSource) -> None:
    """A local `dir:` that does not exist fails here, before TensorFlow loads (gs:// is checked later)."""
    if source.kind != "dir" or "://" in source.location:
        return
    if not os.path.isdir(source.location):
        print(
            f"python -m trainer.task: error: --data dir:{source.location}: no such directory", file=sys.stderr
        )
        raise SystemExit(2)
