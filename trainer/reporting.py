"""Reporting to the tuning service: `val_accuracy` after every epoch; stopping a diverged or collapsed model.

cloudml-hypertune rewrites its metrics file (`$CLOUD_ML_HP_METRIC_FILE`) with every report it
has made, so one `HyperTune` instance serves the whole run, and a resumed run first takes back
the lines of the epochs it already finished (otherwise its first report would erase them).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os

import keras
import numpy as np

from trainer.errors import ModelCollapsed, NonFiniteLoss

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
            import hypertune  # only the chief reports

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
    """Ends training as soon as the training or validation loss is NaN or infinite.

    The trial then fails (diverged) instead of reporting noise: a NaN validation loss comes
    with a meaningless val_accuracy, so this callback runs before the reporter at epoch end.
    """

    def __init__(self) -> None:
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(
                f"diverged at epoch {self._epoch}: loss became {float(loss)} at batch {batch + 1}"
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(float(value)):
                raise NonFiniteLoss(f"diverged at epoch {epoch + 1}: {key} became {float(value)}")


# Predictions whose range over the probe images is below this are one constant: every unit of
# a layer is dead (ReLU outputs zero for every image), so only the output bias still learns.
CONSTANT_RANGE = 1e-3
# "Loss stuck at ln 2": the training loss within this of the loss of predicting the class prior
# (ln 2 for balanced classes) while every probe image gets the same class: a model at chance that
# is not learning. (A model slow to start also predicts one class for a few epochs, but its
# training loss is already falling well below ln 2, so it is left alone.)
STUCK_LOSS_TOLERANCE = 5e-3


class StopOnCollapse(keras.callbacks.Callback):
    """Stops a model that has collapsed, after `patience` epochs in a row (0: never).

    After each epoch the model predicts fixed probe images (the validation set's). It has
    collapsed when the predictions are one constant (every image gets the same probability,
    within `CONSTANT_RANGE`), or when the training loss sits at the entropy of the class prior
    (ln 2 for balanced classes) while every image gets the same class. A model merely slow to
    start (one class for every test image while its training loss falls) is not stopped: it can
    recover, and does. Predictions that are NaN or infinite end the trial at once as diverged (the
    weights have grown so large that the forward pass overflows, while the loss Keras reports may
    still look finite). Every worker computes the same from the same weights, so all stop together.

    The probe costs a forward pass over the probe images, so it runs only when the epoch's
    `monitor` (the validation accuracy over the same images) equals one class's share of them:
    a model that gives every image the same class scores exactly that, and NaN predictions count
    as one class too. Any other accuracy means the predictions differ between images.
    """

    def __init__(
        self,
        probe_data,
        patience: int = 2,
        prior_loss: float = math.log(2),
        monitor: str = "val_accuracy",
    ) -> None:
        super().__init__()
        self.probe_data = probe_data  # batches of (images, labels); a few hundred images are plenty
        self.patience = patience
        self.prior_loss = prior_loss
        self.monitor = monitor
        self._epochs_collapsed = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.patience <= 0:
            return
        accuracy = (logs or {}).get(self.monitor)
        if accuracy is not None and not self._could_be_one_class(float(accuracy)):
            self._epochs_collapsed = 0
            return
        predictions = _scores(self.model, self.probe_data)
        if not np.isfinite(predictions).all():  # weights so large that the forward pass overflows
            bad = int((~np.isfinite(predictions)).sum())
            raise NonFiniteLoss(
                f"diverged at epoch {epoch + 1}: predictions became NaN or infinite"
                f" for {bad} of {len(predictions)} validation images"
            )
        spread = float(predictions.max() - predictions.min())
        loss = (logs or {}).get("loss")
        stuck = loss is not None and abs(float(loss) - self.prior_loss) < STUCK_LOSS_TOLERANCE
        one_class = bool((predictions > 0.5).all() or (predictions <= 0.5).all())
        if spread < CONSTANT_RANGE:
            why = f"constant predictions ({float(predictions.mean()):.3f} for every image)"
        elif stuck and one_class:
            why = f"loss stuck at {float(loss):.4f} (chance: {self.prior_loss:.4f}), one class for all images"
        else:
            self._epochs_collapsed = 0
            return
        self._epochs_collapsed += 1
        log.info("epoch %d: the model looks collapsed: %s", epoch + 1, why)
        if self._epochs_collapsed >= self.patience:
            raise ModelCollapsed(f"collapsed at epoch {epoch + 1}: {why}")

    def _could_be_one_class(self, accuracy: float) -> bool:
        """Whether `accuracy` is what predicting one class for every probe image scores."""
        if not math.isfinite(accuracy):
            return True
        shares, tolerance = self._one_class_scores
        return any(abs(accuracy - share) < tolerance for share in shares)

    @functools.cached_property
    def _one_class_scores(self) -> tuple[tuple[float, float], float]:
        """Each class's share of the probe images, and half an image's worth of accuracy (read once)."""
        labels = _labels(self.probe_data)
        positive = float((labels > 0.5).mean()) if len(labels) else 0.5
        # Accuracies over n images are multiples of 1/n: half of that tells them apart.
        return (positive, 1.0 - positive), 0.5 / max(len(labels), 1)


def errors_by_class(model: keras.Model, data, class_names: tuple[str, ...]) -> str:
    """Where the model is wrong on `data` (batches of images and 0/1 labels), class by class.

    One forward pass. A model's accuracy can hide that all its errors are one class's images:
    on horses_or_humans nearly every error of the codelab CNN is a test horse called human
    (docs/trainer.md, "Where the errors are"), which no search over its learning rate fixes.
    """
    return describe_errors(_labels(data), _scores(model, data), class_names)


def _scores(model: keras.Model, data):
    """The model's outputs for every image of `data` (batches of images and labels), in order."""
    batches = [np.asarray(model(images, training=False), dtype=np.float64) for images, _ in data]
    return np.concatenate(batches).reshape(-1)


def _labels(data):
    """Every label of `data` (batches of images and labels), in order."""
    return np.concatenate([np.asarray(labels).reshape(-1) for _, labels in data])


def describe_errors(labels, scores, class_names: tuple[str, ...]) -> str:
    """`horses: 42 of 128 called humans; humans: 0 of 128 called horses` for 0/1 labels and sigmoid scores."""
    labels = np.asarray(labels).astype(int)
    predicted = (np.asarray(scores) > 0.5).astype(int)
    parts = []
    for index, name in enumerate(class_names):
        mine = labels == index
        wrong = int((predicted[mine] != index).sum())
        parts.append(f"{name}: {wrong} of {int(mine.sum())} called {class_names[1 - index]}")
    return "; ".join(parts)
