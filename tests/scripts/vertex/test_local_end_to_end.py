"""`run --backend local` for real: the embedded emulator, the real trainer, this repository's experiments."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scripts.vertex.jobjson import from_json

pytestmark = pytest.mark.slow

# The smallest real training: a few synthetic images, one epoch.
ONE_EPOCH = (
    "trainer={args: [--data=synthetic, --synthetic_examples=64, --image_size=32, --epochs=1, "
    "--batch_size=16]}"
)


def command(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scripts",
        "run",
        "horses-humans",
        "--backend",
        "local",
        "--commit",
        "e2e",
        *extra,
    ]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"VERTEX_AI_EMULATOR_HOST", "GITHUB_SHA"}}
    return {**clean, "HPT_STATE_DIR": str(tmp_path / "state"), "GOOGLE_CLOUD_PROJECT": "demo-project"}


def test_a_local_run_tunes_to_the_end_and_a_rerun_reuses_the_job(repo_root, env, tmp_path):
    # One short trial: the emulator's own tests cover parallel trials; this covers the whole path.
    args = command(
        "--set", "max_trial_count=1", "--set", "parallel_trial_count=1", "--set", ONE_EPOCH, "--json"
    )
    done = subprocess.run(args, cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    job = from_json(done.stdout)
    assert job.state.name == "JOB_STATE_SUCCEEDED"
    assert len(job.trials) == 1 and job.trials[0].state.name == "SUCCEEDED"
    assert "emulator at 127.0.0.1:" in done.stderr and "best trial" in done.stderr
    run_dir = tmp_path / "state" / "runs" / job.name.rsplit("/", 1)[-1]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["backend"] == "local" and summary["counts"]["total"] == 1
    assert (run_dir / "summary.md").read_text().startswith("### Hyperparameter tuning")
    # The real trainer's TensorBoard logs are kept, one directory per trial, and the run says where.
    logdir = summary["links"]["tensorboard"]
    assert f"TensorBoard logs of every trial: tensorboard --logdir {logdir}\n" in done.stderr
    assert [path.name for path in Path(logdir).iterdir()] == [job.trials[0].id]
    assert list(Path(logdir, job.trials[0].id, "logs").rglob("events.out.tfevents.*"))

    again = subprocess.run(args, cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"reusing {job.name} (SUCCEEDED)" in again.stderr
    assert from_json(again.stdout).name == job.name


def _as_a_terminal_would() -> None:
    """Ctrl-C reaches a foreground command with SIGINT at its default. A test run started in the
    background of a script inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_cancels_the_local_job_and_waits_for_it(repo_root, env, tmp_path):
    args = command(
        "--set",
        "max_trial_count=1",
        "--set",
        "parallel_trial_count=1",
        "--set",
        "trainer={args: [--data=synthetic, --epochs=200]}",
    )
    process = subprocess.Popen(
        args, cwd=repo_root, env=env, stderr=subprocess.PIPE, text=True, preexec_fn=_as_a_terminal_would
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    seen = []
    try:
        deadline = time.monotonic() + 240
        while not any(line.startswith("trial 1 active") for line in seen):
            assert time.monotonic() < deadline, "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert process.poll() is None, "".join(seen)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 130
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.2)
    while not lines.empty():
        seen.append(lines.get())
    err = "".join(seen)
    assert "interrupted: cancelling" in err
    assert "job CANCELLED" in err
    summary = next((tmp_path / "state" / "runs").glob("*/summary.json"))
    assert json.loads(summary.read_text())["state"] == "JOB_STATE_CANCELLED"
