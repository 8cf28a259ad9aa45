"""One trial as processes: command lines and environments, one process group, measurements.

What a trial sees is what a Vertex trial sees (the trial contract in docs/architecture.md):
the worker pool's `command` + `args` (or, with no command, the local stand-in for the image's
ENTRYPOINT), each parameter appended as `--<parameter_id>=<value>`, and the environment
variables below (Vertex's, `container_spec.env`, and an allow list of the host's: never the
emulator's whole environment); one process per replica (a chief, and workers for a multi-worker job). The
image itself is not run: there is no container runtime here.

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
from google.protobuf import duration

from scripts.emulator.contract import output_directory
from scripts.jobs.names import job_id
from scripts.jobs.trial_flags import trial_flags
from scripts.paths import REPO_ROOT

# What `ENTRYPOINT ["python", "-m", "trainer.task"]` becomes here: this interpreter, the repo root.
DEFAULT_ENTRYPOINT: tuple[str, ...] = (sys.executable, "-m", "trainer.task")

# TF_CONFIG's name for the replicas of worker pool 0 and 1.
TF_ROLES = ("chief", "worker")

# What a trial sees of the host's environment. On Vertex AI a trial's container has the image's
# environment, Vertex's own variables and `container_spec.env`
# (https://cloud.google.com/vertex-ai/docs/training/code-requirements#environment-variables);
# here it is a process on the host, so it gets only what a local process needs to start and to
# run TensorFlow (where programs are, home and temporary directories, locale, thread and device
# settings), and nothing else: no credentials (GOOGLE_APPLICATION_CREDENTIALS, tokens, cloud
# keys), no CI variables. A variable not listed here reaches a trial only through the worker
# pool's `container_spec.env` (experiments.yaml `trainer.env`), as on Vertex AI.
HOST_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TMPDIR",
        "TZ",
        "LANG",
        "LANGUAGE",
        "TERM",
        "PYTHONPATH",  # the repository's modules, when the emulator runs from a checkout
        "VIRTUAL_ENV",
        "LD_LIBRARY_PATH",  # CUDA and cuDNN libraries
    }
)
HOST_VARIABLE_PREFIXES = (
    "LC_",  # locale
    "TF_",  # TensorFlow settings (TF_CPP_MIN_LOG_LEVEL, TF_ENABLE_ONEDNN_OPTS...); TF_CONFIG is set here
    "OMP_",  # thread pools
    "MKL_",
    "OPENBLAS_",
    "KMP_",
    "XLA_",
    "CUDA_",  # CUDA_VISIBLE_DEVICES
    "NVIDIA_",
    "NCCL_",
    "TFDS_",  # TFDS_DATA_DIR: prepared datasets
)
# Set for every trial by Vertex AI (and here); a host value of the same name never leaks through.
VERTEX_VARIABLES = (
    "CLOUD_ML_TRIAL_ID",
    "CLOUD_ML_HP_METRIC_FILE",
    "AIP_MODEL_DIR",
    "AIP_CHECKPOINT_DIR",
    "AIP_TENSORBOARD_LOG_DIR",
    "CLUSTER_SPEC",
    "TF_CONFIG",
)


def host_environment() -> dict[str, str]:
    """The host variables a trial may see (`HOST_VARIABLES`, `HOST_VARIABLE_PREFIXES`)."""
    return {
        name: value
        for name, value in os.environ.items()
        if (name in HOST_VARIABLES or name.startswith(HOST_VARIABLE_PREFIXES))
        and name not in VERTEX_VARIABLES
    }


def _directory(path: Path) -> str:
    """A directory as Vertex AI writes it in `AIP_*_DIR`: with a trailing slash."""
    return f"{path}/"


@dataclass
class Replica:
    """One process of a trial: a replica of one worker pool."""

    task: str  # "workerpool<pool>-<index>"
    argv: list[str]
    env: dict[str, str]
    log_path: Path


@dataclass
class Launch:
    """Everything needed to start one trial's processes; the chief (workerpool0) first."""

    replicas: list[Replica]
    cwd: Path
    metric_file: Path  # the chief's: the trial's measurements

    @property
    def log_path(self) -> Path:
        return self.replicas[0].log_path


@dataclass
class Options:
    """How the emulator runs trials: the same options for every job it serves."""

    state_dir: Path
    max_parallel: int | None = None  # None: this machine's cores
    entrypoint: tuple[str, ...] = DEFAULT_ENTRYPOINT
    seed: int | None = None  # None: derived from each job (see optimizer)
    poll_interval: float = 0.1
    stop_grace_seconds: float = 5.0
    # Opt-in: a SPOT job's trials are preempted once, this many seconds after they start (their
    # replicas get SIGTERM, then start again with the same parameters and output directories, so
    # the trainer's backup and restore is exercised). None: no preemption.
    preempt_after: float | None = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def replica_counts(job: HyperparameterTuningJob) -> list[int]:
    """Replicas per worker pool, as run here: the chief pool always one, an empty pool none."""
    counts = []
    for index, pool in enumerate(job.trial_job_spec.worker_pool_specs):
        if index == 0:
            counts.append(1)
        else:
            counts.append(pool.replica_count if "container_spec" in pool else 0)
    return counts


def build_launch(
    job: HyperparameterTuningJob,
    trial: Trial,
    state_dir: Path,
    entrypoint: tuple[str, ...] = DEFAULT_ENTRYPOINT,
    threads: int | None = None,
) -> Launch:
    """The command lines, environments and files of one trial of `job`, one per replica.

    Pool 0 is the chief, pool 1 the workers: `TF_CONFIG` names them `chief` and `worker`, and
    `CLUSTER_SPEC` `workerpool0` and `workerpool1`, each replica on its own loopback port.
    Every replica gets the same parameters; only the chief's reports are the trial's.
    """
    job_number = int(job_id(job.name))
    flags = trial_flags(trial, job.study_spec)
    trial_dir = state_dir / "jobs" / str(job_number) / "trials" / trial.id
    base_output = job.trial_job_spec.base_output_directory.output_uri_prefix
    job_spec = json.dumps(type(job.trial_job_spec).to_dict(job.trial_job_spec))
    pools = job.trial_job_spec.worker_pool_specs
    addresses = [[f"127.0.0.1:{_free_port()}" for _ in range(count)] for count in replica_counts(job)]
    cluster_spec_cluster = {f"workerpool{pool}": hosts for pool, hosts in enumerate(addresses) if hosts}
    tf_cluster = {role: hosts for role, hosts in zip(TF_ROLES, addresses, strict=False) if hosts}

    replicas = []
    for pool_index, hosts in enumerate(addresses):
        container = pools[pool_index].container_spec
        for replica_index in range(len(hosts)):
            task = f"workerpool{pool_index}-{replica_index}"
            chief = pool_index == 0
            env = host_environment()
            if threads:
                # Trials in parallel share the cores: keep each one's thread pools to its share.
                env.update({"TF_NUM_INTRAOP_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)})
            metric_file = trial_dir / "hypertune" / ("output.metrics" if chief else f"{task}.metrics")
            env.update(
                {
                    "CLOUD_ML_TRIAL_ID": trial.id,
                    "CLOUD_ML_HP_METRIC_FILE": str(metric_file),
                    "CLUSTER_SPEC": _cluster(
                        cluster_spec_cluster, f"workerpool{pool_index}", replica_index, trial.id, job_spec
                    ),
                    "TF_CONFIG": _cluster(
                        tf_cluster, TF_ROLES[pool_index], replica_index, trial.id, job_spec
                    ),
                    "PYTHONUNBUFFERED": "1",
                }
            )
            if base_output:
                # As on Vertex: set only when the job has a base output directory, one folder per trial.
                outputs = output_directory(base_output, state_dir) / trial.id
                env.update(
                    {
                        "AIP_MODEL_DIR": _directory(outputs / "model"),
                        "AIP_CHECKPOINT_DIR": _directory(outputs / "checkpoints"),
                        "AIP_TENSORBOARD_LOG_DIR": _directory(outputs / "logs"),
                    }
                )
            env.update({variable.name: variable.value for variable in container.env})
            argv = [*(container.command or entrypoint), *container.args, *flags]
            log_path = trial_dir / ("trial.log" if chief else f"{task}.log")
            replicas.append(Replica(task, argv, env, log_path))
    return Launch(replicas, REPO_ROOT, trial_dir / "hypertune" / "output.metrics")


def _cluster(cluster: dict[str, list[str]], task_type: str, index: int, trial_id: str, job_spec: str) -> str:
    """A CLUSTER_SPEC or TF_CONFIG value: the cluster, and which of its tasks this replica is."""
    task = {"type": task_type, "index": index, "trial": trial_id}
    return json.dumps({"cluster": cluster, "environment": "cloud", "task": task, "job": job_spec})


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
    """A running trial: its replicas in one process group (the chief's), each with its log file.

    The trial ends when its chief ends (the other replicas are then stopped), or as soon as
    another replica fails.
    """

    def __init__(self, launch: Launch, on_exit: Callable[[], None] | None = None) -> None:
        self.launch = launch
        launch.metric_file.parent.mkdir(parents=True, exist_ok=True)
        # A relaunched trial starts from nothing: stale reports would be read as its own.
        launch.metric_file.unlink(missing_ok=True)
        self.started = time.time()
        self.failed_replica: str | None = None  # a replica other than the chief that failed
        self._stop_sent: float | None = None
        self._reaping = False
        self._processes: list[subprocess.Popen] = []
        try:
            for replica in launch.replicas:
                self._processes.append(self._start(launch, replica))
        except OSError:
            self.kill(0)
            raise
        self.pid = self._processes[0].pid  # also the process group's id
        self.start_time = process_start_time(self.pid)
        if on_exit is not None:
            # Wake the runner the moment a replica ends instead of at its next poll.
            for process in self._processes:
                threading.Thread(
                    target=self._wait_then, args=(process, on_exit), daemon=True, name=f"trial-{process.pid}"
                ).start()

    def _start(self, launch: Launch, replica: Replica) -> subprocess.Popen:
        with open(replica.log_path, "ab") as log:
            log.write(f"$ {' '.join(replica.argv)}\n".encode())
            log.flush()
            # The chief leads a new process group (out of the terminal's, so Ctrl-C reaches the
            # emulator, not the trial); the other replicas join it: one signal reaches them all.
            group = self._processes[0].pid if self._processes else 0
            return subprocess.Popen(
                replica.argv,
                cwd=launch.cwd,
                env=replica.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=group,
            )

    def note(self, text: str) -> None:
        """A line from the emulator in the chief's log, marked as such."""
        with open(self.launch.log_path, "a") as log:
            log.write(f"[emulator] {text}\n")

    @staticmethod
    def _wait_then(process: subprocess.Popen, on_exit: Callable[[], None]) -> None:
        process.wait()
        on_exit()

    def poll(self) -> int | None:
        """The trial's exit status once it has ended: the chief's, or a failed replica's."""
        chief, others = self._processes[0], self._processes[1:]
        status = chief.poll()
        if status is None:
            for replica, process in zip(self.launch.replicas[1:], others, strict=True):
                if process.poll() not in (None, 0):
                    self.failed_replica = replica.task
                    status = process.returncode
                    break
        if status is not None and not self._reaping and any(p.poll() is None for p in others):
            self._reaping = True
            threading.Thread(target=self.kill, daemon=True).start()  # the rest of the group
        return status

    def _alive(self) -> bool:
        return any(process.poll() is None for process in self._processes)

    def stop(self, grace_seconds: float = 5.0) -> None:
        """SIGTERM the process group now, SIGKILL it once `grace_seconds` have passed (call again)."""
        if not self._alive():
            return
        with contextlib.suppress(ProcessLookupError):
            if self._stop_sent is None:
                self._stop_sent = time.monotonic()
                os.killpg(self._processes[0].pid, signal.SIGTERM)
            elif time.monotonic() - self._stop_sent >= grace_seconds:
                os.killpg(self._processes[0].pid, signal.SIGKILL)

    def kill(self, grace_seconds: float = 5.0) -> None:
        """Stop every replica and wait for them: SIGTERM, then SIGKILL after the grace period."""
        self.stop(grace_seconds)
        deadline = time.monotonic() + grace_seconds
        for process in self._processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._processes[0].pid, signal.SIGKILL)
                process.wait()

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
        reports[stamp] = Measurement(
            step_count=step,
            elapsed_duration=duration.from_nanoseconds(int(max(0.0, stamp - started) * 1e9)),
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


def final_measurement(measurements: list[Measurement], spec: StudySpec) -> Measurement | None:
    """The measurement that stands for the trial: the best or the last, as the spec selects."""
    if not measurements:
        return None
    if spec.measurement_selection_type == StudySpec.MeasurementSelectionType.BEST_MEASUREMENT:
        minimize = spec.metrics[0].goal == StudySpec.MetricSpec.GoalType.MINIMIZE
        pick = min if minimize else max
        return pick(measurements, key=lambda measurement: measurement.metrics[0].value)
    return measurements[-1]  # LAST_MEASUREMENT, the API's default
