"""Real photos that ship inside packages: scikit-image's data, scikit-learn's samples, Debian's opencv-doc.

Used to calibrate and check ImageNet models offline. Sources and licences:

- scikit-image (``skimage.data``, bundled files only; CC0 / public domain): chelsea, coffee, astronaut, ...
- scikit-learn ``load_sample_images`` (china.jpg, flower.jpg; CC-BY-2.0).
- Debian ``opencv-doc``: ``/usr/share/doc/opencv-doc/examples/data/*.jpg|png`` (~90 test photos; BSD/Apache).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgeml_converters.datasets.errors import DatasetMissingError
from edgeml_converters.quantize.calibration import is_greyscale

OPENCV_DATA = Path(os.environ.get("EDGEML_OPENCV_DATA", "/usr/share/doc/opencv-doc/examples/data"))

# Files bundled in the scikit-image wheel (no download): photographs, not synthetic patterns.
SKIMAGE_PHOTOS = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "clock_motion.png", "coffee.png", "coins.png",
    "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png",
    "motorcycle_right.png", "page.png", "retina.jpg", "rocket.jpg", "text.png",
)
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def photo_files() -> dict[str, Path]:
    """Return ``{"<source>_<file name>": path}`` of every photo installed here, in a stable order.

    Sources whose package is missing are skipped; call :func:`write_folder` to fail when none is found.
    """
    found: dict[str, Path] = {}
    try:
        import skimage.data

        root = Path(skimage.data.data_dir)
        for name in SKIMAGE_PHOTOS:
            if (root / name).is_file():
                found[f"skimage_{name}"] = root / name
    except ImportError:
        pass
    try:
        import sklearn.datasets

        images = Path(sklearn.datasets.__file__).parent / "images"
        for path in sorted(images.glob("*.jpg")):
            found[f"sklearn_{path.name}"] = path
    except ImportError:
        pass
    if OPENCV_DATA.is_dir():
        for path in sorted(OPENCV_DATA.iterdir()):
            if path.suffix.lower() in _IMAGE_SUFFIXES and path.is_file():
                found[f"opencv_{path.name}"] = path
    return found


def write_folder(out_dir: str | os.PathLike[str], *, colour_only: bool = False) -> Path:
    """Copy every photo from :func:`photo_files` into ``out_dir`` (flat) unless already there; return it.

    ``colour_only`` leaves out greyscale photos: calibrating a colour model wants colour images like the camera's.

    Raises:
        DatasetMissingError: No photo source is installed (scikit-image, scikit-learn or opencv-doc); also a
            ``FileNotFoundError``.
    """
    files = photo_files()
    if not files:
        raise DatasetMissingError(
            "No offline photos found: install scikit-image or scikit-learn (pip), or opencv-doc (apt-get)."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        if colour_only and is_greyscale(path):
            continue
        target = out / name
        if not target.is_file():
            shutil.copyfile(path, target)
    return out

