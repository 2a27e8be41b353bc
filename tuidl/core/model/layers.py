"""Layer specifications: what a preset's ``[[model.layers]]`` entries mean.

Pure Python (no torch), so the dashboard can show shapes and parameter counts as you
type. Shapes leave out the batch axis and are channel-first: a feature vector is
``(F,)``, a sequence ``(C, L)`` and an image ``(C, H, W)``. Recurrent layers read a
``(C, L)`` sequence as ``L`` steps of ``C`` features.

:func:`infer` walks a layer stack and returns one :class:`Row` per layer (output shape and
parameter counts). ``tuidl.core.model.model.build`` turns the same specs into ``nn.Module``s,
and the tests check that both agree with a real forward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from tuidl.core.preset.schema import ConfigError, Problem, opt, read

Shape = tuple[int, ...]

ACTIVATIONS = ("none", "relu", "gelu", "tanh", "sigmoid", "leaky_relu", "silu")
MAX_UNITS = 1_000_000
MAX_PARAMS = 1_000_000_000


class ShapeError(ValueError):
    """A layer cannot take the shape it is given."""

    def __init__(self, index: int, kind: str, got: Shape, expected: str, hint: str = ""):
        self.index, self.kind, self.got, self.expected = index, kind, got, expected
        text = f"layer {index} ({kind}) expects {expected}, got {fmt_shape(got)}"
        super().__init__(text + (f"; {hint}" if hint else ""))


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass
class Layer:
    kind: ClassVar[str] = ""
    doc: ClassVar[str] = ""

    def output(self, shape: Shape, index: int) -> Shape:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self, shape: Shape) -> tuple[int, int]:
        """(trainable, non-trainable) parameter counts for this input shape."""
        return (0, 0)

    def validate(self, path: str, problems: list[Problem]) -> None:
        pass


def _need_rank(layer: Layer, shape: Shape, index: int, ranks: tuple[int, ...], what: str, hint: str = ""):
    if len(shape) not in ranks:
        raise ShapeError(index, layer.kind, shape, what, hint)


@dataclass
class Dense(Layer):
    kind: ClassVar[str] = "dense"
    doc: ClassVar[str] = "Fully connected: every output unit sees every input feature."
    units: int = opt(help="output features", min=1, max=MAX_UNITS)
    activation: str = opt("none", help="activation applied after", choices=ACTIVATIONS)
    bias: bool = opt(True, help="learn an additive bias")

    def output(self, shape, index):
        _need_rank(self, shape, index, (1,), "a flat input (features,)", "add a flatten layer before it")
        return (self.units,)

    def params(self, shape):
        return (shape[0] * self.units + (self.units if self.bias else 0), 0)


def _conv_len(n: int, k: int, s: int, pad: int) -> int:
    return (n + 2 * pad - k) // s + 1


@dataclass
class _Conv(Layer):
    dims: ClassVar[int] = 1
    filters: int = opt(help="output channels", min=1, max=MAX_UNITS)
    kernel_size: int = opt(3, help="window size", min=1, max=1024)
    stride: int = opt(1, help="step between windows", min=1, max=1024)
    padding: Union[int, str] = opt("same", help="'same', 'valid' or a number of zeros each side")
    activation: str = opt("none", help="activation applied after", choices=ACTIVATIONS)
    bias: bool = opt(True, help="learn an additive bias")

    def validate(self, path, problems):
        if isinstance(self.padding, str) and self.padding not in ("same", "valid"):
            problems.append(Problem(f"{path}.padding", f"expected 'same', 'valid' or a number, got {self.padding!r}"))
        elif isinstance(self.padding, int) and not 0 <= self.padding <= 1024:
            problems.append(Problem(f"{path}.padding", f"must be between 0 and 1024, got {self.padding}"))
        if self.padding == "same" and self.stride != 1:
            problems.append(Problem(f"{path}.padding", "'same' padding needs stride 1; use 'valid' or a number"))

    def pad(self) -> int:
        if self.padding == "valid":
            return 0
        if self.padding == "same":
            return -1
        return int(self.padding)

    def output(self, shape, index):
        rank = self.dims + 1
        names = "(channels, length)" if self.dims == 1 else "(channels, height, width)"
        hint = "" if len(shape) != 1 else "the input is flat; conv layers need sequences or images"
        _need_rank(self, shape, index, (rank,), f"an input {names}", hint)
        spatial = []
        for n in shape[1:]:
            out = n if self.pad() < 0 else _conv_len(n, self.kernel_size, self.stride, self.pad())
            if out < 1:
                raise ShapeError(index, self.kind, shape, f"each spatial size ≥ {self.kernel_size} (the kernel)",
                                 "use a smaller kernel or 'same' padding")
            spatial.append(out)
        return (self.filters, *spatial)

    def params(self, shape):
        weights = shape[0] * self.filters * self.kernel_size**self.dims
        return (weights + (self.filters if self.bias else 0), 0)


@dataclass
class Conv1d(_Conv):
    kind: ClassVar[str] = "conv1d"
    doc: ClassVar[str] = "1-D convolution over a sequence: a filter slides along the length."
    dims: ClassVar[int] = 1


@dataclass
class Conv2d(_Conv):
    kind: ClassVar[str] = "conv2d"
    doc: ClassVar[str] = "2-D convolution over an image: a filter slides over height and width."
    dims: ClassVar[int] = 2


@dataclass
class _Pool(Layer):
    pool_size: int = opt(2, help="window size", min=1, max=1024)
    stride: int = opt(0, help="step between windows (0 = pool_size)", min=0, max=1024)

    def output(self, shape, index):
        _need_rank(self, shape, index, (2, 3), "a sequence (C, L) or an image (C, H, W)")
        step = self.stride or self.pool_size
        spatial = [(n - self.pool_size) // step + 1 for n in shape[1:]]
        if min(shape[1:]) < self.pool_size:
            raise ShapeError(index, self.kind, shape, f"each spatial size ≥ {self.pool_size} (the pool size)")
        return (shape[0], *spatial)


@dataclass
class MaxPool(_Pool):
    kind: ClassVar[str] = "max_pool"
    doc: ClassVar[str] = "Keeps the largest value in each window: shrinks the map, keeps strong features."


@dataclass
class AvgPool(_Pool):
    kind: ClassVar[str] = "avg_pool"
    doc: ClassVar[str] = "Averages each window: shrinks the map smoothly."


@dataclass
class GlobalAvgPool(Layer):
    kind: ClassVar[str] = "global_avg_pool"
    doc: ClassVar[str] = "Averages each channel over all positions: (C, ...) becomes (C,)."

    def output(self, shape, index):
        _need_rank(self, shape, index, (2, 3), "a sequence (C, L) or an image (C, H, W)")
        return (shape[0],)


@dataclass
class Flatten(Layer):
    kind: ClassVar[str] = "flatten"
    doc: ClassVar[str] = "Unrolls a sequence or an image into one flat feature vector."

    def output(self, shape, index):
        return (math.prod(shape),)


@dataclass
class Dropout(Layer):
    kind: ClassVar[str] = "dropout"
    doc: ClassVar[str] = "During training, zeroes a random fraction of values: a regularizer."
    rate: float = opt(0.5, help="fraction of values dropped while training", min=0.0, lt=1.0)

    def output(self, shape, index):
        return shape


@dataclass
class BatchNorm(Layer):
    kind: ClassVar[str] = "batch_norm"
    doc: ClassVar[str] = "Normalizes each channel over the batch; keeps running statistics."

    def output(self, shape, index):
        _need_rank(self, shape, index, (1, 2, 3), "features, a sequence or an image")
        return shape

    def params(self, shape):
        return (2 * shape[0], 2 * shape[0])


@dataclass
class LayerNorm(Layer):
    kind: ClassVar[str] = "layer_norm"
    doc: ClassVar[str] = "Normalizes each sample over its own features (no batch statistics)."

    def output(self, shape, index):
        _need_rank(self, shape, index, (1, 2, 3), "features, a sequence or an image")
        return shape

    def params(self, shape):
        return (2 * shape[0], 0)


@dataclass
class _Activation(Layer):
    def output(self, shape, index):
        return shape


@dataclass
class ReLU(_Activation):
    kind: ClassVar[str] = "relu"
    doc: ClassVar[str] = "max(0, x)"


@dataclass
class GELU(_Activation):
    kind: ClassVar[str] = "gelu"
    doc: ClassVar[str] = "x·Φ(x): a smooth ReLU"


@dataclass
class Tanh(_Activation):
    kind: ClassVar[str] = "tanh"
    doc: ClassVar[str] = "squashes to (-1, 1)"


@dataclass
class Sigmoid(_Activation):
    kind: ClassVar[str] = "sigmoid"
    doc: ClassVar[str] = "squashes to (0, 1)"


@dataclass
class LeakyReLU(_Activation):
    kind: ClassVar[str] = "leaky_relu"
    doc: ClassVar[str] = "ReLU with a small slope below zero"
    negative_slope: float = opt(0.01, help="slope for x < 0", min=0.0, max=1.0)


@dataclass
class SiLU(_Activation):
    kind: ClassVar[str] = "silu"
    doc: ClassVar[str] = "x·sigmoid(x)"


@dataclass
class _Recurrent(Layer):
    gates: ClassVar[int] = 4
    units: int = opt(help="hidden size", min=1, max=MAX_UNITS)
    num_layers: int = opt(1, help="stacked recurrent layers", min=1, max=64)
    bidirectional: bool = opt(False, help="also read the sequence backwards")
    return_sequences: bool = opt(False, help="output every step (C, L) instead of the last (C,)")

    def output(self, shape, index):
        _need_rank(self, shape, index, (2,), "a sequence (features, steps)",
                   "recurrent layers read (C, L) sequences" if len(shape) != 2 else "")
        width = self.units * (2 if self.bidirectional else 1)
        return (width, shape[1]) if self.return_sequences else (width,)

    def params(self, shape):
        dirs = 2 if self.bidirectional else 1
        total, inp = 0, shape[0]
        for _ in range(self.num_layers):
            per_dir = self.gates * (self.units * (inp + self.units) + 2 * self.units)
            total += per_dir * dirs
            inp = self.units * dirs
        return (total, 0)


@dataclass
class LSTM(_Recurrent):
    kind: ClassVar[str] = "lstm"
    doc: ClassVar[str] = "Long short-term memory: a recurrent layer with gated memory."
    gates: ClassVar[int] = 4


@dataclass
class GRU(_Recurrent):
    kind: ClassVar[str] = "gru"
    doc: ClassVar[str] = "Gated recurrent unit: a lighter LSTM."
    gates: ClassVar[int] = 3


@dataclass
class Residual(Layer):
    kind: ClassVar[str] = "residual"
    doc: ClassVar[str] = "x + f(x): the inner layers must keep the shape."
    layers: list[Any] = opt(factory=list, help="the inner layers, as [[...layers]] tables")

    def __post_init__(self):
        self.inner: list[Layer] = []

    def validate(self, path, problems):
        self.inner = parse_layers(self.layers, f"{path}.layers", problems, allow_empty=False)

    def output(self, shape, index):
        out = shape
        for i, layer in enumerate(self.inner):
            try:
                out = layer.output(out, i)
            except ShapeError as e:
                raise ShapeError(index, self.kind, shape, f"inner layers that fit: {e}") from None
        if out != shape:
            raise ShapeError(index, self.kind, shape,
                             f"inner layers that keep the shape, but they give {fmt_shape(out)}")
        return shape

    def params(self, shape):
        train = frozen = 0
        for i, layer in enumerate(self.inner):
            t, f = layer.params(shape)
            train, frozen = train + t, frozen + f
            shape = layer.output(shape, i)
        return (train, frozen)


@dataclass
class Code(Layer):
    kind: ClassVar[str] = "code"
    doc: ClassVar[str] = ("Marks the code (the bottleneck): the layers up to here are the encoder, the rest the "
                          "decoder. Passes its input on unchanged; the latent map and the probe read it.")

    def output(self, shape, index):
        return shape


@dataclass
class Reshape(Layer):
    kind: ClassVar[str] = "reshape"
    doc: ClassVar[str] = "Rearranges the values into a new shape with as many values, e.g. (64,) into (1, 8, 8)."
    shape: list[int] = opt(factory=list, help="the new shape, channel-first, e.g. [16, 4, 4]")

    def validate(self, path, problems):
        if not 1 <= len(self.shape) <= 3:
            problems.append(Problem(f"{path}.shape", f"expected 1 to 3 sizes, got {self.shape!r}"))
        elif any(n < 1 or n > MAX_UNITS for n in self.shape):
            problems.append(Problem(f"{path}.shape", f"every size must be between 1 and {MAX_UNITS:,}, "
                                                     f"got {self.shape!r}"))

    def output(self, shape, index):
        want = tuple(self.shape)
        if math.prod(want) != math.prod(shape):
            raise ShapeError(index, self.kind, shape, f"{math.prod(want):,} values for {fmt_shape(want)}")
        return want


@dataclass
class Upsample(Layer):
    kind: ClassVar[str] = "upsample"
    doc: ClassVar[str] = "Repeats each value (nearest neighbour): a sequence or image grows by the factor."
    factor: int = opt(2, help="how many times longer (and wider) the output is", min=1, max=64)

    def output(self, shape, index):
        _need_rank(self, shape, index, (2, 3), "a sequence (C, L) or an image (C, H, W)")
        return (shape[0], *(n * self.factor for n in shape[1:]))


@dataclass
class _ConvTranspose(Layer):
    dims: ClassVar[int] = 1
    filters: int = opt(help="output channels", min=1, max=MAX_UNITS)
    kernel_size: int = opt(3, help="window size", min=1, max=1024)
    stride: int = opt(2, help="how many times longer the output is, about", min=1, max=1024)
    padding: int = opt(0, help="zeros taken off each side of the output", min=0, max=1024)
    output_padding: int = opt(0, help="extra size on one side (to hit an exact size)", min=0, max=1024)
    activation: str = opt("none", help="activation applied after", choices=ACTIVATIONS)
    bias: bool = opt(True, help="learn an additive bias")

    def validate(self, path, problems):
        if self.output_padding >= self.stride:
            problems.append(Problem(f"{path}.output_padding", f"must be smaller than the stride ({self.stride}), "
                                                              f"got {self.output_padding}"))

    def output(self, shape, index):
        names = "(channels, length)" if self.dims == 1 else "(channels, height, width)"
        _need_rank(self, shape, index, (self.dims + 1,), f"an input {names}",
                   "add a reshape layer before it" if len(shape) == 1 else "")
        spatial = [(n - 1) * self.stride - 2 * self.padding + self.kernel_size + self.output_padding
                   for n in shape[1:]]
        if min(spatial) < 1:
            raise ShapeError(index, self.kind, shape, "a larger input or less padding")
        return (self.filters, *spatial)

    params = _Conv.params  # the same weights: in_channels × filters × kernel^dims, and a bias per filter


@dataclass
class ConvTranspose1d(_ConvTranspose):
    kind: ClassVar[str] = "conv_transpose1d"
    doc: ClassVar[str] = "Transposed 1-D convolution: the way back of a strided conv1d, the sequence grows."
    dims: ClassVar[int] = 1


@dataclass
class ConvTranspose2d(_ConvTranspose):
    kind: ClassVar[str] = "conv_transpose2d"
    doc: ClassVar[str] = "Transposed 2-D convolution: the way back of a strided conv2d, the image grows."
    dims: ClassVar[int] = 2


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (Dense, Conv1d, Conv2d, MaxPool, AvgPool, GlobalAvgPool, Flatten, Dropout, BatchNorm,
                LayerNorm, ReLU, GELU, Tanh, Sigmoid, LeakyReLU, SiLU, LSTM, GRU, Residual, Code, Reshape,
                Upsample, ConvTranspose1d, ConvTranspose2d)
}


def parse_layer(data: Any, path: str, problems: list[Problem]) -> Layer | None:
    if not isinstance(data, dict):
        problems.append(Problem(path, f"expected a layer table, got {data!r}"))
        return None
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        known = ", ".join(LAYER_TYPES)
        got = "no type" if kind is None else f"{kind!r}"
        problems.append(Problem(f"{path}.type", f"unknown layer type {got} (known: {known})"))
        return None
    rest = {k: v for k, v in data.items() if k != "type"}
    layer = read(LAYER_TYPES[kind], rest, path, problems)
    return layer if isinstance(layer, Layer) else None


def parse_layers(data: Any, path: str, problems: list[Problem], allow_empty: bool = False) -> list[Layer]:
    if not isinstance(data, list):
        problems.append(Problem(path, f"expected a list of layer tables, got {data!r}"))
        return []
    if not data and not allow_empty:
        problems.append(Problem(path, "the layer list is empty; add at least one layer"))
    layers = [parse_layer(item, f"{path}[{i}]", problems) for i, item in enumerate(data)]
    return [layer for layer in layers if layer is not None]


def layer_to_dict(layer: Layer) -> dict[str, Any]:
    from tuidl.core.preset.schema import to_dict

    out = {"type": layer.kind, **to_dict(layer)}
    return out


@dataclass
class Row:
    index: int
    name: str
    kind: str
    input_shape: Shape
    output_shape: Shape | None
    trainable: int
    frozen: int
    error: str = ""


@dataclass
class Summary:
    name: str
    input_shape: Shape
    rows: list[Row]
    # the model's output when its last row is not it (a custom nn.Module's rows are its
    # modules in the order they ran, :func:`tuidl.core.train.custom.summarize`)
    output: Shape | None = None

    @property
    def trainable(self) -> int:
        return sum(r.trainable for r in self.rows)

    @property
    def frozen(self) -> int:
        return sum(r.frozen for r in self.rows)

    @property
    def total(self) -> int:
        return self.trainable + self.frozen

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.error]

    @property
    def output_shape(self) -> Shape | None:
        if self.output is not None:
            return self.output
        return self.rows[-1].output_shape if self.rows else self.input_shape

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "rows": [
                {"index": r.index, "name": r.name, "type": r.kind,
                 "output_shape": None if r.output_shape is None else list(r.output_shape),
                 "params": r.trainable + r.frozen, "trainable": r.trainable, "error": r.error}
                for r in self.rows
            ],
            "total": self.total, "trainable": self.trainable, "non_trainable": self.frozen,
        }

    def render(self, width: int = 80) -> str:
        return render_summary(self.to_dict(), width)


def infer(layers: list[Layer], input_shape: Shape, name: str = "model") -> Summary:
    """Output shape and parameters of every layer. A layer that does not fit gets an
    ``error`` and no output shape; the layers after it are not evaluated."""
    rows: list[Row] = []
    shape: Shape | None = tuple(input_shape)
    counts: dict[str, int] = {}
    for i, layer in enumerate(layers):
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        label = f"{layer.kind}_{counts[layer.kind]}"
        if shape is None:
            rows.append(Row(i, label, layer.kind, (), None, 0, 0, "not evaluated: an earlier layer does not fit"))
            continue
        try:
            out = layer.output(shape, i)
            trainable, frozen = layer.params(shape)
            rows.append(Row(i, label, layer.kind, shape, out, trainable, frozen))
            shape = out
        except ShapeError as e:
            rows.append(Row(i, label, layer.kind, shape, None, 0, 0, str(e)))
            shape = None
    return Summary(name, tuple(input_shape), rows)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.2f} TB"


def render_summary(summary: dict[str, Any], width: int = 80) -> str:
    """Keras-style text table from :meth:`Summary.to_dict` (also what events carry)."""
    width = max(width, 60)
    c2, c3 = 22, 14
    c1 = width - c2 - c3 - 4
    line = "─" * width
    out = [f'Model: "{summary["name"]}"   input {fmt_shape(tuple(summary["input_shape"]))}', line,
           f" {'Layer (type)':<{c1}} {'Output Shape':<{c2}} {'Param #':>{c3}}", "═" * width]
    for r in summary["rows"]:
        label = f"{r['name']} ({r['type']})"
        shape = "—" if r["output_shape"] is None else fmt_shape(tuple(r["output_shape"]))
        out.append(f" {label[:c1]:<{c1}} {shape:<{c2}} {r['params']:>{c3},}")
        if r.get("error"):
            out.append(f"   ✗ {r['error']}")
        if r["type"] == "code":
            mark = " ▲ encoder · the code (bottleneck) · decoder ▼ "
            out.append(f"{mark:┄^{width}}")
    out.append(line)
    total, train, frozen = summary["total"], summary["trainable"], summary["non_trainable"]
    out += [f" Total params: {total:,} ({human_bytes(total * 4)})",
            f" Trainable params: {train:,} ({human_bytes(train * 4)})",
            f" Non-trainable params: {frozen:,} ({human_bytes(frozen * 4)})"]
    return "\n".join(out)


def check_stack(layers: list[Layer], input_shape: Shape, path: str = "model.layers") -> Summary:
    """Like :func:`infer`, but raise :class:`ConfigError` on the first misfit or a
    model too large to allocate."""
    summary = infer(layers, input_shape)
    bad = summary.errors
    if bad:
        raise ConfigError([Problem(f"{path}[{bad[0].index}]", bad[0].error)])
    if summary.total > MAX_PARAMS:
        raise ConfigError([Problem(path, f"the model has {summary.total:,} parameters; "
                                         f"at most {MAX_PARAMS:,} are allowed")])
    return summary
