"""Layer specs → ``torch.nn.Module``. Shapes and counts come from ``tuidl.core.model.layers``;
the tests check that this module agrees with them on a real forward pass."""

from __future__ import annotations

import torch
from torch import nn

from tuidl.core.model import layers as L

_ACT = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}


class Recurrent(nn.Module):
    """LSTM / GRU over a channel-first ``(B, C, L)`` sequence."""

    def __init__(self, spec: L._Recurrent, features: int):
        super().__init__()
        cls = nn.LSTM if spec.kind == "lstm" else nn.GRU
        self.rnn = cls(features, spec.units, num_layers=spec.num_layers,
                       bidirectional=spec.bidirectional, batch_first=True)
        self.return_sequences = spec.return_sequences

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))  # (B, L, H)
        if self.return_sequences:
            return out.transpose(1, 2)  # (B, H, L)
        return out[:, -1, :]


class ResidualBlock(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class GlobalAvgPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(dim=2)


class Reshape(nn.Module):
    """Each sample's values in a new shape (the batch axis kept)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def _with_activation(module: nn.Module, activation: str) -> nn.Module:
    if activation == "none":
        return module
    return nn.Sequential(module, _ACT[activation]())


def make_layer(spec: L.Layer, shape: L.Shape) -> nn.Module:
    kind = spec.kind
    if kind == "dense":
        return _with_activation(nn.Linear(shape[0], spec.units, bias=spec.bias), spec.activation)
    if kind in ("conv1d", "conv2d"):
        cls = nn.Conv1d if kind == "conv1d" else nn.Conv2d
        pad = spec.padding
        conv = cls(shape[0], spec.filters, spec.kernel_size, stride=spec.stride, padding=pad, bias=spec.bias)
        return _with_activation(conv, spec.activation)
    if kind in ("max_pool", "avg_pool"):
        dims = len(shape) - 1
        table = {("max_pool", 1): nn.MaxPool1d, ("max_pool", 2): nn.MaxPool2d,
                 ("avg_pool", 1): nn.AvgPool1d, ("avg_pool", 2): nn.AvgPool2d}
        return table[(kind, dims)](spec.pool_size, stride=spec.stride or spec.pool_size)
    if kind == "global_avg_pool":
        return GlobalAvgPool()
    if kind == "flatten":
        return nn.Flatten()
    if kind == "dropout":
        return nn.Dropout(spec.rate)
    if kind == "batch_norm":
        return (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0])
    if kind == "layer_norm":
        return nn.LayerNorm(shape[0]) if len(shape) == 1 else nn.GroupNorm(1, shape[0])
    if kind == "leaky_relu":
        return nn.LeakyReLU(spec.negative_slope)
    if kind in _ACT:
        return _ACT[kind]()
    if kind in ("lstm", "gru"):
        return Recurrent(spec, shape[0])
    if kind == "code":
        return nn.Identity()
    if kind == "reshape":
        return nn.Unflatten(1, tuple(spec.shape)) if len(shape) == 1 else Reshape(tuple(spec.shape))
    if kind == "upsample":
        return nn.Upsample(scale_factor=spec.factor, mode="nearest")
    if kind in ("conv_transpose1d", "conv_transpose2d"):
        cls = nn.ConvTranspose1d if kind == "conv_transpose1d" else nn.ConvTranspose2d
        conv = cls(shape[0], spec.filters, spec.kernel_size, stride=spec.stride, padding=spec.padding,
                   output_padding=spec.output_padding, bias=spec.bias)
        return _with_activation(conv, spec.activation)
    if kind == "residual":
        return ResidualBlock(build_sequential(spec.inner, shape))
    raise ValueError(f"no module for layer type {kind!r}")


def build_sequential(specs: list[L.Layer], input_shape: L.Shape) -> nn.Sequential:
    modules = []
    shape = tuple(input_shape)
    for i, spec in enumerate(specs):
        modules.append(make_layer(spec, shape))
        shape = spec.output(shape, i)
    return nn.Sequential(*modules)


def build(specs: list[L.Layer], input_shape: L.Shape) -> nn.Sequential:
    """The model for a checked layer stack (call ``layers.check_stack`` first: it refuses
    stacks that don't fit or are too large, before anything is allocated)."""
    L.check_stack(specs, input_shape)
    return build_sequential(specs, input_shape)


def count_params(module: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) as the summary counts them: running statistics of
    batch norm count as non-trainable, the ``num_batches_tracked`` counter does not."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    frozen += sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))
    return trainable, frozen
