"""A throwaway clone of this project with a small git history, an emulator, and a fake registry.

The end-to-end tests run our commands (and, with act, our workflows) from such a clone: a base
commit on main, a pull request commit that adds an experiment, and the merge commit. Trials run
the stand-in trainer (tests/fakes/trainer_standin.py), so a job ends in seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
STANDIN = REPO_ROOT / "tests" / "fakes" / "trainer_standin.py"
# The stand-in that also saves a model where the real trainer does, for `/hpt promote`.
MODEL_SAVING_STANDIN = REPO_ROOT / "tests" / "fakes" / "model_saving_standin.py"
PROJECT, REGION = "e2e-project", "us-central1"

BASE_EXPERIMENTS = """\
version: 1
defaults:
  project: ${GOOGLE_CLOUD_PROJECT:-your-project}
  region: ${GOOGLE_CLOUD_REGION:-us-central1}
  staging_bucket: ${HPT_STAGING_BUCKET:-gs://your-bucket}
  image:
    repository: ${HPT_ARTIFACT_REPOSITORY:-hpt}
    name: trainer
experiments:
  quick:
    description: Two quick trials of the stand-in trainer.
    metric: {id: accuracy, goal: maximize}
    parameters:
      base: {type: double, min: 0.1, max: 0.9}
    algorithm: random
    max_trial_count: 2
    parallel_trial_count: 2
    worker_pools:
      - machine_type: n1-standard-4
    trainer:
      args: [--steps=2]
"""

# The pull request adds one experiment and leaves `quick` alone.
PR_EXPERIMENTS = (
    BASE_EXPERIMENTS
    + """\
  wide:
    description: The stand-in's slope tuned too.
    metric: {id: accuracy, goal: maximize}
    parameters:
      base: {type: double, min: 0.1, max: 0.5}
      slope: {type: discrete, values: [0.1, 0.2]}
    algorithm: random
    max_trial_count: 2
    parallel_trial_count: 2
    worker_pools:
      - machine_type: n1-standard-4
    trainer:
      args: [--steps=2]
"""
)


@dataclass(frozen=True)
class History:
    root: Path
    base: str  # main before the pull request
    head: str  # the pull request's commit
    merge: str  # the merge commit pushed to main


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2026-11-27T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-27T12:00:00Z",
    }
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def make_history(root: Path) -> History:
    """Copy the project (what git would commit: tracked and unignored files) and make the history."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = REPO_ROOT / name
        if name.startswith("tests/") and not name.startswith("tests/fakes/"):
            continue
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    link_environment(root)
    (root / "experiments.yaml").write_text(BASE_EXPERIMENTS)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "https://github.com/octo-org/hpt-demo.git")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Base")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "add-wide")
    (root / "experiments.yaml").write_text(PR_EXPERIMENTS)
    git(root, "commit", "-q", "-am", "Add the wide experiment")
    head = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #5 from octo-org/add-wide", "add-wide")
    merge = git(root, "rev-parse", "HEAD")
    return History(root, base, head, merge)


def link_environment(root: Path) -> None:
    """A `.venv` for the clone that reuses this checkout's installed packages.

    Its own pyvenv.cfg and `make install` stamp, with bin/ and lib/ linked to ours: `make
    install` in the clone finds it current and installs nothing, and nothing is written into
    our environment.
    """
    shared = REPO_ROOT / ".venv"
    venv = root / ".venv"
    venv.mkdir()
    shutil.copy2(shared / "pyvenv.cfg", venv / "pyvenv.cfg")
    for name in ("bin", "lib", "lib64", "include"):
        if (shared / name).exists():
            (venv / name).symlink_to(shared / name)
    (venv / ".installed").touch()
    (venv / ".installed-automation").touch()


@contextmanager
def emulator(root: Path, state_dir: Path, standin: Path = STANDIN) -> Iterator[str]:
    """`python -m scripts emulator` from the clone, running a stand-in trainer; yields host:port."""
    command = [
        sys.executable, "-m", "scripts", "emulator", "--port", "0", "--state-dir", str(state_dir),
        "--entrypoint", f"{sys.executable} {standin}", "--seed", "7",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.fullmatch(r"export VERTEX_AI_EMULATOR_HOST=(\S+)\n", line)
        if not match:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield match[1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ended(address: str, job_name: str, timeout: float = 90.0) -> str:
    """The job's final state, read through the real GAPIC client."""
    import grpc
    from google.cloud.aiplatform_v1 import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    client = JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    deadline = time.monotonic() + timeout
    while True:
        state = client.get_hyperparameter_tuning_job(name=job_name).state.name
        if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"{job_name} is still {state}")
        time.sleep(0.5)
