"""Reporting to the tuning service: `val_accuracy` after every epoch, and failing on divergence.

cloudml-hypertune rewrites its metrics file (`$CLOUD_ML_HP_METRIC_FILE`) with every report it
has made, so one `HyperTune` instance serves the whole run, and a resumed run first takes back
the lines of the epochs it already finished (otherwise its first report would erase them).
"""

from __future__ import annotations

import json
import logging
import math
import os

import keras

from trainer.errors import NonFiniteLoss

log = logging.getLogger("trainer")


class HypertuneReporter(keras.callbacks.Callback):
    """Reports `logs[monitor]` as `metric_tag` after each epoch, with `global_step` = epoch (1-based)."""

    def __init__(self, metric_tag: str, monitor: str = "val_accuracy", enabled: bool = True) -> None:
        super().__init__()
        self.metric_tag = metric_tag
        self.monitor = monitor
        self.enabled = enabled  # only the chief of a multi-worker run reports
        self._hypertune = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.enabled and self._hypertune is None:
            import hypertune

            self._hypertune = hypertune.HyperTune()
            # epoch > 0 on the first call: BackupAndRestore resumed the run after `epoch` finished epochs.
            self._hypertune.metrics_queue.extend(
                _earlier_reports(self._hypertune.metric_path, up_to_step=epoch)
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.enabled:
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"{self.monitor!r} is not among the epoch's metrics: {sorted(logs or {})}")
        self._hypertune.report_hyperparameter_tuning_metric(
            hyperparameter_metric_tag=self.metric_tag, metric_value=float(value), global_step=epoch + 1
        )
        log.info("epoch %d: reported %s=%.4f as %r", epoch + 1, self.monitor, float(value), self.metric_tag)


def _earlier_reports(metric_path: str, up_to_step: int) -> list[dict]:
    """The lines of a previous attempt of this run for steps 1..up_to_step (none when starting fresh)."""
    if up_to_step < 1 or not os.path.exists(metric_path):
        return []
    reports = []
    with open(metric_path, encoding="utf-8") as metric_file:
        for line in metric_file:
            try:
                report = json.loads(line)
                step = int(report.get("global_step", 0))
            except (ValueError, AttributeError):
                continue  # a torn line from a killed writer
            if 1 <= step <= up_to_step:
                reports.append(report)
    return reports


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Ends training as soon as the loss is NaN or infinite, so the trial fails instead of reporting noise."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(f"loss became {float(loss)} at batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(f"loss became {float(loss)} in epoch {epoch + 1}")
