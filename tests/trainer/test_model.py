"""The default model is the codelab's CNN, layer for layer; dropout is an opt-in layer."""

from __future__ import annotations

import pytest


def test_the_codelab_cnn_layer_for_layer():
    import keras

    from trainer.model import build_model, compile_model

    model = build_model(image_size=150, num_units=128)
    compile_model(model, learning_rate=0.01, momentum=0.9)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    described = [
        (type(layer).__name__, getattr(layer, "filters", None) or getattr(layer, "units", None))
        for layer in layers
    ]
    assert described == [
        ("Conv2D", 16), ("MaxPooling2D", None), ("Conv2D", 32), ("MaxPooling2D", None),
        ("Conv2D", 64), ("MaxPooling2D", None), ("Flatten", None), ("Dense", 128), ("Dense", 1),
    ]  # fmt: skip
    assert all(layer.kernel_size == (3, 3) and layer.activation.__name__ == "relu" for layer in layers[0:6:2])
    assert all(layer.pool_size == (2, 2) for layer in layers[1:6:2])
    assert layers[-2].activation.__name__ == "relu" and layers[-1].activation.__name__ == "sigmoid"
    # 150 -> 148 -> 74 -> 72 -> 36 -> 34 -> 17: the codelab's 2,391,329 weights
    assert model.count_params() == 448 + 4_640 + 18_496 + (17 * 17 * 64 * 128 + 128) + 129 == 2_391_329
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01) and model.optimizer.momentum == 0.9
    assert model.loss == "binary_crossentropy"


def test_dropout_adds_one_layer_after_flatten_and_no_weights():
    import keras
    import numpy as np

    from trainer.model import build_model

    plain = build_model(image_size=24, num_units=4)
    dropped = build_model(image_size=24, num_units=4, dropout=0.5)
    names = [type(layer).__name__ for layer in dropped.layers]
    assert names[names.index("Flatten") + 1] == "Dropout" and dropped.layers[-3].rate == 0.5
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    assert dropped.count_params() == plain.count_params()
    # Inference ignores it: the same weights give the same predictions with and without it.
    dropped.set_weights(plain.get_weights())
    images = np.random.default_rng(0).random((2, 24, 24, 3), dtype=np.float32)
    np.testing.assert_allclose(dropped(images, training=False), plain(images, training=False), rtol=1e-6)


def test_saved_model_export_serves_the_same_predictions(tmp_path):
    import numpy as np
    import tensorflow as tf

    from trainer.model import build_model
    from trainer.task import _save

    model = build_model(image_size=24, num_units=4)
    _save(model, str(tmp_path / "export"), "saved_model")
    served = tf.saved_model.load(str(tmp_path / "export"))
    images = np.random.default_rng(0).random((2, 24, 24, 3), dtype=np.float32)
    np.testing.assert_allclose(served.serve(images).numpy(), model.predict(images, verbose=0), rtol=1e-5)
