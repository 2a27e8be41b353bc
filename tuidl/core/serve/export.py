"""``tuidl export-model``: a run's checkpoint as a model file, checked, with what it takes to
use it outside tuidl.

Into ``RUN/export/`` (or another folder) go:

* the model: ``model.safetensors`` (the state dict, through the safetensors library),
  ``model.onnx`` (``torch.onnx.export``, a dynamic batch axis) or ``model.pt``
  (TorchScript: scripted, else traced);
* ``preset.toml``: the run's preset, so the model can be rebuilt
  (``tuidl.core.model.model.build(preset.model.layers, input_shape)``);
* ``card.json`` and ``card.md``: input shape and layout, classes, the normalisation fitted
  on the training split (mean / std or min / max, and the shift / scale applied), task,
  loss, the run's test metrics and this checkpoint's own, which checkpoint and epoch, and
  for each format exported into the folder its file, size and check.

Each file is checked before it is kept: reloaded the way a user would (a fresh model and the
safetensors weights; ``torch.jit.load``; an onnxruntime session) and run on the run's test
samples (at most :data:`CHECK_SAMPLES`) against the PyTorch model; the largest absolute
difference of the outputs must be at most :data:`TOLERANCE`, else the file is removed and
:class:`CheckFailed` says by how much.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from tuidl.core.preset import preset as P
from tuidl.core.run.rundir import RunDir, write_atomic
from tuidl.core.preset.schema import ConfigError
from tuidl.core.serve.formats import FILES, FORMATS, ONNX_INSTALL, missing_onnx
from tuidl.core.serve.runmodel import RunModel, open_model

CHECK_SAMPLES = 256  # test samples each exported file is checked on
TOLERANCE = 1e-4  # largest absolute difference of the outputs allowed against PyTorch
EXTERNAL_DATA_BYTES = 1 << 30  # ONNX weights beyond this go to a side file (protobuf stops at 2 GiB)


class CheckFailed(Exception):
    """An exported file did not reproduce the PyTorch model's outputs (it was removed)."""


def check_format(fmt: str) -> None:
    """A clear error for an unknown format, or ONNX without its packages."""
    if fmt not in FILES:
        raise ConfigError(f"unknown model format {fmt!r} (known: {', '.join(FORMATS)})")
    if fmt == "onnx":
        missing = missing_onnx()
        if missing:
            raise ConfigError(f"--format onnx needs {', '.join(missing)}, not installed here: {ONNX_INSTALL}")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """PyTorch's exporters warn about their own future (TorchScript is deprecated, the
    legacy ONNX exporter too), and onnxscript's optimizer prints what it rewrote; the user
    is told what was used, in the card, and ``--json`` prints one object only."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _max_diff(a: Any, b: torch.Tensor) -> float:
    a = torch.as_tensor(a, dtype=torch.float32).reshape(b.shape)
    return float((a - b).abs().max()) if b.numel() else 0.0


# -- the formats: write, then reload and run as a user would ------------------------------------

def _write_safetensors(m: RunModel, x: torch.Tensor, path: Path) -> dict:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in m.model.state_dict().items()}
    meta = {"tuidl_run": m.run.id, "tuidl_preset": m.preset.name, "input_shape": json.dumps(list(m.info.input_shape)),
            "checkpoint": m.kind, "epoch": str(m.epoch)}
    save_file(state, str(path), metadata=meta)
    return {"how": f"the model's state dict ({len(state)} tensors), safetensors {_version('safetensors')}"}


def _check_safetensors(m: RunModel, x: torch.Tensor, path: Path) -> tuple[torch.Tensor, str]:
    from safetensors.torch import load_file

    model = m.fresh()
    model.load_state_dict(load_file(str(path)), strict=True)
    return m.outputs(x, model), "a freshly built model with the weights from the file (PyTorch)"


def _write_torchscript(m: RunModel, x: torch.Tensor, path: Path) -> dict:
    with _quiet():
        try:
            module = torch.jit.script(m.model)
            how = "torch.jit.script"
        except Exception:  # noqa: BLE001 - not scriptable: trace it on real inputs instead
            module = torch.jit.trace(m.model, (x[:2],), check_trace=False)
            how = "torch.jit.trace (the model does not script)"
        module.save(str(path))
    return {"how": f"{how}, torch {torch.__version__}"}


def _check_torchscript(m: RunModel, x: torch.Tensor, path: Path) -> tuple[torch.Tensor, str]:
    with _quiet():
        module = torch.jit.load(str(path), map_location="cpu")
    return m.outputs(x, module), "torch.jit.load"


def _write_onnx(m: RunModel, x: torch.Tensor, path: Path) -> dict:
    example = (x[:2] if len(x) >= 2 else x.repeat((2,) + (1,) * (x.dim() - 1))).contiguous()
    big = sum(p.numel() * p.element_size() for p in m.model.parameters()) > EXTERNAL_DATA_BYTES
    common = {"input_names": ["input"], "output_names": ["output"], "verbose": False, "external_data": big}
    with _quiet():
        try:
            torch.onnx.export(m.model, (example,), str(path), dynamo=True,
                              dynamic_shapes=({0: torch.export.Dim("batch")},), **common)
            how = "torch.onnx.export (torch.export)"
        except Exception as e:  # noqa: BLE001 - torch.export could not capture it: the TorchScript-based exporter
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            for stale in (path, path.with_name(path.name + ".data")):
                stale.unlink(missing_ok=True)
            torch.onnx.export(m.model, (example,), str(path), dynamo=False,
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              input_names=["input"], output_names=["output"], verbose=False)
            how = f"torch.onnx.export (TorchScript-based; torch.export failed: {first})"
    import onnx

    opset = next((o.version for o in onnx.load(str(path), load_external_data=False).opset_import
                  if o.domain in ("", "ai.onnx")), None)
    return {"how": f"{how}, torch {torch.__version__}, onnx {_version('onnx')}", "opset": opset,
            "input": "input", "output": "output", "dynamic_axes": {"input": [0], "output": [0]}}


def _check_onnx(m: RunModel, x: torch.Tensor, path: Path) -> tuple[torch.Tensor, str]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = session.run(None, {name: x.numpy()})[0]
    return torch.from_numpy(out), f"onnxruntime {_version('onnxruntime')} (CPU)"


WRITERS: dict[str, Callable[[RunModel, torch.Tensor, Path], dict]] = {
    "safetensors": _write_safetensors, "onnx": _write_onnx, "torchscript": _write_torchscript}
CHECKS: dict[str, Callable[[RunModel, torch.Tensor, Path], tuple[torch.Tensor, str]]] = {
    "safetensors": _check_safetensors, "onnx": _check_onnx, "torchscript": _check_torchscript}


# -- the card -----------------------------------------------------------------------------

def _test_metrics(run: RunDir) -> dict | None:
    """The run's own test metrics: its ``test`` event (the final weights), else the status."""
    from tuidl.core.run.report import load_history

    history = load_history(run)
    if history.test and isinstance(history.test.get("metrics"), dict):
        return history.test["metrics"]
    test = run.status().get("test")
    return test if isinstance(test, dict) else None


def _round(metrics: dict) -> dict:
    return {k: (round(float(v), 6) if isinstance(v, (int, float)) and math.isfinite(float(v)) else v)
            for k, v in metrics.items()}


def _input_card(m: RunModel) -> dict:
    from tuidl.core.serve.inputs import describe_input

    return describe_input(m.info, m.preset)


def card_of(m: RunModel, fmt: str, entry: dict, previous: dict | None) -> dict:
    """The card: the run, its data contract, its metrics, and each format in the folder."""
    info = m.info
    checkpoint = {"kind": m.kind, "epoch": m.epoch, "step": m.step}
    formats: dict[str, dict] = {}
    if previous and previous.get("run", {}).get("id") == m.run.id and previous.get("checkpoint") == checkpoint:
        formats = {k: v for k, v in (previous.get("formats") or {}).items() if isinstance(v, dict)}
    formats[fmt] = entry
    metrics, _ = m.trainer.evaluate(m.data.test) if m.data.test is not None and len(m.data.test) else (None, None)
    outputs = info.num_classes if info.task == "classification" else info.targets
    if m.loss_kind == "bce":
        outputs = 1
    return {
        "card": 1,
        "run": {"id": m.run.id, "preset": m.preset.name, "dir": str(m.run.path)},
        "task": info.task,
        "loss": m.loss_kind,
        "dataset": info.dataset,
        "input": _input_card(m),
        "input_shape": list(info.input_shape),
        "classes": list(info.classes),
        "outputs": {"count": outputs, "meaning": _outputs_meaning(m)},
        "normalization": m.normalisation(),
        "checkpoint": checkpoint,
        "test": {"run": _round(_test_metrics(m.run) or {}) or None,
                 "checkpoint": _round(metrics) if metrics else None,
                 "samples": len(m.data.test) if m.data.test is not None else 0},
        "rebuild": "tuidl.core.model.model.build(tuidl.core.preset.preset.load('preset.toml').model.layers, input_shape)"
                   if not m.preset.model.custom else f"the custom class {m.preset.model.custom}(input_shape, outputs)",
        "formats": formats,
        "versions": {"torch": torch.__version__, "tuidl": _version("tuidl")},
    }


def _outputs_meaning(m: RunModel) -> str:
    if m.info.task != "classification":
        return "the predicted values, one per target, in the targets' own units"
    if m.loss_kind == "bce":
        return f"one logit: P({m.info.classes[1]}) = sigmoid(output)"
    return "one logit per class, in the order of classes: probabilities = softmax(outputs)"


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _values(values: list[float], limit: int = 8) -> str:
    shown = ", ".join(f"{v:.6g}" for v in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}] ({len(values)})" if len(values) > limit else f"[{shown}]"


LOADING = {
    "safetensors": """```python
from safetensors.torch import load_file
from tuidl.core.preset import preset
from tuidl.core.model import model
p = preset.load("preset.toml")
net = model.build(p.model.layers, {shape})
net.load_state_dict(load_file("{file}")); net.eval()
```""",
    "onnx": """```python
import onnxruntime as ort
session = ort.InferenceSession("{file}")
logits = session.run(None, {{"input": x}})[0]   # x: float32 (N, {dims}), normalised as above
```""",
    "torchscript": """```python
import torch
net = torch.jit.load("{file}"); net.eval()      # no tuidl needed
out = net(torch.from_numpy(x))                  # x: float32 (N, {dims}), normalised as above
```""",
}


def card_markdown(card: dict) -> str:
    """The card as Markdown."""
    run, ck, norm, inp = card["run"], card["checkpoint"], card["normalization"], card["input"]
    shape = tuple(card["input_shape"])
    lines = [f"# Model card: {run['preset']} ({run['id']})", "",
             f"- **Task**: {card['task']}, loss `{card['loss']}`, dataset `{card['dataset']}`",
             f"- **Checkpoint**: `{ck['kind']}`, epoch {ck['epoch']} (step {ck['step']})",
             f"- **Input**: float32 `(N, {', '.join(map(str, shape))})`, {inp['layout']}",
             f"- **Raw values**: {inp['raw']}"]
    if inp.get("features"):
        lines.append(f"- **Features, in order**: {', '.join(inp['features'])}")
    if card["classes"]:
        lines.append(f"- **Classes** ({len(card['classes'])}, output order): "
                     + ", ".join(f"`{c}`" for c in card["classes"]))
    lines.append(f"- **Outputs**: {card['outputs']['count']}: {card['outputs']['meaning']}")
    lines += ["", "## Normalisation", ""]
    if norm["kind"] == "none":
        lines.append("None: the model takes the raw values.")
    else:
        lines.append(f"`{norm['kind']}`, per {norm['per']}, fitted on the run's training split. "
                     f"Apply `{norm['formula']}` to the raw values:")
        lines.append("")
        for key in ("mean", "std", "min", "max", "shift", "scale"):
            if key in norm:
                lines.append(f"- `{key}`: {_values(norm[key])}")
    lines += ["", "## Test metrics", ""]
    test = card["test"]
    for label, key in (("the run's test (its final weights)", "run"), ("this checkpoint", "checkpoint")):
        metrics = test.get(key)
        text = ", ".join(f"{k} {_fmt(v)}" for k, v in metrics.items()) if metrics else "none (no test split)"
        lines.append(f"- {label}: {text}")
    if test.get("samples"):
        lines.append(f"- on {test['samples']} test samples")
    lines += ["", "## Files", ""]
    for fmt, entry in card["formats"].items():
        check = entry["check"]
        lines.append(f"- `{entry['file']}` ({fmt}, {entry['bytes']:,} bytes, sha256 `{entry['sha256'][:16]}…`): "
                     f"{entry['how']}. Checked with {check['runtime']} on {check['samples']} {check['split']} "
                     f"samples: max abs difference {check['max_abs_diff']:.3g} against PyTorch "
                     f"(tolerance {check['tolerance']:g}).")
    lines += ["", "`preset.toml` is the run's preset: " + card["rebuild"] + ".", "", "## Loading", ""]
    for fmt, entry in card["formats"].items():
        dims = ", ".join(map(str, shape))
        lines += [f"{fmt}:", "", LOADING[fmt].format(file=entry["file"], shape=shape, dims=dims), ""]
    return "\n".join(lines).rstrip() + "\n"


# -- export -------------------------------------------------------------------------------

@dataclass
class Exported:
    """What :func:`export_model` wrote."""

    path: Path  # the model file
    directory: Path
    format: str
    bytes: int
    max_abs_diff: float
    runtime: str
    samples: int
    seconds: float  # writing the file
    check_seconds: float  # reloading it and comparing
    card: dict

    def message(self) -> str:
        ck = self.card["checkpoint"]
        return "\n".join([
            f"wrote {self.path} ({self.format}, {self.bytes:,} bytes, {self.seconds:.2f} s) from the {ck['kind']} "
            f"checkpoint (epoch {ck['epoch']})",
            f"checked: {self.runtime} on {self.samples} samples, max abs difference {self.max_abs_diff:.3g} "
            f"against PyTorch (tolerance {TOLERANCE:g})",
            f"wrote {self.directory / 'preset.toml'}, {self.directory / 'card.md'} and card.json",
        ])

    def to_json(self) -> dict:
        return {"path": str(self.path), "directory": str(self.directory), "format": self.format,
                "bytes": self.bytes, "max_abs_diff": self.max_abs_diff, "runtime": self.runtime,
                "samples": self.samples, "seconds": round(self.seconds, 3),
                "check_seconds": round(self.check_seconds, 3), "checkpoint": self.card["checkpoint"]}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _previous_card(directory: Path) -> dict | None:
    try:
        card = json.loads((directory / "card.json").read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def export_model(run: RunDir, fmt: str, *, which: str | None = None, out: str | os.PathLike | None = None,
                 allow_code: tuple[str, ...] = ()) -> Exported:
    """Write the run's ``which`` checkpoint (None: best if written, else last) as ``fmt``
    into ``out`` (default ``RUN/export``), check it, and write the preset and the card.
    Raises ConfigError for bad input, CheckFailed when the file does not match PyTorch."""
    check_format(fmt)
    directory = Path(out) if out else run.path / "export"
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"--out {directory}: not a folder")
    with open_model(run, which, "cpu", allow_code, purpose="export") as m:
        x, split = m.samples(CHECK_SAMPLES)
        reference = m.outputs(x)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create {directory}: {e.strerror or e}") from None
        path = directory / FILES[fmt]
        started = time.perf_counter()
        entry: dict[str, Any] = {"file": path.name, **WRITERS[fmt](m, x, path)}
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        got, runtime = CHECKS[fmt](m, x, path)
        check_seconds = time.perf_counter() - started
        diff = _max_diff(got, reference)
        if not diff <= TOLERANCE:  # NaN fails too
            for f in (path, path.with_name(path.name + ".data")):
                f.unlink(missing_ok=True)
            raise CheckFailed(f"{path.name} does not reproduce the model: {runtime} on {len(x)} {split} samples "
                              f"differs from PyTorch by up to {diff:.3g} (tolerance {TOLERANCE:g}); the file was removed")
        size = path.stat().st_size
        side = path.with_name(path.name + ".data")
        if fmt == "onnx" and side.is_file():
            entry["external_data"] = side.name
            size += side.stat().st_size
        entry.update(bytes=size, sha256=_sha256(path), seconds=round(seconds, 3),
                     check={"runtime": runtime, "samples": len(x), "split": split, "max_abs_diff": diff,
                            "tolerance": TOLERANCE, "seconds": round(check_seconds, 3)})
        card = card_of(m, fmt, entry, _previous_card(directory))
        write_atomic(directory / "preset.toml", P.dumps(m.preset).encode())
        write_atomic(directory / "card.json", (json.dumps(card, indent=2) + "\n").encode())
        write_atomic(directory / "card.md", card_markdown(card).encode())
    return Exported(path, directory, fmt, size, diff, runtime, len(x), seconds, check_seconds, card)

