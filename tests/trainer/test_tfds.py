"""`--data tfds:horses_or_humans` through the real TFDS builder, with its downloads served locally.

TFDS cannot reach its download servers here, so the test builds two small zips with the real
archives' layout (`horses/*.png`, `humans/*.png`, 300x300 RGB) and places them where TFDS's
download manager caches a finished download of each URL. The real `HorsesOrHumans` builder then
prepares the dataset from them (`download_and_prepare`), and the trainer reads it with `tfds.load`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.trainer.conftest import TINY, run_trainer
from trainer.flags import DataSource

tfds = pytest.importorskip("tensorflow_datasets")

PER_SPLIT = {"train": 12, "test": 8}


def _fake_archive(path: Path, count: int, seed: int) -> None:
    """A zip like horse-or-human.zip: `horses/horseNN-N.png` and `humans/humanNN-NN.png`, 300x300 RGB."""
    from PIL import Image

    from trainer.data import synthetic_arrays

    images, labels = synthetic_arrays(count, 300, seed=seed)
    with zipfile.ZipFile(path, "w") as archive:
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            png = io.BytesIO()
            Image.fromarray(np.asarray(image)).save(png, format="PNG")
            name = f"horses/horse{index:02d}-0.png" if label == 0 else f"humans/human{index:02d}-00.png"
            archive.writestr(name, png.getvalue())


def _place_in_download_cache(download_dir: Path, url: str, archive: Path) -> None:
    """Where TFDS 4.9's DownloadManager finds a finished download of `url` with its registered checksum."""
    from tensorflow_datasets.core.download import resource

    checksum = tfds.builder_cls("horses_or_humans").url_infos[url].checksum
    cached = download_dir / "horses_or_humans" / resource.Resource(url=url).relative_download_dir
    cached = cached / resource.get_dl_fname(url, checksum)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(archive.read_bytes())
    resource.get_info_path(cached).write_text(json.dumps({"urls": [url], "original_fname": archive.name}))


@pytest.fixture(scope="module")
def tfds_data_dir(tmp_path_factory) -> Path:
    from tensorflow_datasets.image_classification import horses_or_humans

    root = tmp_path_factory.mktemp("tfds")
    downloads = root / "downloads"
    for seed, (split, url) in enumerate(
        (("train", horses_or_humans._TRAIN_URL), ("test", horses_or_humans._TEST_URL))
    ):
        archive = root / f"{split}.zip"
        _fake_archive(archive, PER_SPLIT[split], seed=seed)
        _place_in_download_cache(downloads, url, archive)
    data_dir = root / "data"
    tfds.builder("horses_or_humans", data_dir=str(data_dir)).download_and_prepare(download_dir=str(downloads))
    return data_dir


def test_the_real_builder_prepares_the_local_archives(tfds_data_dir):
    _, info = tfds.load("horses_or_humans", data_dir=str(tfds_data_dir), download=False, with_info=True)
    assert info.splits["train"].num_examples == PER_SPLIT["train"]
    assert info.splits["test"].num_examples == PER_SPLIT["test"]


def test_the_trainer_reads_tfds_splits_resized(tfds_data_dir):
    from trainer import data

    loaded = data.load(
        DataSource("tfds", "horses_or_humans"), image_size=24, tfds_data_dir=str(tfds_data_dir)
    )
    assert loaded.class_names == ("horses", "humans")
    assert (loaded.train.size, loaded.test.size) == (PER_SPLIT["train"], PER_SPLIT["test"])
    images, labels = zip(*loaded.train.dataset.as_numpy_iterator(), strict=True)
    assert {image.shape for image in images} == {(24, 24, 3)}
    assert {image.dtype for image in images} == {np.dtype("uint8")}
    assert set(labels) == {0, 1}


def test_a_trial_trains_on_tfds_and_reports(tfds_data_dir, tmp_path):
    run = run_trainer(
        tmp_path,
        "--learning_rate=0.01", "--momentum=0.9", "--num_units=16", "--epochs=2", *TINY,
        "--data=tfds:horses_or_humans", f"--tfds_data_dir={tfds_data_dir}",
        # The fake images are noise: the loss sits at ln 2, which the collapse check rightly stops.
        "--collapse_patience=0",
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert "data tfds:horses_or_humans: 12 train / 8 test images" in run.output
    assert [report["global_step"] for report in run.reports()] == ["1", "2"]
