"""The operation set of the convolutional cell genome as torch modules, for 1-D signals and 2-D images.

Every edge op maps C channels to C channels at stride 1 with "same" padding, so it preserves the shape of its
input (DARTS, Liu et al. 2019): convolutions are ReLU-Conv-BatchNorm, separable ones a depthwise then a pointwise
convolution, dilated ones a depthwise convolution with dilation 2 then a pointwise one. Resolution changes happen
only in the cell preprocessing (`FactorizedReduce`), so the cell DAG itself never changes a tensor's shape.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

OPS: tuple[str, ...] = (
    "conv3", "conv5", "sep_conv3", "sep_conv5", "dil_conv3", "dil_conv5", "max_pool3", "avg_pool3", "identity", "zero",
)


def conv_class(dims: int) -> type[nn.Module]:
    return {1: nn.Conv1d, 2: nn.Conv2d}[dims]


def bn_class(dims: int) -> type[nn.Module]:
    return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims]


class ReLUConvBN(nn.Sequential):
    """ReLU, a "same"-padded convolution without bias, BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dims: int) -> None:
        conv = conv_class(dims)(c_in, c_out, kernel, padding=kernel // 2, bias=False)
        super().__init__(nn.ReLU(), conv, bn_class(dims)(c_out))


class SepConv(nn.Sequential):
    """ReLU, depthwise convolution (optionally dilated), pointwise convolution, BatchNorm."""

    def __init__(self, channels: int, kernel: int, dims: int, dilation: int = 1) -> None:
        conv = conv_class(dims)
        padding = dilation * (kernel - 1) // 2
        super().__init__(
            nn.ReLU(),
            conv(channels, channels, kernel, padding=padding, dilation=dilation, groups=channels, bias=False),
            conv(channels, channels, 1, bias=False),
            bn_class(dims)(channels),
        )


class Zero(nn.Module):
    """The "no connection" op: zeros of the input's shape (kept so a node whose only inputs are zero is defined)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class Pool(nn.Module):
    """3-wide max or average pooling at stride 1 (average pooling ignores the padding)."""

    def __init__(self, kind: str, dims: int) -> None:
        super().__init__()
        self.kind, self.dims = kind, dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            pool = F.max_pool1d if self.dims == 1 else F.max_pool2d
            return pool(x, 3, stride=1, padding=1)
        pool = F.avg_pool1d if self.dims == 1 else F.avg_pool2d
        return pool(x, 3, stride=1, padding=1, count_include_pad=False)


_BUILDERS: dict[str, Callable[[int, int], nn.Module]] = {
    "conv3": lambda c, d: ReLUConvBN(c, c, 3, d),
    "conv5": lambda c, d: ReLUConvBN(c, c, 5, d),
    "sep_conv3": lambda c, d: SepConv(c, 3, d),
    "sep_conv5": lambda c, d: SepConv(c, 5, d),
    "dil_conv3": lambda c, d: SepConv(c, 3, d, dilation=2),
    "dil_conv5": lambda c, d: SepConv(c, 5, d, dilation=2),
    "max_pool3": lambda c, d: Pool("max", d),
    "avg_pool3": lambda c, d: Pool("avg", d),
    "identity": lambda c, d: nn.Identity(),
    "zero": lambda c, d: Zero(),
}


def make_op(name: str, channels: int, dims: int) -> nn.Module:
    """The edge op `name` on `channels` channels for `dims`-dimensional inputs (1: signals, 2: images)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown cell op {name!r}")
    if dims not in (1, 2):
        raise ValueError(f"cell ops support 1-D and 2-D inputs, not {dims}-D")
    return _BUILDERS[name](channels, dims)


def reduced_size(size: tuple[int, ...]) -> tuple[int, ...]:
    """Spatial size after one stride-2 reduction (odd sizes round up, as with padding)."""
    return tuple((s + 1) // 2 for s in size)


class FactorizedReduce(nn.Module):
    """Halve the resolution and change the channel count: ReLU, two stride-2 1x1 convolutions, one on the input and
    one on the input shifted by one step (so every position is seen), concatenated, BatchNorm. Odd sizes are padded
    so both halves have the size `reduced_size` gives."""

    def __init__(self, c_in: int, c_out: int, dims: int) -> None:
        super().__init__()
        conv = conv_class(dims)
        half = c_out // 2
        self.dims = dims
        self.a = conv(c_in, half, 1, stride=2, bias=False) if half else None
        self.b = conv(c_in, c_out - half, 1, stride=2, bias=False)
        self.bn = bn_class(dims)(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = x[..., 1:] if self.dims == 1 else x[..., 1:, 1:]
        shifted = F.pad(shifted, (0, 1) * self.dims)
        parts = [self.b(shifted)] if self.a is None else [self.a(x), self.b(shifted)]
        return self.bn(torch.cat(parts, dim=1))


class Resample(nn.Sequential):
    """Bring a cell input to `c_out` channels and the cell's resolution: a 1x1 ReLU-Conv-BN when the size already
    matches, else as many `FactorizedReduce` steps as halvings are needed."""

    def __init__(self, c_in: int, c_out: int, size: tuple[int, ...], target: tuple[int, ...]) -> None:
        dims = len(size)
        steps: list[nn.Module] = []
        while size != target:
            if size == reduced_size(size):
                raise ValueError(f"cannot resample size {size} to {target}")
            steps.append(FactorizedReduce(c_in if not steps else c_out, c_out, dims))
            size = reduced_size(size)
        super().__init__(*(steps or [ReLUConvBN(c_in, c_out, 1, dims)]))
