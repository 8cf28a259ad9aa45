"""Flags: the codelab's three tuned hyperparameters in both forms, defaults, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.trainer.conftest import REPO_ROOT, trainer_command, trainer_env
from trainer.flags import DataSource, parse_args

TUNED = ["--learning_rate=0.01", "--momentum=0.9", "--num_units=128"]


def test_both_flag_forms_parse_to_the_same_values():
    equals = parse_args(["--learning_rate=0.05", "--momentum=0.5", "--num_units=64", "--epochs=3"])
    spaced = parse_args(
        ["--learning_rate", "0.05", "--momentum", "0.5", "--num_units", "64", "--epochs", "3"]
    )
    assert vars(equals) == vars(spaced)
    assert (equals.learning_rate, equals.momentum, equals.num_units, equals.epochs) == (0.05, 0.5, 64, 3)


def test_static_settings_default_to_the_codelab_with_flipped_training_images():
    args = parse_args(TUNED)
    assert (args.epochs, args.batch_size, args.image_size) == (10, 64, 150)
    assert args.data == DataSource("tfds", "horses_or_humans")
    assert (args.metric_tag, args.precision, args.tfds_data_dir) == ("accuracy", "auto", None)
    # The codelab's model and input scaling; training images mirrored at random (chosen by the
    # study benchmark, docs/trainer.md).
    assert (args.dropout, args.input_scaling, args.augment) == (0.0, "unit", "flip")
    # A SavedModel: what the default serving container of `promote` serves.
    assert args.export_format == "saved_model"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tfds:horses_or_humans", DataSource("tfds", "horses_or_humans")),
        ("tfds:cats_vs_dogs:4.0.0", DataSource("tfds", "cats_vs_dogs:4.0.0")),
        ("synthetic", DataSource("synthetic")),
        ("dir:gs://bucket/images", DataSource("dir", "gs://bucket/images")),
    ],
)
def test_data_sources(value, expected):
    assert parse_args([*TUNED, f"--data={value}"]).data == expected


def test_a_local_dir_source_is_accepted_when_it_exists(tmp_path):
    assert parse_args([*TUNED, "--data", f"dir:{tmp_path}"]).data == DataSource("dir", str(tmp_path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--momentum=0.9", "--num_units=128"], "the following arguments are required: --learning_rate"),
        ([*TUNED, "--data", "csv:foo"], "use tfds:NAME, dir:PATH"),
        ([*TUNED, "--data", "tfds:"], "'tfds:' is not a data source"),
        ([*TUNED, "--data", "dir:/no/such/folder"], "--data dir:/no/such/folder: no such directory"),
        (["--learning_rate=-1", "--momentum=0.9", "--num_units=128"], "must be > 0, got -1"),
        (["--learning_rate=nan", "--momentum=0.9", "--num_units=128"], "must be a finite number"),
        (["--learning_rate=0.1", "--momentum=0.9", "--num_units=0"], "must be a positive integer"),
        ([*TUNED, "--precision", "float8"], "invalid choice: 'float8'"),
        ([*TUNED, "--image_size", "16"], "the CNN needs images of at least 22x22, got 16"),
        ([*TUNED, "--learning_rat", "0.1"], "unrecognized arguments: --learning_rat"),
        ([*TUNED, "--dropout", "1"], "a dropout rate is at least 0 and below 1, got 1"),
        ([*TUNED, "--augment", "rotate"], "invalid choice: 'rotate'"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(args)
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_bad_flags_fail_before_tensorflow_is_imported(tmp_path):
    """The real entry point: one line on stderr, exit 2, no traceback, and TensorFlow never loaded."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['trainer.task', '--learning_rate=0.1', '--momentum=0.9', '--num_units=64',"
        " '--data=bogus']\n"
        "try:\n    runpy.run_module('trainer.task', run_name='__main__')\n"
        "except SystemExit:\n"
        "    print('tf loaded' if 'tensorflow' in sys.modules else 'tf not loaded')\n"
        "    raise\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=trainer_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stdout.strip() == "tf not loaded"
    assert completed.stderr.strip().splitlines() == [
        "python -m trainer.task: error: argument --data: --data 'bogus' is not a data source; use tfds:NAME,"
        " dir:PATH (with PATH/train/<class>/* and PATH/test/<class>/*) or synthetic (see --help)"
    ]


def test_help_lists_every_flag(tmp_path):
    completed = subprocess.run(
        trainer_command("--help"), cwd=REPO_ROOT, env=trainer_env(tmp_path), capture_output=True, text=True
    )
    assert completed.returncode == 0
    for flag in (
        "--learning_rate",
        "--momentum",
        "--num_units",
        "--epochs",
        "--batch_size",
        "--image_size",
        "--data",
        "--tfds_data_dir",
        "--metric_tag",
        "--seed",
        "--precision",
    ):
        assert flag in completed.stdout
