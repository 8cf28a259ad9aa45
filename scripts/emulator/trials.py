"""One trial as a process: its command line and environment, its process group, its measurements.

What a trial sees is what a Vertex trial sees (the trial contract in docs/architecture.md):
the worker pool's `command` + `args` (or, with no command, the local stand-in for the image's
ENTRYPOINT), each parameter appended as `--<parameter_id>=<value>`, and the environment
variables below. The image itself is not run: there is no container runtime here.

Measurements come from the file cloudml-hypertune writes, `$CLOUD_ML_HP_METRIC_FILE`: it is
rewritten whole on each report (the last 100 lines of JSON), so it is re-read while the trial
runs and each report is recognised by its timestamp.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, StudySpec, Trial
from google.protobuf import duration_pb2

from scripts.paths import REPO_ROOT

# What `ENTRYPOINT ["python", "-m", "trainer.task"]` becomes here: this interpreter, the repo root.
DEFAULT_ENTRYPOINT: tuple[str, ...] = (sys.executable, "-m", "trainer.task")

ParameterSpec = StudySpec.ParameterSpec


@dataclass
class Launch:
    """Everything needed to start one trial's process."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    metric_file: Path


def format_value(value: object, kind: str | None) -> str:
    """A parameter value as Vertex puts it on the command line: integers without a `.0`."""
    if isinstance(value, str):
        return value
    number = float(value)  # type: ignore[arg-type]
    if kind == "integer_value_spec" or (kind == "discrete_value_spec" and number.is_integer()):
        return str(int(number))
    return repr(number)


def parameter_kinds(spec: StudySpec) -> dict[str, str]:
    kinds: dict[str, str] = {}

    def visit(parameters) -> None:
        for parameter in parameters:
            kinds[parameter.parameter_id] = ParameterSpec.pb(parameter).WhichOneof("parameter_value_spec")
            visit([c.parameter_spec for c in parameter.conditional_parameter_specs])

    visit(spec.parameters)
    return kinds


def local_output_directory(uri: str, state_dir: Path) -> Path:
    """Where a base output directory lives here: `gs://B/P` -> `<state>/gcs/B/P`; a path as is."""
    if uri.startswith("gs://"):
        return state_dir / "gcs" / uri.removeprefix("gs://").strip("/")
    return Path(uri).expanduser().resolve()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_launch(
    job: HyperparameterTuningJob,
    trial: Trial,
    state_dir: Path,
    entrypoint: tuple[str, ...] = DEFAULT_ENTRYPOINT,
    threads: int | None = None,
) -> Launch:
    """The command line, environment and files of one trial of `job`."""
    job_number = int(job.name.rsplit("/", 1)[-1])
    pool = job.trial_job_spec.worker_pool_specs[0]
    container = pool.container_spec
    kinds = parameter_kinds(job.study_spec)
    flags = [
        f"--{parameter.parameter_id}={format_value(parameter.value, kinds.get(parameter.parameter_id))}"
        for parameter in trial.parameters
    ]
    argv = [*(container.command or entrypoint), *container.args, *flags]

    trial_dir = state_dir / "jobs" / str(job_number) / "trials" / trial.id
    base_output = job.trial_job_spec.base_output_directory.output_uri_prefix
    address = f"127.0.0.1:{_free_port()}"
    job_spec = json.dumps(type(job.trial_job_spec).to_dict(job.trial_job_spec))
    cluster_spec = {
        "cluster": {"workerpool0": [address]},
        "environment": "cloud",
        "task": {"type": "workerpool0", "index": 0, "trial": trial.id},
        "job": job_spec,
    }
    tf_config = {
        "cluster": {"chief": [address]},
        "environment": "cloud",
        "task": {"type": "chief", "index": 0, "trial": trial.id},
        "job": job_spec,
    }
    env = dict(os.environ)
    if threads:
        # Trials in parallel share the cores: keep each one's thread pools to its share.
        env.update({"TF_NUM_INTRAOP_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)})
    env.update({
        "CLOUD_ML_TRIAL_ID": trial.id,
        "CLOUD_ML_HP_METRIC_FILE": str(trial_dir / "hypertune" / "output.metrics"),
        "CLUSTER_SPEC": json.dumps(cluster_spec),
        "TF_CONFIG": json.dumps(tf_config),
        "PYTHONUNBUFFERED": "1",
    })
    if base_output:
        # As on Vertex: set only when the job has a base output directory, one folder per trial.
        outputs = local_output_directory(base_output, state_dir) / trial.id
        env.update({
            "AIP_MODEL_DIR": str(outputs / "model"),
            "AIP_CHECKPOINT_DIR": str(outputs / "checkpoints"),
            "AIP_TENSORBOARD_LOG_DIR": str(outputs / "logs"),
        })
    else:
        for variable in ("AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR"):
            env.pop(variable, None)
    env.update({variable.name: variable.value for variable in container.env})
    return Launch(argv, env, REPO_ROOT, trial_dir / "trial.log", trial_dir / "hypertune" / "output.metrics")


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a pid from its reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name in parentheses may contain spaces, so split after it.
    return int(stat.rsplit(")", 1)[1].split()[19])


def kill_leftover(pid: int | None, start_time: int | None) -> bool:
    """SIGKILL the process group of a trial left by a crashed emulator, if it is still that process."""
    if not pid or start_time is None or process_start_time(pid) != start_time:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


class TrialProcess:
    """A running trial: its own process group, output to its log file."""

    def __init__(self, launch: Launch, on_exit: Callable[[], None] | None = None) -> None:
        self.launch = launch
        launch.metric_file.parent.mkdir(parents=True, exist_ok=True)
        # A relaunched trial starts from nothing: stale reports would be read as its own.
        launch.metric_file.unlink(missing_ok=True)
        self.started = time.time()
        with open(launch.log_path, "ab") as log:
            log.write(f"$ {' '.join(launch.argv)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                launch.argv, cwd=launch.cwd, env=launch.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pid = self._process.pid
        self.start_time = process_start_time(self.pid)
        self._stop_sent: float | None = None
        if on_exit is not None:
            # Wake the runner the moment the trial ends instead of at its next poll.
            threading.Thread(target=self._wait_then, args=(on_exit,), daemon=True,
                             name=f"trial-{self.pid}").start()

    def _wait_then(self, on_exit: Callable[[], None]) -> None:
        self._process.wait()
        on_exit()

    def poll(self) -> int | None:
        return self._process.poll()

    def stop(self, grace_seconds: float = 5.0) -> None:
        """SIGTERM the process group now, SIGKILL it once `grace_seconds` have passed (call again)."""
        if self._process.poll() is not None:
            return
        try:
            if self._stop_sent is None:
                self._stop_sent = time.monotonic()
                os.killpg(self.pid, signal.SIGTERM)
            elif time.monotonic() - self._stop_sent >= grace_seconds:
                os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self, grace_seconds: float = 5.0) -> int:
        """Stop the trial and wait for it: SIGTERM, then SIGKILL after the grace period."""
        self.stop(grace_seconds)
        try:
            return self._process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            return self._process.wait()

    @property
    def stopping(self) -> bool:
        return self._stop_sent is not None


def read_measurements(metric_file: Path, metric_id: str, started: float) -> dict[float, Measurement]:
    """The reports in a hypertune file for `metric_id` as Vertex `Measurement`s, by report timestamp.

    The file keeps only the last 100 reports: callers merge what they read into what they had.
    """
    try:
        text = metric_file.read_text()
    except OSError:
        return {}
    reports: dict[float, Measurement] = {}
    for line in text.splitlines():
        try:
            report = json.loads(line)
            value = float(report[metric_id])
            stamp = float(report.get("timestamp", 0.0))
            step = int(float(report.get("global_step", 0) or 0))
        except (ValueError, KeyError, TypeError):
            continue  # a line being rewritten, or another metric's report
        if not math.isfinite(value):
            continue
        elapsed = duration_pb2.Duration()
        elapsed.FromNanoseconds(int(max(0.0, stamp - started) * 1e9))
        reports[stamp] = Measurement(
            step_count=step, elapsed_duration=elapsed,
            metrics=[Measurement.Metric(metric_id=metric_id, value=value)],
        )
    return reports


_REPORT_FIELDS = {"timestamp", "trial", "global_step", "checkpoint_path"}


def reported_tags(metric_file: Path) -> set[str]:
    """The metric tags a hypertune file holds: for a message when the job's metric is not among them."""
    try:
        lines = metric_file.read_text().splitlines()
    except OSError:
        return set()
    tags: set[str] = set()
    for line in lines:
        try:
            tags.update(set(json.loads(line)) - _REPORT_FIELDS)
        except (ValueError, TypeError):
            continue
    return tags


def metric_value(measurement: Measurement) -> float:
    return measurement.metrics[0].value


def final_measurement(measurements: list[Measurement], spec: StudySpec) -> Measurement | None:
    """The measurement that stands for the trial: the best or the last, as the spec selects."""
    if not measurements:
        return None
    if spec.measurement_selection_type == StudySpec.MeasurementSelectionType.BEST_MEASUREMENT:
        minimize = spec.metrics[0].goal == StudySpec.MetricSpec.GoalType.MINIMIZE
        pick = min if minimize else max
        return pick(measurements, key=metric_value)
    return measurements[-1]  # LAST_MEASUREMENT, the API's default
