"""Data sources and the input pipeline, in process (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trainer.conftest import write_image_folder
from trainer.errors import TrainerUserError
from trainer.flags import DataSource

tf = pytest.importorskip("tensorflow")
from trainer import data  # noqa: E402  (imports TensorFlow)


def _arrays(dataset):
    images, labels = zip(*dataset.as_numpy_iterator(), strict=True)
    return np.stack(images), np.array(labels)


def test_synthetic_data_is_deterministic_and_shaped_like_the_images(tmp_path):
    first = data.load(DataSource("synthetic"), image_size=40, synthetic_examples=24)
    second = data.load(DataSource("synthetic"), image_size=40, synthetic_examples=24)
    train_images, train_labels = _arrays(first.train.dataset)
    assert train_images.shape == (24, 40, 40, 3) and train_images.dtype == np.uint8
    assert first.train.size == first.test.size == 24
    assert np.array_equal(train_images, _arrays(second.train.dataset)[0])
    assert not np.array_equal(train_images, _arrays(first.test.dataset)[0])  # test is not a copy of train
    assert set(train_labels) == {0, 1}


def test_synthetic_classes_differ_in_colour():
    images, labels = data.synthetic_arrays(64, 32, seed=3)
    red_minus_blue = images[..., 0].astype(int).mean(axis=(1, 2)) - images[..., 2].astype(int).mean(
        axis=(1, 2)
    )
    assert (red_minus_blue[labels == 0] > 0).all() and (red_minus_blue[labels == 1] < 0).all()


def test_image_folder_is_read_with_sorted_class_indices_and_resized(tmp_path):
    root = write_image_folder(tmp_path / "images", size=20, per_split=10)
    loaded = data.load(DataSource("dir", str(root)), image_size=16)
    assert loaded.class_names == ("blue", "red")
    images, labels = _arrays(loaded.train.dataset)
    assert images.shape == (10, 16, 16, 3) and images.dtype == np.uint8
    expected_labels = sorted(  # blue=0, red=1, files in name order within each class
        [0] * len(list((root / "train" / "blue").iterdir()))
        + [1] * len(list((root / "train" / "red").iterdir()))
    )
    assert labels.tolist() == expected_labels
    assert loaded.train.size == 10 and loaded.test.size == 10


def test_pipeline_batches_scales_shards_by_data_and_caches():
    loaded = data.load(DataSource("synthetic"), image_size=8, synthetic_examples=10)
    pipeline = data.input_pipeline(loaded.train, global_batch_size=4, training=True, seed=1, scaling="unit")
    batches = list(pipeline.as_numpy_iterator())
    assert [len(labels) for _, labels in batches] == [4, 4, 2]
    images = np.concatenate([images for images, _ in batches])
    assert images.dtype == np.float32 and images.min() >= 0.0 and images.max() <= 1.0
    # The default is the codelab's x / 255; per_image gives each image zero mean, unit variance.
    default = data.input_pipeline(loaded.train, global_batch_size=4, training=True, seed=1)
    first_epoch = list(default.as_numpy_iterator())  # the same seed: the same first epoch
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first_epoch, batches, strict=True))
    standardized = data.input_pipeline(
        loaded.train, global_batch_size=4, training=True, seed=1, scaling="per_image"
    )
    images = np.concatenate([images for images, _ in standardized.as_numpy_iterator()])
    assert np.allclose(images.mean(axis=(1, 2, 3)), 0.0, atol=1e-4)
    assert np.allclose(images.std(axis=(1, 2, 3)), 1.0, atol=1e-2)
    policy = pipeline.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA
    # No autotuner threads competing with training for a small machine's cores (docs/trainer.md).
    assert pipeline.options().autotune.enabled is False

    # Same seed, same order on every worker (what data sharding relies on); each epoch reshuffles.
    def epoch_orders(dataset):
        return [tuple(images.sum(axis=(1, 2, 3)).round(3)) for images, _ in dataset.as_numpy_iterator()]

    # (in [0, 1], where an image's sum tells it apart; standardized images all sum to 0)
    worker_a = data.input_pipeline(loaded.train, global_batch_size=10, training=True, seed=1, scaling="unit")
    worker_b = data.input_pipeline(loaded.train, global_batch_size=10, training=True, seed=1, scaling="unit")
    a_epochs = epoch_orders(worker_a) + epoch_orders(worker_a)
    assert a_epochs == epoch_orders(worker_b) + epoch_orders(worker_b)
    assert a_epochs[0] != a_epochs[1]
    evaluation = data.input_pipeline(loaded.test, global_batch_size=4, training=False, seed=1)
    test_labels = np.concatenate([labels for _, labels in evaluation.as_numpy_iterator()])
    assert np.array_equal(test_labels, _arrays(loaded.test.dataset)[1])  # test data is not shuffled


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"train/a/x.png", "train/b/y.png"}, "missing {root}/test/ (expected {root}/train/<class>/*"),
        (
            {"train/a/x.png", "train/b/y.png", "train/c/z.png", "test/a/x.png"},
            "needs exactly 2 classes, found 3",
        ),
        (
            {"train/a/x.png", "train/b/y.png", "test/a/x.png", "test/c/y.png"},
            "test classes ['a', 'c'] differ",
        ),
        ({"train/a/notes.txt", "train/b/notes.txt", "test/a/x.png"}, "no images (.png, .jpg"),
    ],
)
def test_bad_image_folders_name_what_is_wrong(tmp_path, layout, message):
    root = tmp_path / "images"
    for relative in layout:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    with pytest.raises(TrainerUserError) as raised:
        data.load(DataSource("dir", str(root)), image_size=8)
    assert message.format(root=root) in str(raised.value)
    assert str(raised.value).startswith(f"--data dir:{root}")


def test_an_unknown_tfds_name_is_a_user_error(tmp_path):
    with pytest.raises(TrainerUserError, match="TFDS has no dataset named 'no_such_dataset_xyz'"):
        data.load(DataSource("tfds", "no_such_dataset_xyz"), image_size=8, tfds_data_dir=str(tmp_path))


def test_flip_mirrors_some_training_images_reproducibly_and_differently_each_epoch():
    loaded = data.load(DataSource("synthetic"), image_size=8, synthetic_examples=32)

    def pipeline(augment, training=True):
        return data.input_pipeline(
            loaded.train, global_batch_size=32, training=training, seed=3, scaling="unit", augment=augment
        )

    plain, flipped = pipeline("none"), pipeline("flip")
    (images, labels), (mirrored, same_labels) = (
        next(plain.as_numpy_iterator()),
        next(flipped.as_numpy_iterator()),
    )
    np.testing.assert_array_equal(labels, same_labels)  # same order, same labels
    was_flipped = [not np.array_equal(a, b) for a, b in zip(images, mirrored, strict=True)]
    for image, other, flipped_one in zip(images, mirrored, was_flipped, strict=True):
        np.testing.assert_array_equal(other, image[:, ::-1] if flipped_one else image)
    assert 0 < sum(was_flipped) < len(was_flipped)
    # The same seed flips the same images in another run; the next epoch draws again.
    again = next(pipeline("flip").as_numpy_iterator())[0]
    np.testing.assert_array_equal(again, mirrored)

    def flipped_images(epoch_plain, epoch_flipped) -> set[bytes]:
        return {
            a.tobytes() for a, b in zip(epoch_plain, epoch_flipped, strict=True) if not np.array_equal(a, b)
        }

    by_epoch = [
        flipped_images(next(plain.as_numpy_iterator())[0], next(flipped.as_numpy_iterator())[0])
        for _ in range(3)
    ]
    assert by_epoch[0] != by_epoch[1] or by_epoch[1] != by_epoch[2]
    # Evaluation data is never flipped.
    test = data.input_pipeline(loaded.test, 32, training=False, seed=3, scaling="unit", augment="flip")
    reference = data.input_pipeline(loaded.test, 32, training=False, seed=3, scaling="unit")
    np.testing.assert_array_equal(next(test.as_numpy_iterator())[0], next(reference.as_numpy_iterator())[0])
