"""What edgetpu_compiler 16 accepts: the Edge TPU's op list, the op versions it can parse, and the fix for each miss.

Sources (all public):

- Supported operations and their limitations: Coral, "TensorFlow models on the Edge TPU",
  https://coral.ai/docs/edgetpu/models-intro/#supported-operations (compiler 16.0 / runtime 14).
- Op versions: compiler 16.0.384591198 (July 2021) embeds TensorFlow Lite's op resolver of that time (TF ~2.5,
  ``tensorflow/lite/kernels/register.cc``); any op whose version is newer makes it stop with
  ``ERROR: Didn't find op for builtin opcode 'X' version 'N'`` and compile nothing. Reported with compiler 16:
  CONV_2D v6 (google-coral/edgetpu#631), TRANSPOSE_CONV v4 (#845), QUANTIZE v3 (#879), EXP v2
  (google-coral/libedgetpu#71); "Op builtin_code out of range: 150" for ops newer than that resolver.
"""

from __future__ import annotations

__all__ = ["COMPILER_MAX_BUILTIN_CODE", "COMPILER_VERSION", "MAX_VERSION", "NO_FUSED_ACTIVATION", "SUPPORTED",
           "UNSUPPORTED_FIXES", "VERSION_FIXES"]

COMPILER_VERSION = "16.0"

# Op -> Coral's "known limitations" note ("" when none). Only these ops can be mapped to the Edge TPU.
SUPPORTED: dict[str, str] = {
    "ADD": "", "AVERAGE_POOL_2D": "No fused activation function.",
    "CONCATENATION": "No fused activation function. A constant input is allowed only as one of exactly 2 inputs "
                     "and only if it is all zeros (a zero-padding op).",
    "CONV_2D": "Must use the same dilation in x and y dimensions.",
    "DEPTHWISE_CONV_2D": "Must use the same dilation in x and y dimensions.",
    "EXPAND_DIMS": "",
    "FULLY_CONNECTED": "Only the default format is supported for fully-connected weights. "
                       "Output tensor is one-dimensional.",
    "L2_NORMALIZATION": "", "LOGISTIC": "", "UNIDIRECTIONAL_SEQUENCE_LSTM": "Unidirectional LSTM only.",
    "MAXIMUM": "", "MAX_POOL_2D": "No fused activation function.",
    "MEAN": "No reduction in batch dimension.", "MINIMUM": "", "MUL": "",
    "PACK": "No packing in batch dimension.", "PAD": "No padding in batch dimension.",
    "PRELU": "Alpha must be 1-dimensional (only the innermost dimension can be >1 size).",
    "QUANTIZE": "", "REDUCE_MAX": "Cannot operate on the batch dimension.",
    "REDUCE_MIN": "Cannot operate on the batch dimension.", "RELU": "", "RELU6": "", "RELU_N1_TO_1": "",
    "RESHAPE": "Certain reshapes might not be mapped for large tensor sizes.",
    "RESIZE_BILINEAR": "Input/output is a 3-dimensional tensor; some sizes are not mapped to avoid precision loss.",
    "RESIZE_NEAREST_NEIGHBOR": "Input/output is a 3-dimensional tensor; some sizes are not mapped to avoid "
                               "precision loss.",
    "RSQRT": "", "SLICE": "", "SOFTMAX": "Supports only 1-D input tensor with a max of 16,000 elements.",
    "SPACE_TO_DEPTH": "", "SPLIT": "No splitting in batch dimension.", "SQUARED_DIFFERENCE": "", "SQUEEZE": "",
    "STRIDED_SLICE": "Supported only when all strides are 1 (a Slice), with ellipsis and new-axis masks 0.",
    "SUB": "", "SUM": "Cannot operate on the batch dimension.", "TANH": "", "TRANSPOSE": "", "TRANSPOSE_CONV": "",
}

# Highest op version the compiler's embedded TFLite can parse (TF ~2.5 register.cc). Ops not listed: version 1.
MAX_VERSION: dict[str, int] = {
    "ADD": 4, "AVERAGE_POOL_2D": 3, "CONCATENATION": 3, "CONV_2D": 5, "DEPTHWISE_CONV_2D": 6, "FULLY_CONNECTED": 9,
    "L2_NORMALIZATION": 2, "LOGISTIC": 3, "UNIDIRECTIONAL_SEQUENCE_LSTM": 3, "MAXIMUM": 4, "MAX_POOL_2D": 3,
    "MEAN": 3, "MINIMUM": 4, "MUL": 4, "PACK": 3, "PAD": 3, "PADV2": 3, "QUANTIZE": 2, "REDUCE_MAX": 2,
    "REDUCE_MIN": 2, "RELU": 2, "RELU6": 2, "RESIZE_BILINEAR": 3, "RESIZE_NEAREST_NEIGHBOR": 3, "RSQRT": 2,
    "SLICE": 4, "SOFTMAX": 3, "SPACE_TO_DEPTH": 2, "SPLIT": 4, "SPLIT_V": 2, "SQUARED_DIFFERENCE": 2,
    "STRIDED_SLICE": 5, "SUB": 4, "SUM": 2, "TANH": 3, "TRANSPOSE": 5, "TRANSPOSE_CONV": 3,
    "DEQUANTIZE": 4, "TILE": 2, "GATHER": 4, "LEAKY_RELU": 2, "ARG_MAX": 2, "ARG_MIN": 2, "CAST": 2,
    "DIV": 2, "BATCH_MATMUL": 3, "DEPTH_TO_SPACE": 2, "MIRROR_PAD": 2, "GATHER_ND": 3, "SELECT": 2,
    "REDUCE_PROD": 2, "BATCH_TO_SPACE_ND": 3, "SPACE_TO_BATCH_ND": 3, "SQUEEZE": 1, "EXP": 1, "HARD_SWISH": 1,
}
# BuiltinOperator codes above this (newer than the compiler's schema) make it fail with "builtin_code out of range".
COMPILER_MAX_BUILTIN_CODE = 132  # CONV_3D

# Ops whose fused activation the Edge TPU cannot run (documented for pooling and concatenation).
NO_FUSED_ACTIVATION = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION"})

# (op, version) -> what produces it and what to change. Version 0 = any too-new version of the op.
VERSION_FIXES: dict[tuple[str, int], str] = {
    ("CONV_2D", 6): "a grouped convolution (Keras Conv2D(groups>1)) is written as CONV_2D v6: use groups=1, or "
                    "split the channels into `groups` ordinary Conv2D layers and Concatenate them, or use "
                    "DepthwiseConv2D when groups equals the input channels",
    ("TILE", 3): "Keras 3 UpSampling2D(interpolation='nearest') on int8 is lowered to RESHAPE+TILE v3: use "
                 "keras.layers.Resizing(h, w, interpolation='nearest') (RESIZE_NEAREST_NEIGHBOR, supported) instead",
    ("QUANTIZE", 3): "QUANTIZE v3 comes from int16 or float16 tensors: quantize the whole model to int8 "
                     "(edgeml convert --quantize int8) with uint8 or int8 input and output",
    ("TRANSPOSE_CONV", 4): "TRANSPOSE_CONV v4 carries a fused bias/activation from new TensorFlow: convert with "
                           "converter.experimental_new_converter = False or build it from Resizing + Conv2D",
    ("EXP", 2): "int8 EXP (v2) is not readable by compiler 16 and EXP cannot run on the Edge TPU anyway: "
                "remove it from the part of the model meant for the TPU (e.g. softmax-free heads)",
}
VERSION_FIX_DEFAULT = ("this op version was introduced after compiler 16 (TF 2.5 era): build the layer "
                       "differently, or convert with an older TensorFlow (2.5-2.8)")

UNSUPPORTED_FIXES: dict[str, str] = {
    "TILE": "UpSampling2D(nearest) becomes TILE: use keras.layers.Resizing(interpolation='nearest')",
    "HARD_SWISH": "use ReLU6 activations (e.g. MobileNetV3 'minimalistic' or EfficientNet-Lite)",
    "LEAKY_RELU": "use ReLU, or PReLU with shared_axes=[1, 2]",
    "DEQUANTIZE": "a float tensor inside the graph: quantize fully to int8 (edgeml convert --quantize int8)",
    "GATHER": "move indexing after the model's output, on the CPU",
    "EXP": "move exp/softmax-like maths after the model's output, or use SOFTMAX on a 1-D tensor",
    "DIV": "replace division by a constant with MUL by its reciprocal",
    "SPLIT_V": "use equal splits (SPLIT) or slices",
    "BATCH_MATMUL": "use Dense (FULLY_CONNECTED) on a 1-D input",
    "CAST": "keep every tensor int8/uint8; move casts outside the model",
    "ARG_MAX": "take the argmax on the CPU after the model (edgeml's postprocessing does)",
}
UNSUPPORTED_FIX_DEFAULT = "replace it with a supported op (https://coral.ai/docs/edgetpu/models-intro/#supported-operations) or move it after the model's output"  # noqa: E501
