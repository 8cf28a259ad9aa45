"""Resuming a preempted or restarted trial: one backup per cluster, written by the chief alone.

Keras's `BackupAndRestore` writes the weights and the finished epoch after every epoch and
restores them when `fit` starts. Given to every worker of a multi-worker run with a folder of
its own, it can restart the workers at different epochs: a worker killed between the chief's
backup and its own comes back one epoch behind, and the workers' collectives then wait for each
other forever. Mirrored weights are the same on every worker, so here the chief's backup is the
only one: every worker restores from it, and only the chief writes and finally removes it.
"""

from __future__ import annotations

from typing import Any

import keras


class ClusterBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` in `backup_dir` (shared by all workers), written by the chief only."""

    def __init__(self, backup_dir: str, *, is_chief: bool) -> None:
        super().__init__(backup_dir=backup_dir, save_freq="epoch", delete_checkpoint=is_chief)
        self.is_chief = is_chief

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.is_chief:
            super().on_epoch_end(epoch, logs)
