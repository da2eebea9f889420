"""Calibration from a folder, a glob or an .npz; eval folders matched to labels; one-line errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeml.errors import ConversionError, LabelsError
from edgeml_converters.quantize import calibration
from edgeml_converters.report.accuracy import eval_set, tied_disagreements


@pytest.fixture()
def photo_dir(tmp_path, photos):
    """Real photos: two colour classes and a greyscale copy of one."""
    for name, pixels in photos.items():
        (tmp_path / "colour" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(pixels[i * 20:]).save(tmp_path / "colour" / name / f"{i}.jpg")
    (tmp_path / "grey").mkdir()
    Image.fromarray(photos["chelsea"]).convert("L").save(tmp_path / "grey" / "chelsea.png")
    return tmp_path


def test_folder_and_glob_sample_every_class(photo_dir):
    folder = calibration.load_samples(photo_dir / "colour", 3, channels=3)
    assert {p.parent.name for p in folder} == {"chelsea", "coffee", "astronaut"}
    glob = calibration.load_samples(str(photo_dir / "colour" / "*" / "[01].jpg"), 100, channels=3)
    assert len(glob) == 6 and all(p.stem in "01" for p in glob)
    again = calibration.load_samples(photo_dir / "colour", 3, channels=3)
    assert again == folder, "sampling is reproducible"


def test_npz_samples_are_resized_like_files(tmp_path, photos):
    images = np.stack([photos["chelsea"][:300, :400], photos["coffee"][:300, :400]])
    np.savez(tmp_path / "calib.npz", images=images)
    samples = calibration.load_samples(tmp_path / "calib.npz", 10, channels=3)
    assert len(samples) == 2
    from edgeml.preprocess import Preprocessing

    px = calibration.pixels_for(samples[0], (32, 48, 3), Preprocessing())
    assert px.shape == (32, 48, 3) and px.dtype == np.uint8
    assert np.array_equal(calibration.pixels_for(samples[0], (32, 48, 3), Preprocessing(), "bgr"), px[..., ::-1])


@pytest.mark.parametrize(("make", "match"), [
    ("empty_dir", "No images found"),
    ("empty_glob", "No images found"),
    ("grey_for_rgb", r"1 of 1 calibration images .* have 1 channel .*mode L.* model takes 3"),
    ("npz_channels", r"have 3 channel\(s\) .* model takes 1"),
    ("npz_dtype", "must be non-empty uint8"),
])
def test_bad_calibration_input_is_refused_with_the_fix(photo_dir, make, match):
    channels = 3
    if make == "empty_dir":
        (photo_dir / "empty").mkdir()
        source = photo_dir / "empty"
    elif make == "empty_glob":
        source = str(photo_dir / "nothing" / "*.jpg")
    elif make == "grey_for_rgb":
        source = photo_dir / "grey"
    else:
        dtype = np.uint8 if make == "npz_channels" else np.float32
        np.savez(photo_dir / "c.npz", images=np.zeros((2, 8, 8, 3), dtype))
        source, channels = photo_dir / "c.npz", 1 if make == "npz_channels" else 3
    with pytest.raises(ConversionError, match=match) as info:
        calibration.load_samples(source, 10, channels=channels)
    assert "\n" not in str(info.value)


def test_eval_folders_match_labels_by_name_or_index_prefix(tmp_path, photos):
    for folder in ("0_T-shirt-top", "ankle boot"):
        (tmp_path / folder).mkdir()
        Image.fromarray(photos["coffee"]).save(tmp_path / folder / "a.png")
    paths, truth, names = eval_set(tmp_path, ["T-shirt/top", "Trouser", "Ankle boot"])
    pairs = sorted(zip((p.parent.name for p in paths), truth.tolist(), strict=True))
    assert pairs == [("0_T-shirt-top", 0), ("ankle boot", 2)]
    assert names[2] == "Ankle boot"


def test_eval_folder_with_unknown_class_names_is_refused(tmp_path, photos):
    (tmp_path / "cats").mkdir()
    Image.fromarray(photos["chelsea"]).save(tmp_path / "cats" / "a.png")
    with pytest.raises(LabelsError, match=r"match no label: \['cats'\]; labels are \['dog', 'bird'\]"):
        eval_set(tmp_path, ["dog", "bird"])


def test_output_ties_are_told_apart_from_real_disagreements():
    # uint8 softmax outputs: a tie at the top goes to the lower index, which is only "wrong" by the output's step.
    outputs = np.array([[10, 200, 200, 5],    # float says 2; 1 and 2 tie, argmax reports 1: a tied disagreement
                        [10, 200, 199, 5],    # float says 2; the model really prefers 1
                        [250, 3, 3, 3],       # agrees
                        [100, 100, 0, 0]],    # tie, but float's class is the one reported: agrees
                       dtype=np.uint8)
    assert tied_disagreements(outputs, np.array([2, 2, 0, 0])) == 1
    assert tied_disagreements(outputs, np.argmax(outputs, axis=-1)) == 0
