"""The callbacks that stop a trial: a NaN or infinite loss (diverged), a collapsed model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainer.errors import ModelCollapsed, NonFiniteLoss
from trainer.reporting import StopOnCollapse, StopOnNonFiniteLoss

PROBE = [(np.zeros((4, 2, 2, 3), np.float32), np.zeros(4)), (np.ones((4, 2, 2, 3), np.float32), np.ones(4))]


class _Model:
    """Stands for a Keras model: `outputs(images)` gives the predictions of a batch."""

    def __init__(self, outputs):
        self.outputs = outputs

    def __call__(self, images, training=False):
        return self.outputs(images)


def _callback(outputs, patience=2):
    callback = StopOnCollapse(PROBE, patience=patience)
    callback.set_model(_Model(outputs))
    return callback


def _constant(images):
    return np.full((len(images), 1), 0.51)


def _varying(images):
    return images.reshape(len(images), -1)[:, :1] * 0.8 + 0.1  # 0.1 for one batch, 0.9 for the other


def test_constant_predictions_stop_after_the_patience():
    callback = _callback(_constant)
    callback.on_epoch_end(0, {"loss": 0.9})  # the first collapsed epoch: patience
    with pytest.raises(ModelCollapsed, match=r"collapsed at epoch 2: constant predictions \(0.510"):
        callback.on_epoch_end(1, {"loss": 0.9})


def test_a_model_that_recovers_resets_the_count():
    model = _Model(_constant)
    callback = StopOnCollapse(PROBE, patience=2)
    callback.set_model(model)
    for epoch, outputs in enumerate([_constant, _varying, _constant, _varying]):
        model.outputs = outputs
        callback.on_epoch_end(epoch, {"loss": 0.69})  # never two collapsed epochs in a row


def test_loss_stuck_at_ln2_with_one_class_for_every_image_is_a_collapse():
    def one_side(images):  # varying, but all above 0.5: one class for every image
        return np.full((len(images), 1), 0.52) + images.reshape(len(images), -1)[:, :1] * 0.05

    callback = _callback(one_side, patience=1)
    with pytest.raises(ModelCollapsed, match="loss stuck at 0.6950 .* one class for all images"):
        callback.on_epoch_end(0, {"loss": 0.695})
    # The same predictions while the training loss falls: a slow start, not a collapse.
    _callback(one_side, patience=1).on_epoch_end(0, {"loss": 0.58})


def test_accuracy_at_chance_with_varying_predictions_is_not_a_collapse():
    _callback(_varying, patience=1).on_epoch_end(0, {"loss": math.log(2), "val_accuracy": 0.5})


def test_the_probe_runs_only_when_the_accuracy_is_a_class_share():
    calls = []

    def counted(images):
        calls.append(len(images))
        return _constant(images)

    callback = _callback(counted, patience=1)
    callback.on_epoch_end(0, {"loss": 0.69, "val_accuracy": 0.625})  # some images right, some wrong
    assert calls == []
    with pytest.raises(ModelCollapsed, match="collapsed at epoch 2: constant predictions"):
        callback.on_epoch_end(1, {"loss": 0.69, "val_accuracy": 0.5})  # what one class for all scores
    assert calls == [4, 4]


def test_a_nan_accuracy_runs_the_probe():
    callback = _callback(lambda images: np.full((len(images), 1), np.nan))
    with pytest.raises(NonFiniteLoss, match="predictions became NaN"):
        callback.on_epoch_end(0, {"loss": 0.7, "val_accuracy": math.nan})


def test_patience_zero_never_stops():
    callback = _callback(_constant, patience=0)
    for epoch in range(5):
        callback.on_epoch_end(epoch, {"loss": math.log(2)})


@pytest.mark.parametrize("key", ["loss", "val_loss"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_non_finite_training_or_validation_loss_diverges(key, value):
    callback = StopOnNonFiniteLoss()
    callback.on_epoch_begin(2)
    with pytest.raises(NonFiniteLoss, match=f"diverged at epoch 3: {key} became"):
        callback.on_epoch_end(2, {"loss": 0.5, "val_loss": 0.5, key: value})


def test_a_non_finite_batch_loss_diverges_at_once():
    callback = StopOnNonFiniteLoss()
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(0, {"loss": 0.7})
    with pytest.raises(NonFiniteLoss, match="diverged at epoch 1: loss became nan at batch 2"):
        callback.on_train_batch_end(1, {"loss": math.nan})


def test_nan_predictions_diverge_at_once():
    callback = _callback(lambda images: np.full((len(images), 1), np.nan))
    with pytest.raises(NonFiniteLoss, match="diverged at epoch 1: predictions became NaN .* for 8 of 8"):
        callback.on_epoch_end(0, {"loss": 0.695})
