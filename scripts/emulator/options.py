"""How the emulator runs trials: the same options for every job it serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scripts.emulator.trials import DEFAULT_ENTRYPOINT


@dataclass
class Options:
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
