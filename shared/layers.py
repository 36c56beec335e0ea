"""Declarative layer specs: frozen dataclasses that know how to build their ``nn.Module``.

Each spec has ``make(in_shape) -> (module, out_shape)``. Shapes exclude the batch axis: a feature
map is ``(C, H, W)`` (H = board rows / frequency bins, W = board columns / time frames), a flat
vector is ``(F,)``. ``shared.network`` strings specs together into a ``Network``.

Padding: ``"valid"`` (none), ``"same"`` (output = ceil(n / stride); the total padding
``(out - 1) * s + k - n`` is split with the extra pixel after, as TensorFlow does, so even kernels
work too), an int, or a per-axis ``(ph, pw)`` tuple.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import torch
from torch import nn

IntPair = Union[int, tuple[int, int]]
Padding = Union[str, int, tuple[int, int]]
Shape = tuple[int, ...]


def pair(v: IntPair) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(5, 1) -> (5, 1)``."""
    if isinstance(v, int):
        return (v, v)
    a, b = v
    return (int(a), int(b))


def conv_output_size(n: int, f: int, p: int, s: int) -> int:
    """Output length of a convolution/pooling along one axis: ``(n + 2p - f) // s + 1``."""
    return (n + 2 * p - f) // s + 1


def pool_output_size(n: int, f: int, p: int, s: int, ceil: bool) -> int:
    """Like ``conv_output_size``; with ``ceil`` a partial window at the edge is kept (PyTorch rule:
    the last window must start inside the input or the left padding)."""
    if not ceil:
        return conv_output_size(n, f, p, s)
    out = math.ceil((n + 2 * p - f) / s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def _need_map(kind: str, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"{kind} needs a (C, H, W) feature map, got shape {tuple(shape)}")
    return shape  # type: ignore[return-value]


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Padding, hw: tuple[int, int], kernel: tuple[int, int],
                    stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """-> (top, bottom, left, right) zero padding for a conv over an (H, W) map."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        t, b = _same_pads(hw[0], kernel[0], stride[0])
        left, right = _same_pads(hw[1], kernel[1], stride[1])
        return (t, b, left, right)
    if isinstance(padding, str):
        raise ValueError(f"padding must be 'valid', 'same', an int or (ph, pw), got {padding!r}")
    ph, pw = pair(padding)
    return (ph, ph, pw, pw)


@dataclass(frozen=True)
class Conv:
    """2-D convolution. ``kernel``/``stride`` int or ``(kh, kw)``, e.g. ``(5, 1)`` = frequency-only."""
    out: int
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: Padding = "valid"
    bias: bool = True
    groups: int = 1

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        c, h, w = _need_map("Conv", in_shape)
        k, s = pair(self.kernel), pair(self.stride)
        t, b, lf, rt = resolve_padding(self.padding, (h, w), k, s)  # top, bottom, left, right
        ho = (h + t + b - k[0]) // s[0] + 1
        wo = (w + lf + rt - k[1]) // s[1] + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"Conv kernel {k} does not fit input {tuple(in_shape)} with padding {self.padding!r}")
        if t == b and lf == rt:
            return nn.Conv2d(c, self.out, k, s, (t, lf), bias=self.bias, groups=self.groups), (self.out, ho, wo)
        conv = nn.Conv2d(c, self.out, k, s, 0, bias=self.bias, groups=self.groups)
        return nn.Sequential(nn.ZeroPad2d((lf, rt, t, b)), conv), (self.out, ho, wo)


@dataclass(frozen=True)
class Pool:
    """Max or average pooling; ``stride=None`` means ``stride = window``; ``ceil`` keeps partial edge
    windows (a 5x5 map with 2x2/2 pooling gives 3x3 instead of 2x2)."""
    kind: str = "max"
    window: IntPair = 2
    stride: IntPair | None = None
    ceil: bool = False
    padding: IntPair = 0

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        c, h, w = _need_map("Pool", in_shape)
        k = pair(self.window)
        s = pair(self.stride) if self.stride is not None else k
        p = pair(self.padding)
        if self.kind == "max":
            mod: nn.Module = nn.MaxPool2d(k, s, p, ceil_mode=self.ceil)
        elif self.kind == "avg":
            mod = nn.AvgPool2d(k, s, p, ceil_mode=self.ceil, count_include_pad=False)
        else:
            raise ValueError(f"Pool kind must be 'max' or 'avg', got {self.kind!r}")
        out = (c, pool_output_size(h, k[0], p[0], s[0], self.ceil), pool_output_size(w, k[1], p[1], s[1], self.ceil))
        return mod, out


@dataclass(frozen=True)
class ReLU:
    """max(0, x), elementwise."""

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        return nn.ReLU(), tuple(in_shape)


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalisation over channels (maps) or features (flat vectors)."""
    eps: float = 1e-5
    momentum: float = 0.1

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        if len(in_shape) == 3:
            return nn.BatchNorm2d(in_shape[0], self.eps, self.momentum), tuple(in_shape)
        if len(in_shape) == 1:
            return nn.BatchNorm1d(in_shape[0], self.eps, self.momentum), tuple(in_shape)
        raise ValueError(f"BatchNorm needs (C, H, W) or (F,), got {tuple(in_shape)}")


@dataclass(frozen=True)
class Dropout:
    """Zero each activation with probability ``p`` while training."""
    p: float = 0.5

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        return nn.Dropout(self.p), tuple(in_shape)


@dataclass(frozen=True)
class Flatten:
    """(C, H, W) -> (C*H*W,)."""

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        return nn.Flatten(), (math.prod(in_shape),)


@dataclass(frozen=True)
class Dense:
    """Fully-connected layer on a flat vector (put ``Flatten()`` before it)."""
    out: int
    bias: bool = True

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        if len(in_shape) != 1:
            raise ValueError(f"Dense needs a flat input; add Flatten() before it (got shape {tuple(in_shape)})")
        return nn.Linear(in_shape[0], self.out, bias=self.bias), (self.out,)


class _GlobalPool(nn.Module):
    def __init__(self, kind: str, axis: str):
        super().__init__()
        self.kind, self.axis = kind, axis
        self.dims = {"all": (2, 3), "h": (2,), "w": (3,)}[axis]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        keep = self.axis != "all"
        if self.kind == "max":
            return x.amax(dim=self.dims, keepdim=keep)
        return x.mean(dim=self.dims, keepdim=keep)


@dataclass(frozen=True)
class GlobalPool:
    """Pool a whole axis away: ``axis="all"`` -> (C,); ``"h"`` -> (C, 1, W); ``"w"`` -> (C, H, 1)
    (for speech, W is time: ``axis="w"`` pools over time only)."""
    kind: str = "avg"
    axis: str = "all"

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        c, h, w = _need_map("GlobalPool", in_shape)
        if self.kind not in ("avg", "max") or self.axis not in ("all", "h", "w"):
            raise ValueError(f"GlobalPool(kind in avg|max, axis in all|h|w), got {self.kind!r}, {self.axis!r}")
        out = {"all": (c,), "h": (c, 1, w), "w": (c, h, 1)}[self.axis]
        return _GlobalPool(self.kind, self.axis), out


class _Residual(nn.Module):
    def __init__(self, body: nn.Sequential, proj: nn.Module | None):
        super().__init__()
        self.body, self.proj = body, proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.proj is None else self.proj(x))


@dataclass(frozen=True)
class Residual:
    """``body(x) + skip(x)``. The skip is the identity when the body keeps the shape, otherwise a
    1x1 convolution (stride = the body's downsampling factor) projects x to the body's shape."""
    body: tuple = ()

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        mods, shape = [], tuple(in_shape)
        for spec in self.body:
            m, shape = spec.make(shape)
            mods.append(m)
        if shape == tuple(in_shape):
            return _Residual(nn.Sequential(*mods), None), shape
        if len(shape) != 3 or len(in_shape) != 3:
            raise ValueError(f"Residual body changes {tuple(in_shape)} -> {shape}: cannot project")
        sh, sw = -(-in_shape[1] // shape[1]), -(-in_shape[2] // shape[2])  # ceil(n / out)
        if conv_output_size(in_shape[1], 1, 0, sh) != shape[1] or conv_output_size(in_shape[2], 1, 0, sw) != shape[2]:
            raise ValueError(f"Residual body maps {tuple(in_shape)} -> {shape}: no 1x1 strided projection fits")
        proj = nn.Conv2d(in_shape[0], shape[0], 1, (sh, sw), bias=False)
        return _Residual(nn.Sequential(*mods), proj), shape


class _PlaneBias(nn.Module):
    def __init__(self, h: int, w: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, h, w))  # one learned value per (h, w) position

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        return x + self.bias


@dataclass(frozen=True)
class PlaneBias:
    """Learned bias per board position (H*W parameters, shared over channels; Go's last layer has C=1)."""

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        _, h, w = _need_map("PlaneBias", in_shape)
        return _PlaneBias(h, w), tuple(in_shape)


def band_sizes(h: int, bands: int) -> list[int]:
    """Split ``h`` rows into ``bands`` contiguous groups as evenly as possible (first ones larger)."""
    if not 1 <= bands <= h:
        raise ValueError(f"BandConv: bands must be in 1..{h} (the input height), got {bands}")
    return [h // bands + (i < h % bands) for i in range(bands)]


class _BandConv(nn.Module):
    def __init__(self, sizes: list[int], convs: list[nn.Module]):
        super().__init__()
        self.sizes = sizes
        self.convs = nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, out, sum(H_i'), W')
        parts = x.split(self.sizes, dim=2)
        return torch.cat([conv(p) for conv, p in zip(self.convs, parts)], dim=2)


@dataclass(frozen=True)
class BandConv:
    """Limited weight sharing (Abdel-Hamid et al. 2014): the H (frequency) axis is split into ``bands``
    contiguous groups and each band has its own convolution weights; outputs are stacked along H."""
    out: int
    kernel: IntPair = 3
    bands: int = 2
    stride: IntPair = 1
    padding: Padding = "valid"
    bias: bool = True

    def make(self, in_shape: Shape) -> tuple[nn.Module, Shape]:
        c, h, w = _need_map("BandConv", in_shape)
        sizes = band_sizes(h, self.bands)
        conv = Conv(self.out, self.kernel, self.stride, self.padding, self.bias)
        mods, hs, wo = [], 0, None
        for bh in sizes:
            m, (_, ho, wo) = conv.make((c, bh, w))
            mods.append(m)
            hs += ho
        return _BandConv(sizes, mods), (self.out, hs, wo)


# The only way a layer name in a stored spec becomes a class: no getattr on strings.
LAYER_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (Conv, Pool, ReLU, BatchNorm, Dropout, Flatten, Dense, GlobalPool, Residual, PlaneBias, BandConv)
}
