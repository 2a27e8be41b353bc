"""The model formats ``tuidl export-model`` writes and what ONNX needs installed: read by the
command line and the Runs pane without importing PyTorch."""

from __future__ import annotations

import importlib.util

FILES = {"safetensors": "model.safetensors", "onnx": "model.onnx", "torchscript": "model.pt"}
FORMATS = tuple(FILES)
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
ONNX_INSTALL = "pip install 'tuidl[onnx]'"


def missing_onnx() -> list[str]:
    """The packages ``--format onnx`` needs that are not installed."""
    return [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
