"""The codelab's CNN, layer for layer: three conv/max-pool blocks, a dense layer, a sigmoid (and an
optional dropout layer, off by default)."""

from __future__ import annotations

import keras


def build_model(image_size: int, num_units: int, dropout: float = 0.0) -> keras.Model:
    """3 x (Conv2D 3x3 ReLU + MaxPool 2x2) with 16/32/64 filters, Flatten, Dense(num_units), Dense(1).

    Under a mixed dtype policy the layers compute in 16 bits; the output layer stays float32 so
    the sigmoid and the loss are computed at full precision. `dropout` > 0 adds one Dropout layer
    after Flatten (training only); at 0 the model is the codelab's, layer for layer.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, (3, 3), activation="relu")(x)
        x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Flatten()(x)
    if dropout > 0.0:
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(num_units, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs)


def compile_model(model: keras.Model, learning_rate: float, momentum: float) -> None:
    """SGD with momentum, binary cross-entropy, accuracy: the codelab's training setup."""
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
