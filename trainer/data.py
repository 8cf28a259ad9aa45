"""Training and test images from TFDS, an image folder, or a synthetic generator.

Every source yields `(uint8 image [size, size, 3], int32 label)` pairs. `input_pipeline` then
decodes and resizes in parallel once (one call per core), caches the uint8 images in memory when
they fit (so later epochs neither read nor decode), shuffles, batches, scales (each image
standardized, or the codelab's [0, 1]) and prefetches. Sharding is
by data (`AutoShardPolicy.DATA`): every worker runs the same seeded pipeline and keeps its share
of the batches, which needs no file-count guesswork and works for any source.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from trainer.errors import TrainerUserError
from trainer.flags import DATA_FORMS, DataSource

SPLITS = ("train", "test")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Decoded uint8 images up to this size stay in memory; keeps a trial well under 4 GiB.
CACHE_LIMIT_BYTES = 1 << 30
# Synthetic data never changes between trials or seeds: the tuner compares trials on the same images.
SYNTHETIC_SEEDS = {"train": 20240, "test": 20241}


@dataclass(frozen=True)
class Split:
    """One split, unbatched: `(uint8 image, int32 label)` elements, `size` of them."""

    dataset: tf.data.Dataset
    size: int


@dataclass(frozen=True)
class Data:
    train: Split
    test: Split
    class_names: tuple[str, ...]


def load(
    source: DataSource, image_size: int, *, tfds_data_dir: str | None = None, synthetic_examples: int = 256
) -> Data:
    """The train and test splits of `source`, decoded and resized to `image_size` squares."""
    if source.kind == "tfds":
        return _load_tfds(source.location, image_size, tfds_data_dir)
    if source.kind == "dir":
        return _load_directory(source.location, image_size)
    if source.kind == "synthetic":
        return _load_synthetic(image_size, synthetic_examples)
    raise TrainerUserError(f"--data {source}: unknown source; use {DATA_FORMS}")


def input_pipeline(
    split: Split,
    global_batch_size: int,
    *,
    training: bool,
    seed: int,
    scaling: str = "unit",
    augment: str = "none",
) -> tf.data.Dataset:
    """Cache, shuffle (training only), batch, augment (training only), scale and prefetch.

    `scaling`: `unit` is the codelab's x / 255 in [0, 1]; `per_image` standardizes each image
    to zero mean and unit variance. On horses_or_humans, whose test images are renders on white
    and training images renders on outdoor scenes, `unit` keeps a figure's pixels as they are
    whatever surrounds it, and studies reach higher accuracy with it; `per_image` rescales the
    figure by its background's brightness, which steadies the first epochs but costs accuracy
    (docs/trainer.md, "Input scaling").

    `augment`: `flip` mirrors each training image left-right with probability 1/2, differently
    every epoch (`none`: as read, the codelab's).

    The shuffle seed must be the same on every worker: with data sharding each worker keeps
    every n-th batch of the same order, so their shares are disjoint.
    """
    dataset = split.dataset
    image_bytes = _element_bytes(dataset) * split.size
    if image_bytes <= CACHE_LIMIT_BYTES:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(min(split.size, 10_000), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(global_batch_size)
    if training and augment == "flip":
        dataset = _flip_at_random(dataset, seed)
    scale = _standardize if scaling == "per_image" else _scale
    dataset = dataset.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # No tf.data autotuner: after the first epoch the work per batch is a cast and a scale, and
    # on a small machine the tuner's own threads take cores from training (2 cores: half the
    # epochs ran at 150 ms a step instead of 80). AUTOTUNE parallelism then means one call per core.
    options.autotune.enabled = False
    return dataset.with_options(options)


def _flip_at_random(batches: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Each image of each batch mirrored left-right or not, by a seeded stream of stateless keys.

    The same `--seed` flips the same images in every run and on every worker (so training stays
    reproducible and the data shards stay disjoint); the stream is drawn again every epoch.
    """
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def flip(batch: tuple[tf.Tensor, tf.Tensor], key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, labels = batch
        return tf.image.stateless_random_flip_left_right(images, seed=key), labels

    return tf.data.Dataset.zip(batches, keys).map(flip, num_parallel_calls=tf.data.AUTOTUNE)


def _scale(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.cast(images, tf.float32) / 255.0, labels


def _standardize(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.image.per_image_standardization(tf.cast(images, tf.float32)), labels


def _element_bytes(dataset: tf.data.Dataset) -> int:
    image_spec = dataset.element_spec[0]
    return int(np.prod(image_spec.shape)) * image_spec.dtype.size


def _resize_to_uint8(image: tf.Tensor, image_size: int) -> tf.Tensor:
    # Bilinear, like the codelab's tf.image.resize; rounding to uint8 keeps the cache 4x smaller.
    resized = tf.image.resize(image, (image_size, image_size))
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


# --- tfds:NAME ----------------------------------------------------------------------------------


def _load_tfds(name: str, image_size: int, data_dir: str | None) -> Data:
    import tensorflow_datasets as tfds  # about 2 s: only --data tfds:NAME needs it

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise TrainerUserError(f"--data tfds:{name}: TFDS has no dataset named {name!r}") from None
    missing = [split for split in SPLITS if split not in builder.info.splits] if builder.info.splits else []
    if missing:
        raise TrainerUserError(
            f"--data tfds:{name}: no {'/'.join(missing)} split (it has {', '.join(builder.info.splits)})"
        )
    try:
        (train, test), info = tfds.load(
            name, split=list(SPLITS), as_supervised=True, with_info=True, data_dir=data_dir
        )
    except (tfds.core.registered.DatasetNotFoundError, AssertionError, ValueError) as error:
        raise TrainerUserError(f"--data tfds:{name}: {_first_line(error)}") from None
    label_key = info.supervised_keys[1] if info.supervised_keys else "label"
    class_names = tuple(getattr(info.features[label_key], "names", ()) or ())
    _require_two_classes(f"tfds:{name}", class_names)

    def prepare(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return _resize_to_uint8(image, image_size), tf.cast(label, tf.int32)

    return Data(
        train=Split(
            train.map(prepare, num_parallel_calls=tf.data.AUTOTUNE), info.splits["train"].num_examples
        ),
        test=Split(test.map(prepare, num_parallel_calls=tf.data.AUTOTUNE), info.splits["test"].num_examples),
        class_names=class_names,
    )


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# --- dir:PATH -----------------------------------------------------------------------------------


def _load_directory(root: str, image_size: int) -> Data:
    """`root/{train,test}/<class>/*`; classes are numbered in sorted order, as Keras does."""
    root = root.rstrip("/")
    if not tf.io.gfile.isdir(root):
        raise TrainerUserError(f"--data dir:{root}: no such directory")
    listed = {split: _list_split(root, split) for split in SPLITS}
    train_classes, test_classes = listed["train"][0], listed["test"][0]
    _require_two_classes(f"dir:{root}/train", train_classes)
    if test_classes != train_classes:
        raise TrainerUserError(
            f"--data dir:{root}: test classes {list(test_classes)}"
            f" differ from train classes {list(train_classes)}"
        )

    def prepare(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape((None, None, 3))
        return _resize_to_uint8(image, image_size), label

    splits = {}
    for split, (_, paths, labels) in listed.items():
        files = tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, dtype=np.int32)))
        splits[split] = Split(files.map(prepare, num_parallel_calls=tf.data.AUTOTUNE), len(paths))
    return Data(train=splits["train"], test=splits["test"], class_names=train_classes)


def _list_split(root: str, split: str) -> tuple[tuple[str, ...], list[str], list[int]]:
    split_dir = posixpath.join(root, split)
    if not tf.io.gfile.isdir(split_dir):
        raise TrainerUserError(
            f"--data dir:{root}: missing {split_dir}/"
            f" (expected {root}/train/<class>/* and {root}/test/<class>/*)"
        )
    classes = tuple(
        sorted(
            entry.rstrip("/")
            for entry in tf.io.gfile.listdir(split_dir)
            if tf.io.gfile.isdir(posixpath.join(split_dir, entry.rstrip("/")))
        )
    )
    paths: list[str] = []
    labels: list[int] = []
    for index, class_name in enumerate(classes):
        class_dir = posixpath.join(split_dir, class_name)
        images = sorted(
            posixpath.join(class_dir, name)
            for name in tf.io.gfile.listdir(class_dir)
            if name.lower().endswith(IMAGE_EXTENSIONS)
        )
        paths.extend(images)
        labels.extend([index] * len(images))
    if not paths:
        raise TrainerUserError(
            f"--data dir:{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) under {split_dir}/<class>/"
        )
    return classes, paths, labels


def _require_two_classes(where: str, class_names: tuple[str, ...]) -> None:
    if len(class_names) != 2:
        listed = ", ".join(class_names) or "none"
        raise TrainerUserError(
            f"--data {where}: the model is a binary classifier and needs exactly 2 classes,"
            f" found {len(class_names)} ({listed})"
        )


# --- synthetic ----------------------------------------------------------------------------------


def synthetic_arrays(num_examples: int, image_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise images, each with a tinted square: red-tinted for class 0, blue-tinted for class 1.

    The square's place and size vary, so the model must find a colour cue, not memorize pixels;
    a few epochs of the codelab CNN get well above chance at any image size.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=num_examples).astype(np.int32)
    images = rng.integers(0, 96, size=(num_examples, image_size, image_size, 3), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        side = int(rng.integers(image_size // 2, image_size * 3 // 4 + 1))
        top, left = rng.integers(0, image_size - side + 1, size=2)
        channel = 0 if label == 0 else 2
        image[top : top + side, left : left + side, channel] += 150
    return images, labels


def _load_synthetic(image_size: int, num_examples: int) -> Data:
    splits = {}
    for split in SPLITS:
        images, labels = synthetic_arrays(num_examples, image_size, SYNTHETIC_SEEDS[split])
        splits[split] = Split(tf.data.Dataset.from_tensor_slices((images, labels)), num_examples)
    return Data(train=splits["train"], test=splits["test"], class_names=("red", "blue"))
