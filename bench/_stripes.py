"""A harder synthetic image set for `bench verdict --data stripes`: learned over epochs, not in one.

The offline profile's images (a red or a blue square on noise, trainer/data.py) are told apart by
colour, which the codelab CNN learns in two SGD steps: every study reaches accuracy 1.0, even with
a third of the epochs. Here the class is the orientation of a striped patch (horizontal: class 0,
vertical: class 1) of random size and place on noise, the same in every colour channel: the
network must learn oriented filters, which takes several epochs (measured: best accuracy about 0.7
after 3 epochs, 0.95 to 1.0 after 9, for good learning rates).

Written once as an image folder (`dir:PATH`, the layout trainer/data.py reads), PNG, 32 x 32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 32
AMPLITUDE = 60  # stripe brightness over noise drawn from 0 .. 255 - AMPLITUDE
SIDES = (10, 20)  # the patch's side, inclusive range
EXAMPLES = {"train": 512, "test": 512}
CLASSES = ("horizontal", "vertical")
SEED = 7


def write_stripes(root: Path) -> Path:
    """The image folder under `root` (made once; a complete one is reused). Returns it."""
    from PIL import Image

    done = root / "complete"
    if done.exists():
        return root
    rng = np.random.default_rng(SEED)
    for split, count in EXAMPLES.items():
        for name in CLASSES:
            (root / split / name).mkdir(parents=True, exist_ok=True)
        labels = rng.integers(0, 2, size=count)
        images = rng.integers(0, 256 - AMPLITUDE, size=(count, SIZE, SIZE, 3)).astype(np.uint8)
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            side = int(rng.integers(SIDES[0], SIDES[1] + 1))
            top, left = rng.integers(0, SIZE - side + 1, size=2)
            rows, columns = np.mgrid[0:side, 0:side]
            stripes = (((rows if label == 0 else columns) // 2) % 2 * AMPLITUDE).astype(np.uint8)
            image[top : top + side, left : left + side, :] += stripes[..., None]
            Image.fromarray(image).save(root / split / CLASSES[label] / f"{index:05d}.png")
    done.write_text("")
    return root
