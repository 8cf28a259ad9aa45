"""`python -m trainer.task` end to end, as a trial runs it: real TensorFlow, tiny images.

Each test starts the trainer as a subprocess with a trial's environment and checks what the
tuning service would see: the hypertune file, the exit status, the saved model, the log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.trainer.conftest import REPO_ROOT, TINY, run_trainer, trainer_command, trainer_env

TUNED = ["--learning_rate=0.05", "--momentum=0.9", "--num_units=16"]
SYNTHETIC = ["--data=synthetic", "--synthetic_examples=128", *TINY]


def test_synthetic_trial_learns_reports_every_epoch_and_saves(tmp_path):
    model_dir, logs = tmp_path / "out" / "model", tmp_path / "out" / "logs"
    run = run_trainer(
        tmp_path, *TUNED, "--epochs", "4", *SYNTHETIC, "--metric_tag", "val_acc",
        AIP_MODEL_DIR=str(model_dir), AIP_TENSORBOARD_LOG_DIR=str(logs),
    )  # fmt: skip
    assert run.returncode == 0, run.output

    # The hypertune file, read back: one line per epoch, the flag's tag, steps 1..4, this trial.
    reports = run.reports()
    assert [report["global_step"] for report in reports] == ["1", "2", "3", "4"]
    assert all(
        set(report) == {"val_acc", "global_step", "trial", "timestamp", "checkpoint_path"}
        for report in reports
    )
    assert {report["trial"] for report in reports} == {"7"}
    accuracies = [float(report["val_acc"]) for report in reports]
    assert max(accuracies) >= 0.8, f"synthetic data should be learnable, got {accuracies}"
    assert f"val_accuracy by epoch: {', '.join(f'{value:.4f}' for value in accuracies)}" in run.output
    assert "trainer INFO CPU kernels: " in run.output, "the log says which kernels trained the model"
    # The closing diagnostic counts the last epoch's errors: they agree with its accuracy.
    errors = re.search(r"validation errors after the last epoch: red: (\d+) of (\d+) called blue;"
                       r" blue: (\d+) of (\d+) called red", run.output)  # fmt: skip
    assert errors, run.output
    red_wrong, reds, blue_wrong, blues = map(int, errors.groups())
    assert reds + blues == 128
    assert 1 - (red_wrong + blue_wrong) / 128 == pytest.approx(accuracies[-1], abs=1e-4)

    # By default a SavedModel, what Vertex AI's prebuilt TensorFlow containers serve: TensorFlow
    # Serving calls its `serving_default` signature on a batch of images.
    import numpy as np
    import tensorflow as tf

    assert "saved_model.pb" in os.listdir(model_dir) and "model.keras" not in os.listdir(model_dir)
    serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    (images,) = serve.structured_input_signature[1].values()
    assert images.shape.as_list() == [None, 32, 32, 3] and images.dtype == tf.float32
    (scores,) = serve(tf.constant(np.full((2, 32, 32, 3), 0.5, np.float32))).values()
    assert scores.shape == (2, 1) and bool(tf.reduce_all((scores >= 0) & (scores <= 1)))
    assert list((logs / "train").glob("events.out.tfevents.*")), (
        "TensorBoard logs go to AIP_TENSORBOARD_LOG_DIR"
    )


def test_image_folder_trial_saving_a_keras_archive(tmp_path, image_folder):
    model_dir = tmp_path / "model"
    run = run_trainer(
        tmp_path, *TUNED, "--epochs", "2", *TINY, f"--data=dir:{image_folder}", "--export_format=keras",
        AIP_MODEL_DIR=str(model_dir),
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert (
        "data dir:" in run.output
        and "48 train / 48 test images of 32x32, classes ['blue', 'red']" in run.output
    )
    assert [(r["accuracy"] != "", r["global_step"]) for r in run.reports()] == [(True, "1"), (True, "2")]

    import keras

    assert os.listdir(model_dir) == ["model.keras"]  # `--export_format=keras`: the Keras archive alone
    model = keras.models.load_model(model_dir / "model.keras")
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 1)


def test_mirrored_strategy_over_two_cpu_replicas_doubles_the_global_batch(tmp_path):
    model_dir = tmp_path / "model"
    run = run_trainer(
        tmp_path, *TUNED, "--epochs", "2", *SYNTHETIC, "--cpu_replicas", "2", AIP_MODEL_DIR=str(model_dir)
    )
    assert run.returncode == 0, run.output
    assert "MirroredStrategy with 2 replica(s), global batch 64" in run.output
    # 128 images in global batches of 64: 2 steps an epoch (one replica would take 4).
    assert run.output.count("2/2 - ") == 2, run.output
    assert [r["global_step"] for r in run.reports()] == ["1", "2"]
    # A model mirrored over devices (a GPU trial's) exports as one SavedModel that serves.
    import tensorflow as tf

    assert "serving_default" in tf.saved_model.load(str(model_dir)).signatures


def test_a_diverging_loss_fails_the_trial_with_a_clear_line(tmp_path):
    run = run_trainer(
        tmp_path, "--learning_rate=1e30", "--momentum=0.9", "--num_units=16", "--epochs=3", *SYNTHETIC
    )
    assert run.returncode == 3, run.output
    assert "training stopped: diverged at epoch 1: loss became nan" in run.output
    assert "Traceback" not in run.output
    assert run.reports() == []  # nothing for the tuner to mistake for a result
    # The last line tells the tuner how the trial ended (the emulator records it as the reason).
    assert run.output.strip().splitlines()[-1].startswith("hpt-trial-outcome: diverged: diverged at epoch 1:")


def test_a_collapsed_model_stops_after_the_patience_with_its_reason(tmp_path):
    # On the codelab's [0, 1] inputs a learning rate this large kills every ReLU within an epoch:
    # the output is one constant. (On standardized inputs it diverges to NaN instead.)
    run = run_trainer(
        tmp_path, "--learning_rate=20", "--momentum=0.9", "--num_units=16", "--epochs=6",
        "--input_scaling=unit", *SYNTHETIC,
    )  # fmt: skip
    assert run.returncode == 4, run.output
    last = run.output.strip().splitlines()[-1]
    assert last.startswith("hpt-trial-outcome: collapsed: collapsed at epoch 2: constant predictions"), last
    # The epochs it ran were reported (the chart shows them), and it stopped at the patience (2).
    assert [r["global_step"] for r in run.reports()] == ["1", "2"]


def test_collapse_patience_zero_never_stops(tmp_path):
    run = run_trainer(
        tmp_path, "--learning_rate=20", "--momentum=0.9", "--num_units=16", "--epochs=3",
        "--collapse_patience=0", "--input_scaling=unit", *SYNTHETIC,
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert [r["global_step"] for r in run.reports()] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data=tfds:no_such_dataset_xyz"], "--data tfds:no_such_dataset_xyz: TFDS has no dataset named"),
        (["--data=dir:{tmp}"], "--data dir:{tmp}: missing {tmp}/train/"),
    ],
)
def test_bad_data_sources_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, message):
    # In process (the entry point's error handling is what is tested; a subprocess costs a TF import).
    from trainer import task

    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "metrics"))
    status = task.main([*TUNED, f"--tfds_data_dir={tmp_path}", *[arg.format(tmp=tmp_path) for arg in args]])
    stderr = capsys.readouterr().err
    assert status == 2
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith(f"python -m trainer.task: error: {message.format(tmp=tmp_path)}"), stderr
    assert not (tmp_path / "metrics").exists()


def test_a_killed_trial_resumes_from_its_last_finished_epoch(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    args = [*TUNED, "--epochs", "6", *SYNTHETIC]
    env = trainer_env(tmp_path, AIP_CHECKPOINT_DIR=str(checkpoints))
    metadata = checkpoints / "backup" / "training_metadata.json"

    # First attempt: killed (as a preempted VM would be) once at least one epoch is backed up.
    first = subprocess.Popen(
        trainer_command(*args), cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 180
        while not _backed_up_epochs(metadata) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    done = _backed_up_epochs(metadata)
    assert 1 <= done < 6, "the first attempt should be killed mid-run"

    # Second attempt, same environment: starts after the backed-up epoch, keeps the earlier reports.
    second = subprocess.run(trainer_command(*args), cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    output = second.stdout + second.stderr
    assert f"Epoch {done + 1}/6" in output and "Epoch 1/6" not in output
    steps = [
        json.loads(line)["global_step"]
        for line in Path(env["CLOUD_ML_HP_METRIC_FILE"]).read_text().splitlines()
    ]
    assert steps == [str(step) for step in range(1, 7)]
    assert not (checkpoints / "backup").exists(), "a finished run removes its backup"


def _backed_up_epochs(metadata: Path) -> int:
    try:
        return int(json.loads(metadata.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Workers:
    """Two trainer processes forming one `TF_CONFIG` cluster on loopback, as Vertex starts a pool."""

    def __init__(self, root: Path, args: list[str], attempt: str = "", **env: str) -> None:
        addresses = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
        # Each worker keeps its metric file across attempts, as a restarted Vertex trial does.
        self.logs = [root / f"{attempt}worker{index}.log" for index in range(2)]
        self.metric_files: list[Path] = []
        self.processes: list[subprocess.Popen] = []
        for index in range(2):
            tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
            worker_env = trainer_env(root / f"worker{index}", TF_CONFIG=json.dumps(tf_config), **env)
            self.metric_files.append(Path(worker_env["CLOUD_ML_HP_METRIC_FILE"]))
            with open(self.logs[index], "w") as log:
                self.processes.append(
                    subprocess.Popen(
                        trainer_command(*args), cwd=REPO_ROOT, env=worker_env, stdout=log, stderr=log
                    )
                )

    def wait(self, timeout: float = 300) -> list[str]:
        """Waits for both (killing them after `timeout`: a cluster out of step hangs); their logs."""
        try:
            for process in self.processes:
                process.wait(timeout=timeout)
        finally:
            self.kill()
        return [log.read_text() for log in self.logs]

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    def running(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def chief_steps(self) -> list[str]:
        lines = self.metric_files[0].read_text().splitlines()
        return [json.loads(line)["global_step"] for line in lines]


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_on_loopback(tmp_path):
    """Two worker processes from TF_CONFIG: one model, trained together; only worker 0 reports and saves."""
    model_dir = tmp_path / "model"  # Vertex gives every replica the same AIP_MODEL_DIR
    workers = Workers(tmp_path, [*TUNED, "--epochs", "2", *SYNTHETIC], AIP_MODEL_DIR=str(model_dir))
    outputs = workers.wait()
    for process, output in zip(workers.processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "MultiWorkerMirroredStrategy with 2 replica(s), global batch 64" in output
    assert "worker 0 of 2 workers" in outputs[0] and "worker 1 of 2 workers" in outputs[1]

    assert workers.chief_steps() == ["1", "2"]
    assert not workers.metric_files[1].exists(), "only the chief reports"
    assert "saved_model.pb" in os.listdir(model_dir), "the chief's SavedModel (the default format)"
    assert "model saved to" in outputs[0] and "model saved to" not in outputs[1]


@pytest.mark.slow
def test_a_killed_multi_worker_run_resumes_every_worker_from_the_chiefs_backup(tmp_path):
    checkpoints = tmp_path / "checkpoints"  # shared by the pool, as Vertex's AIP_CHECKPOINT_DIR is
    args = [*TUNED, "--epochs", "6", *SYNTHETIC]
    metadata = checkpoints / "backup" / "training_metadata.json"

    # Both workers killed (the pool preempted) once the chief has backed up an epoch.
    first = Workers(tmp_path, args, "first-", AIP_CHECKPOINT_DIR=str(checkpoints))
    try:
        deadline = time.monotonic() + 240
        while not _backed_up_epochs(metadata) and first.running() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        first.kill()
    done = _backed_up_epochs(metadata)
    assert 1 <= done < 6, "the first attempt should be killed mid-run"
    assert os.listdir(checkpoints) == ["backup"], "one backup for the cluster"

    # The pool restarts: every worker resumes after the chief's last backup, together.
    second = Workers(tmp_path, args, "second-", AIP_CHECKPOINT_DIR=str(checkpoints))
    outputs = second.wait()
    for process, output in zip(second.processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert f"Epoch {done + 1}/6" in output and "Epoch 1/6" not in output
    assert second.chief_steps() == [str(step) for step in range(1, 7)]
    assert not checkpoints.joinpath("backup").exists(), "the chief removes the backup when done"
