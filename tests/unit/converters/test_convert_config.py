"""The converter's settings without TensorFlow: the quantize-mode table, ConvertConfig's checks, the CLI's choices.

A bad converter argument is an InvalidArgumentError that names the argument, shows what was received and says the
fix; the CLI exits 2 on it before TensorFlow is imported.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from edgeml.errors import InvalidArgumentError
from edgeml.preprocess import Preprocessing
from edgeml_converters.config import (
    DEFAULT_QUANTIZE,
    IO_TYPES,
    PRESETS,
    QUANTIZE_MODES,
    WEIGHT_ROUNDING,
    ConvertConfig,
    preprocessing_from,
)
from tests.conftest import run_cli

# (settings, pattern the message must match): each names the argument, the value received and a way out.
BAD_SETTINGS = [
    ({"quantize": "int4"}, r"Unknown quantize mode\(s\) \['int4'\] \(--quantize\).*Choose from: float32, float16"),
    ({"quantize": []}, r"quantize \(--quantize\) needs at least one mode.*Choose from"),
    ({"quantize": ("float16", "float16")}, r"names float16 more than once.*Received: \['float16', 'float16'\]"),
    ({"quantize": "int8", "calibration_dir": None}, r"int8 quantization needs calibration images: pass --calibration"),
    ({"quantize": ("float32", "int8"), "calibration_dir": None},
     r"int8 quantization needs calibration images.*--quantize float32\|float16"),
    ({"io": "int4"}, r"Unknown io 'int4' \(--io\)\. Choose from: uint8, int8, float32"),
    ({"quantize": "float16", "io": "uint8"}, r"io='uint8' \(--io\) applies to int8 models only.*Received: "
                                             r"quantize=\['float16'\].*Add int8 to --quantize, or drop --io"),
    ({"weight_rounding": "stochastic"}, r"Unknown weight_rounding 'stochastic' \(--weight-rounding\).*calibrated"),
    ({"color_order": "gbr"}, r"Unknown color_order 'gbr' \(--color-order\)\. Choose from: rgb, bgr"),
    ({"preprocessing": {"mean": [127.5]}}, r"preprocessing must be an edgeml.preprocess.Preprocessing\. Received: "
                                           r"dict"),
    ({"input_size": (0, 28)}, r"input_size must be \(H, W\).*--input-size HxW.*Received: \(0, 28\)"),
    ({"input_size": (28,)}, r"input_size must be \(H, W\).*Received: \(28,\)"),
    ({"input_size": (28.0, 28.0)}, r"input_size must be \(H, W\), two integers"),
    ({"max_calibration_images": 0}, r"max_calibration_images \(--max-calibration-images N\) must be an integer >= 1"
                                    r"\. Received: 0"),
    ({"max_calibration_images": True}, r"max_calibration_images .* Received: True"),
    ({"check_images": -1}, r"check_images must be an integer >= 0\. Received: -1"),
    ({"eval_images": 0, "eval_dir": "eval"}, r"eval_images \(--eval-images N\) must be an integer >= 1"),
    ({"eval_images": 5}, r"eval_images \(--eval-images\) limits the evaluation folder, but no eval_dir \(--eval DIR\)"
                         r".*Received: eval_images=5.*Pass --eval DIR or drop --eval-images"),
]


@pytest.mark.parametrize(("settings", "match"), BAD_SETTINGS, ids=[str(s) for s, _ in BAD_SETTINGS])
def test_each_bad_setting_is_an_invalid_argument_naming_it(settings, match):
    with pytest.raises(InvalidArgumentError, match=match):
        ConvertConfig("out", **{"calibration_dir": "calib", **settings})


def test_valid_settings_are_kept_and_normalised():
    config = ConvertConfig("out", calibration_dir="calib", quantize="int8", labels=["a", "b"], input_size=[28, 28])
    assert config.quantize == ("int8",) and config.labels == ("a", "b") and config.input_size == (28, 28)
    assert [m.name for m in config.modes] == ["int8"]
    assert ConvertConfig("out", quantize=["float32", "float16", "dynamic"]).quantize == ("float32", "float16",
                                                                                         "dynamic")
    assert ConvertConfig("out", quantize=("float32", "int8"), io="int8", calibration_dir="c").io == "int8"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.io = "int8"  # type: ignore[misc]


def test_only_full_integer_modes_need_calibration_and_choose_their_io():
    """The table says what each mode needs: int8 calibrates and offers uint8/int8/float32 I/O, the rest float32."""
    int8 = QUANTIZE_MODES["int8"]
    assert int8.needs_calibration and int8.full_integer and int8.optimize
    assert int8.io_for(None) == "uint8" and int8.io_for("int8") == "int8" and int8.io_for("float32") == "float32"
    assert QUANTIZE_MODES["float16"].weight_type == "float16" and QUANTIZE_MODES["float16"].optimize
    assert QUANTIZE_MODES["dynamic"].optimize and QUANTIZE_MODES["dynamic"].weight_type is None
    assert not QUANTIZE_MODES["float32"].optimize
    for name in ("float32", "float16", "dynamic"):
        mode = QUANTIZE_MODES[name]
        assert not mode.needs_calibration and mode.io_for("uint8") == "float32", name
        ConvertConfig("out", quantize=name)  # no calibration needed
    assert set(IO_TYPES) == {io for m in QUANTIZE_MODES.values() for io in m.io_types}


def test_config_round_trips_through_to_dict():
    config = ConvertConfig("out", calibration_dir="calib", quantize=("float32", "int8"), io="int8",
                           labels=("cat", "dog"), preprocessing=Preprocessing(mean=(127.5,), std=(127.5,)),
                           color_order="bgr", input_size=(32, 32), eval_dir="eval", eval_images=10)
    data = config.to_dict()
    assert data["quantize"] == ["float32", "int8"] and data["preprocessing"]["mean"] == [127.5]
    assert ConvertConfig.from_dict(data) == config
    with pytest.raises(InvalidArgumentError, match=r"Unknown ConvertConfig field\(s\): quantise"):
        ConvertConfig.from_dict({**data, "quantise": ["int8"]})
    named = dataclasses.replace(config, custom_objects={"ScaleBy2": object})
    assert named.to_dict()["custom_objects"] == ["ScaleBy2"]
    with pytest.raises(InvalidArgumentError, match="custom objects that were not supplied: ScaleBy2"):
        ConvertConfig.from_dict(named.to_dict())
    assert ConvertConfig.from_dict(named.to_dict(), custom_objects={"ScaleBy2": object}) == named


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"mean": [127.5]}, r"--mean and --std go together.*Received: mean=\[127.5\], std=None"),
    ({"preset_name": "cifar"}, r"Unknown preprocessing preset 'cifar'\. Choose one of: raw"),
    ({"crop_fraction": 1.5, "resize": "center-crop"}, r"Invalid preprocessing .*crop_fraction must be in \(0, 1\]"),
    ({"pad_value": 300, "resize": "letterbox"}, r"Invalid preprocessing .*pad_value must be an integer"),
])
def test_cli_preprocessing_flags_are_checked(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        preprocessing_from(**kwargs)


def test_cli_preprocessing_flags_build_the_preprocessing():
    assert preprocessing_from(preset_name="[-1,1]", resize="center-crop", crop_fraction=0.875) == Preprocessing(
        resize="center_crop", crop_fraction=0.875, mean=(127.5,), std=(127.5,))
    assert preprocessing_from(mean=[1.0, 2.0, 3.0], std=[4.0]) == Preprocessing(mean=(1.0, 2.0, 3.0), std=(4.0,))
    assert preprocessing_from() == Preprocessing()


def test_cli_choices_and_defaults_come_from_the_config_module_without_tensorflow():
    code = ("import sys; from edgeml.cli import build_parser; p = build_parser(); "
            "sub = next(a for a in p._actions if a.dest == 'command').choices['convert']; "
            "opts = {a.dest: a for a in sub._actions}; "
            "print(list(opts['quantize'].choices), opts['quantize'].default, list(opts['io'].choices), "
            "list(opts['weight_rounding'].choices), sorted(opts['preset'].choices), "
            "opts['max_calibration_images'].default, "
            "[m for m in ('tensorflow', 'keras') if m in sys.modules], sep='|')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().split("|") == [str(list(QUANTIZE_MODES)), str(list(DEFAULT_QUANTIZE)), str(list(IO_TYPES)),
                                      str(list(WEIGHT_ROUNDING)), str(sorted(PRESETS)), "300", "[]"]


CLI_BAD_ARGUMENTS = [
    (("--quantize", "float16", "--io", "int8"), "applies to int8 models only"),
    ((), "needs calibration images"),
    (("--quantize", "float32", "--eval-images", "5"), "no eval_dir (--eval DIR)"),
    (("--quantize", "float32", "--mean", "127.5"), "--mean and --std go together"),
    (("--quantize", "float32", "--target", "edgetpu"), "--target edgetpu needs a full-int8 model"),
    (("--quantize", "float32", "--bundle", "--version", "3"), "--bundle needs --version N and either --key KEY"),
    (("--quantize", "float32", "--resize", "center-crop", "--crop-fraction", "2"), "crop_fraction must be in"),
]


@pytest.mark.parametrize(("flags", "message"), CLI_BAD_ARGUMENTS, ids=[m for _, m in CLI_BAD_ARGUMENTS])
def test_cli_bad_converter_argument_exits_2_with_one_line(tmp_path, flags, message):
    proc = run_cli("convert", str(tmp_path / "m.keras"), "--output", str(tmp_path / "out"), *flags)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("edgeml convert: error: ") and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_checks_converter_arguments_before_importing_tensorflow(tmp_path):
    """Without TensorFlow (as on a Raspberry Pi) a bad argument is still exit 2 with its own message."""
    code = ("import sys; sys.modules['tensorflow'] = None; from edgeml.cli import main; "
            f"sys.exit(main(['convert', 'm.keras', '--output', {str(tmp_path)!r}, '--quantize', 'dynamic', "
            "'--io', 'uint8']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "io='uint8' (--io) applies to int8 models only" in proc.stderr and "pip install" not in proc.stderr


def test_convert_checks_its_settings_before_loading_the_model(tmp_path):
    """Both spellings of convert() refuse a bad setting before any model is read (nothing here needs TensorFlow)."""
    from edgeml_converters.convert import convert

    with pytest.raises(InvalidArgumentError, match=r"Unknown quantize mode\(s\) \['int4'\]"):
        convert(tmp_path / "missing.keras", tmp_path / "out", quantize="int4")
    with pytest.raises(InvalidArgumentError, match=r"not both\. Received: a ConvertConfig and the keyword\(s\) io"):
        convert(tmp_path / "missing.keras", ConvertConfig(tmp_path / "out", quantize="float32"), io="int8")
    assert not (tmp_path / "out").exists()
