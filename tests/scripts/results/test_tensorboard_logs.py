"""A local run keeps each trial's TensorBoard logs and says, at the end and in summary.md, the
`tensorboard --logdir` line that shows every trial of the job.

`python -m scripts run --backend local` drives the embedded emulator; each trial is the stand-in
trainer writing real event files to `AIP_TENSORBOARD_LOG_DIR` (`tests/fakes/tensorboard_standin.py`),
and TensorBoard's own loader reads the logdir back.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import cli
from scripts.emulator.embedded import running_emulator
from scripts.results.summary import tensorboard_command, tensorboard_logdir
from scripts.vertex.backend import Backend

FAKES = Path(__file__).resolve().parents[2] / "fakes"
EXPERIMENTS = """\
defaults:
  project: demo-project
  region: us-central1
  staging_bucket: gs://demo-bucket
  image: {uri: us-central1-docker.pkg.dev/demo-project/hpt/trainer:pinned}
experiments:
  logged:
    metric: {id: accuracy, goal: maximize}
    parameters:
      base: {type: categorical, values: ["0.2", "0.7", "0.4"]}
    algorithm: grid
    max_trial_count: 3
    parallel_trial_count: 2
    worker_pools:
      - machine_type: n1-standard-4
    trainer:
      args: [--steps=2, --slope=0.1]
"""
PREFIX = "TensorBoard logs of every trial: "
# TensorBoard's own reading of a logdir (what `tensorboard --logdir` serves), without TensorFlow:
# the marker module makes tensorboard.compat fall back to its stub.
READ_RUNS = """\
import json, sys, types
sys.modules["tensorboard.compat.notf"] = types.ModuleType("tensorboard.compat.notf")
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
runs = EventMultiplexer().AddRunsFromDirectory(sys.argv[1])
runs.Reload()
print(json.dumps({run: [e.value for e in runs.Scalars(run, "epoch_accuracy")] for run in runs.Runs()}))
"""


def run_locally(tmp_path: Path, monkeypatch, capsys, entrypoint: Path) -> tuple[int, str, Path]:
    """`run logged --backend local` against an emulator whose trials are `entrypoint`: (status, stderr,
    the emulator's state directory)."""
    path = tmp_path / "experiments.yaml"
    path.write_text(EXPERIMENTS)
    state_dir = tmp_path / "state"
    with running_emulator(state_dir, entrypoint=(sys.executable, str(entrypoint)), max_parallel=2) as address:
        monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", address)
        args = ["--file", str(path), "--backend", "local", "--commit", "c1", "--poll-interval", "0.1"]
        status = cli.main(["run", "logged", *args])
    return status, capsys.readouterr().err, state_dir


def test_a_local_run_prints_the_logdir_that_shows_every_trial(tmp_path, monkeypatch, capsys):
    status, err, state_dir = run_locally(tmp_path, monkeypatch, capsys, FAKES / "tensorboard_standin.py")
    assert status == 0, err

    # The last line of the run's output is the one to copy.
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith(PREFIX + "tensorboard --logdir ")
    (logdir,) = shlex.split(last.removeprefix(PREFIX + "tensorboard --logdir "))
    root = Path(logdir)
    assert root.is_relative_to(state_dir / "gcs" / "demo-bucket")
    # One subdirectory per trial, each with its own logs, kept after the run.
    assert sorted(entry.name for entry in root.iterdir()) == ["1", "2", "3"]
    for trial in ("1", "2", "3"):
        assert list((root / trial / "logs" / "validation").glob("events.out.tfevents.*")), trial

    # TensorBoard reads it as one run per trial, each trial's curve its own.
    read = subprocess.run(
        [sys.executable, "-c", READ_RUNS, logdir], capture_output=True, text=True, timeout=60, check=True
    )
    curves = {run: [round(value, 6) for value in values] for run, values in json.loads(read.stdout).items()}
    assert curves == {
        "1/logs/validation": [0.3, 0.4],
        "2/logs/validation": [0.8, 0.9],
        "3/logs/validation": [0.5, 0.6],
    }

    # The run's summary says the same.
    (run_dir,) = (state_dir / "runs").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["links"]["tensorboard"] == logdir
    assert f"TensorBoard `tensorboard --logdir {shlex.quote(logdir)}`" in (run_dir / "summary.md").read_text()


def test_no_line_when_no_trial_wrote_logs(tmp_path, monkeypatch, capsys):
    status, err, state_dir = run_locally(tmp_path, monkeypatch, capsys, FAKES / "trainer_standin.py")
    assert status == 0, err
    assert PREFIX not in err and "tensorboard --logdir" not in err
    (run_dir,) = (state_dir / "runs").iterdir()
    assert "tensorboard" not in json.loads((run_dir / "summary.json").read_text())["links"]
    assert "tensorboard --logdir" not in (run_dir / "summary.md").read_text()


@pytest.mark.parametrize("directory", ["/tmp/state/gcs/b/p", "/tmp/with space/gcs/b"])
def test_the_line_is_quoted_for_a_shell(directory):
    assert shlex.split(tensorboard_command(directory)) == ["tensorboard", "--logdir", directory]


def test_a_vertex_job_gets_no_local_line():
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    job = HyperparameterTuningJob()
    job.trial_job_spec.base_output_directory.output_uri_prefix = "gs://demo-bucket/hpt/x"
    assert tensorboard_logdir(job, Backend.vertex().where(job)) is None
