"""`python -m trainer.task` end to end, as a trial runs it: real TensorFlow, tiny images.

Each test starts the trainer as a subprocess with a trial's environment and checks what the
tuning service would see: the hypertune file, the exit status, the saved model, the log.
"""

from __future__ import annotations

import json
import os
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

    import keras

    model = keras.models.load_model(model_dir / "model.keras")
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 1)
    assert list((logs / "train").glob("events.out.tfevents.*")), (
        "TensorBoard logs go to AIP_TENSORBOARD_LOG_DIR"
    )


def test_image_folder_trial(tmp_path, image_folder):
    run = run_trainer(tmp_path, *TUNED, "--epochs", "2", *TINY, f"--data=dir:{image_folder}")
    assert run.returncode == 0, run.output
    assert (
        "data dir:" in run.output
        and "48 train / 48 test images of 32x32, classes ['blue', 'red']" in run.output
    )
    assert [(r["accuracy"] != "", r["global_step"]) for r in run.reports()] == [(True, "1"), (True, "2")]


def test_mirrored_strategy_over_two_cpu_replicas_doubles_the_global_batch(tmp_path):
    run = run_trainer(tmp_path, *TUNED, "--epochs", "2", *SYNTHETIC, "--cpu_replicas", "2")
    assert run.returncode == 0, run.output
    assert "MirroredStrategy with 2 replica(s), global batch 64" in run.output
    # 128 images in global batches of 64: 2 steps an epoch (one replica would take 4).
    assert run.output.count("2/2 - ") == 2, run.output
    assert [r["global_step"] for r in run.reports()] == ["1", "2"]


def test_a_diverging_loss_fails_the_trial_with_a_clear_line(tmp_path):
    run = run_trainer(
        tmp_path, "--learning_rate=1e30", "--momentum=0.9", "--num_units=16", "--epochs=3", *SYNTHETIC
    )
    assert run.returncode == 3, run.output
    assert "training stopped: loss became nan" in run.output
    assert "Traceback" not in run.output
    assert run.reports() == []  # nothing for the tuner to mistake for a result


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


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_on_loopback(tmp_path):
    """Two worker processes from TF_CONFIG: one model, trained together; only worker 0 reports and saves."""
    workers = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
    model_dir = tmp_path / "model"  # Vertex gives every replica the same AIP_MODEL_DIR
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = trainer_env(
            tmp_path / f"worker{index}", TF_CONFIG=json.dumps(tf_config), AIP_MODEL_DIR=str(model_dir)
        )
        log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115 (closed below)
        command = trainer_command(*TUNED, "--epochs", "2", *SYNTHETIC)
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        processes.append((process, log, Path(env["CLOUD_ML_HP_METRIC_FILE"])))
    try:
        for process, _, _ in processes:
            process.wait(timeout=300)
    finally:
        for process, log, _ in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    outputs = [(tmp_path / f"worker{index}.log").read_text() for index in range(2)]
    for (process, _, _), output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "MultiWorkerMirroredStrategy with 2 replica(s), global batch 64" in output
    assert "worker 0 of 2 workers" in outputs[0] and "worker 1 of 2 workers" in outputs[1]

    chief_metrics, other_metrics = processes[0][2], processes[1][2]
    assert [json.loads(line)["global_step"] for line in chief_metrics.read_text().splitlines()] == ["1", "2"]
    assert not other_metrics.exists(), "only the chief reports"
    assert os.listdir(model_dir) == ["model.keras"]
    assert "model saved to" in outputs[0] and "model saved to" not in outputs[1]
