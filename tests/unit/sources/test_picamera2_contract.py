"""edgeml's picamera2 source and Picamera2Double hold to the real picamera2 API, read from its wheels with ``ast``.

The unit tests of the picamera2 source run against our double, so nothing else would notice a method, keyword,
stream key or Platform name that the real library lacks. These tests read every ``picamera2-*.whl`` in
``build/picamera2/`` (``EDGEML_PICAMERA2_DIST`` overrides it) without importing it: picamera2 needs libcamera.
`make test` downloads the lowest version the ``[picamera]`` extra allows and the newest on PyPI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.doubles.picamera2_contract import check_double, check_source
from tests.picamera2_wheel import RealApi, load_api

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[3]
DIST = Path(os.environ.get("EDGEML_PICAMERA2_DIST", ROOT / "build" / "picamera2"))
SOURCE = ROOT / "edgeml" / "sources" / "picam.py"
DOUBLE = ROOT / "tests" / "doubles" / "picamera2_double.py"
# pip refuses two pins of one package in one command, hence one download per version.
DOWNLOAD = ("for v in 0.3.17 0.3.38; do pip download --no-deps --only-binary=:all: -d build/picamera2 "
            "picamera2==$v; done")
WHEELS = sorted(DIST.glob("picamera2-*.whl"))
NO_WHEELS = f"no picamera2 wheels in {DIST}: `make test` downloads them ({DOWNLOAD})"

# Double class -> the real class it stands for.
PAIRS = {"Picamera2Double": "Picamera2", "CompletedRequestDouble": "CompletedRequest", "Platform": "Platform"}
# Public attributes the double has on purpose and picamera2 does not; everything else it has must be real.
DOUBLE_ONLY = {
    "photo": "the scene the double films",
    "fps": "the double's frame clock (a real video configuration pins 30 fps through FrameDurationLimits)",
    "num_cameras": "how many cameras the double pretends are plugged in",
    "fail_reads": "fault injection: the next N capture_request calls fail",
    "opened": "every camera the class opened, for tests to inspect",
    "camera_num": "the index asked for (picamera2 keeps it in camera_idx)",
    "closed": "close() was called (picamera2's is_open is also False before opening)",
    "released": "release() was called (picamera2 counts references in ref_count)",
}

# Where the real API differs between the versions checked, in what edgeml or the double touches. Each row is
# asserted against the wheels, so the table cannot drift; a version not listed is not compared.
KNOWN_DIFFERENCES = [
    # configure()'s default changed from "preview" to None, which configure() turns into "preview": the same.
    # edgeml always passes a configuration; the double has no default (stricter than both).
    ("configure(camera_config=) default",
     lambda api: api.classes["Picamera2"].methods["configure"].keyword("camera_config").default,
     {"0.3.17": "'preview'", "0.3.38": "None"}),
    # "preserve_ar" (keep the aspect ratio when aligning) came later; edgeml passes only "size" and "format", and
    # the source check above fails if it ever passes a key the oldest version lacks.
    ("stream keys accepted", lambda api: sorted(api.stream_keys),
     {"0.3.17": ["format", "size", "stride"], "0.3.38": ["format", "preserve_ar", "size", "stride"]}),
    # Unchanged, but what edgeml's lores format choice rests on.
    ("Platform members", lambda api: api.classes["Platform"].members,
     {"0.3.17": {"VC4": 0, "PISP": 1}, "0.3.38": {"VC4": 0, "PISP": 1}}),
]

_apis: dict[Path, RealApi] = {}


def _api(wheel: Path) -> RealApi:
    if wheel not in _apis:
        _apis[wheel] = load_api(wheel)
    return _apis[wheel]


def _version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


wheels = pytest.mark.parametrize(
    "wheel", [pytest.param(w, id=_version(w)) for w in WHEELS] or [pytest.param(None, marks=pytest.mark.skip(
        reason=NO_WHEELS))])


@wheels
def test_source_calls_only_methods_keywords_and_keys_picamera2_has(wheel):
    report = check_source(SOURCE.read_text(), _api(wheel), "edgeml/sources/picam.py")
    assert report.problems == []
    # A floor, so that the checker losing track of the camera object cannot pass by checking nothing.
    assert {"Picamera2()", "Picamera2.capture_request()", "CompletedRequest.make_buffer()", "Picamera2.platform",
            "stream_configuration()['stride']", "stream dict key 'format'", "Platform.VC4"} <= report.uses
    assert any(u.startswith("Picamera2.create_video_configuration(main=, lores=") for u in report.uses)


@wheels
def test_double_has_only_real_methods_signatures_attributes_and_platforms(wheel):
    report = check_double(DOUBLE.read_text(), _api(wheel), PAIRS, constructed={"Picamera2Double"},
                          double_only=DOUBLE_ONLY)
    assert report.problems == []
    assert {"Picamera2.capture_request", "CompletedRequest.make_buffer", "Platform.PISP"} <= report.uses


@wheels
@pytest.mark.parametrize("what, read, expected", KNOWN_DIFFERENCES, ids=[row[0] for row in KNOWN_DIFFERENCES])
def test_known_differences_between_versions_are_as_documented(wheel, what, read, expected):
    version = _api(wheel).version
    if version not in expected:
        pytest.skip(f"picamera2 {version} is not in the table of known differences")
    assert read(_api(wheel)) == expected[version]


@pytest.mark.skipif(not WHEELS, reason=NO_WHEELS)
def test_wheels_include_the_lowest_version_the_picamera_extra_allows():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["picamera"]
    lowest = next(req.split(">=")[1].split(",")[0].strip() for req in extra if req.startswith("picamera2>="))
    found = {_api(wheel).version for wheel in WHEELS}
    assert lowest in found, f"[picamera] allows picamera2 {lowest} but {DIST} holds {sorted(found)}: {DOWNLOAD}"


_SNIPPET = """
from edgeml._optional import require

def run(size):
    picamera2 = require("picamera2")
    cam = picamera2.Picamera2(0)
    {line}
"""


@wheels
@pytest.mark.parametrize("line, expected", [
    ("cam.capture_requestx()", "Picamera2.capture_requestx() does not exist"),
    ("cam.create_video_configuration(lorez={'size': size})", "has no parameter 'lorez'"),
    ("cam.configure(config={})", "has no parameter 'config'"),
    ("cam.start(None, False, True)", "takes 2 positional arguments, given 3"),
    ("cam.create_video_configuration(lores={'sise': size})", "stream key 'sise' is not one of"),
    ("cam.stream_configuration('lores')['strde']", "stream_configuration() holds no 'strde'"),
    ("cam.stream_configuration('lowres')", "no stream 'lowres'"),
    ("cam.capture_request().make_buffers('lores')", "CompletedRequest.make_buffers() does not exist"),
    ("cam.capture_request().make_buffer()", "make_buffer() needs 'name'"),
    ("cam.platfrom", "Picamera2 has no attribute 'platfrom'"),
    ("picamera2.Picamera2.platform.name == 'PI5'", "Platform has no member 'PI5'"),
    ("picamera2.Picamera3(0)", "picamera2 exports no 'Picamera3'"),
    ("cam.create_video_configuration(main={'size': size, 'format': 'XRGB8888'}, queue=False)", None),
])
def test_source_checker_reports_what_picamera2_lacks(wheel, line, expected):
    problems = check_source(_SNIPPET.format(line=line), _api(wheel)).problems
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems


_BAD_DOUBLE = """
from enum import Enum

class Platform(Enum):
    VC4 = 0
    PISP = 2
    PI5 = 3

class CameraDouble:
    def __init__(self, camera_num=0, tuning_file=None):
        self.frobnicate = 1

    def capture_requestx(self):
        pass

    def configure(self, config):
        pass

    def capture_request(self, wait=None, flush=None):
        pass

    def create_video_configuration(self, main=None, lores=None, buffer_count=4, **kwargs):
        pass

    def stream_configuration(self, name="lores"):
        pass
"""


@wheels
@pytest.mark.parametrize("expected", [
    "capture_requestx() does not exist",
    "configure() positional argument 1 is 'config'; picamera2's is 'camera_config'",
    "capture_request() positional argument 2 is 'flush'; picamera2's is 'signal_function'",
    "create_video_configuration() positional argument 3 is 'buffer_count'; picamera2's is 'raw'",
    "create_video_configuration() takes **kwargs; picamera2 does not",
    "create_video_configuration() 'buffer_count' defaults to 4 where picamera2's default is 6",
    "stream_configuration() 'name' defaults to 'lores' where picamera2's default is 'main'",
    "__init__() positional argument 2 is 'tuning_file'; picamera2's is 'verbose_console'",
    "attribute 'frobnicate' does not exist in picamera2",
    "member PISP = 2",
    "member PI5 = 3",
])
def test_double_checker_reports_what_picamera2_lacks(wheel, expected):
    report = check_double(_BAD_DOUBLE, _api(wheel), {"CameraDouble": "Picamera2", "Platform": "Platform"},
                          constructed={"CameraDouble"})
    assert any(expected in p for p in report.problems), report.problems
