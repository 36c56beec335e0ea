"""The Go policy networks as data (shared ``NetSpec``s), and their named presets.

Every convolutional preset follows the lecture's design: a 5x5 first convolution, then 3x3
convolutions ("same" padding, so the map stays 19x19), ReLU, NO pooling (subsampling a Go board
changes the position), and a final 1x1 convolution to one logit per point plus a learned bias per
point (``PlaneBias``). Layer counts are AlphaGo's: ``layers`` counts every convolution, the first
5x5 and the final 1x1 included (AlphaGo's SL policy: 13 layers, 192 filters). Residual presets
(KataGo-style ``b{blocks}c{channels}``) use blocks of two 3x3 convolutions with batch norm.

| preset        | body                                    | meant for                        |
|---------------|-----------------------------------------|----------------------------------|
| fc            | flatten -> 1024 -> 1024 -> N (ReLU)     | the fully-connected baseline     |
| cpu-tiny      | 4 layers, 32 filters                    | tests, the embedded demo         |
| cpu-small     | 6 layers, 48 filters                    | a CPU with little time           |
| cpu (default) | 6 layers, 64 filters                    | 30 minutes on a 2-core CPU       |
| gpu-12x128    | 12 layers, 128 filters, batch norm      | Maddison et al. size, one GPU    |
| gpu-13x192    | 13 layers, 192 filters, batch norm      | AlphaGo SL policy size, one GPU  |
| gpu-b6c128    | 5x5 stem + 6 residual blocks, 128 ch    | one GPU, residual                |
| gpu-b10c128   | 5x5 stem + 10 residual blocks, 128 ch   | one GPU, residual, deeper        |

    spec = PRESETS.create("cpu", planes=31, size=19)   # -> NetSpec
    net = shared.build(spec)                           # net(x (B, 31, 19, 19)) -> logits (B, 361)
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.layers import BatchNorm, Conv, Dense, Flatten, PlaneBias, ReLU, Residual
from shared.network import NetSpec
from shared.registry import Registry

PRESETS = Registry("go-presets")
DEFAULT_PRESET = "cpu"


@dataclass(frozen=True)
class PolicyConfig:
    """A convolutional policy net; ``policy_spec`` turns it into a ``NetSpec``."""
    layers: int = 7              # convolutions in all: first kxk + (layers - 2) 3x3 + final 1x1 (>= 2)
    filters: int = 64            # channels of every hidden convolution
    first_kernel: int = 5        # kernel of the first convolution (odd)
    residual: bool = False       # 3x3 convolutions in residual blocks of two (layers - 2 must be even)
    batch_norm: bool = False     # BatchNorm after every hidden convolution (before ReLU)


def policy_spec(cfg: PolicyConfig, planes: int, size: int = 19) -> NetSpec:
    """(B, planes, size, size) -> logits (B, size*size)."""
    if cfg.layers < 2:
        raise ValueError(f"a policy net needs at least 2 layers (first conv + 1x1 output), got {cfg.layers}")
    if cfg.first_kernel < 1 or cfg.first_kernel % 2 == 0:
        raise ValueError(f"first kernel must be odd and >= 1, got {cfg.first_kernel}")
    if cfg.residual and (cfg.layers - 2) % 2:
        raise ValueError(f"residual nets need an even number of 3x3 layers (layers - 2), got {cfg.layers - 2}")
    bn = cfg.batch_norm or cfg.residual
    f = cfg.filters

    def conv(k: int) -> tuple:  # conv (+ BN) + ReLU
        c = Conv(f, k, padding="same", bias=not bn)
        return (c, BatchNorm(), ReLU()) if bn else (c, ReLU())

    body: list = list(conv(cfg.first_kernel))
    if cfg.residual:
        for _ in range((cfg.layers - 2) // 2):
            c = Conv(f, 3, padding="same", bias=False)
            body += [Residual((c, BatchNorm(), ReLU(), c, BatchNorm())), ReLU()]
    else:
        for _ in range(cfg.layers - 2):
            body += conv(3)
    body += [Conv(1, 1, bias=False), PlaneBias()]  # (B, 1, size, size): one logit per point
    return NetSpec((planes, size, size), tuple(body), num_classes=None)


def fc_spec(planes: int, size: int = 19, hidden: tuple = (1024, 1024)) -> NetSpec:
    """The fully-connected baseline on the same planes: flatten -> hidden Dense + ReLU -> N logits."""
    body: list = [Flatten()]
    for h in hidden:
        body += [Dense(h), ReLU()]
    return NetSpec((planes, size, size), tuple(body), num_classes=size * size)


def _conv_preset(cfg: PolicyConfig):
    def make(planes: int, size: int = 19) -> NetSpec:
        return policy_spec(cfg, planes, size)
    make.__doc__ = f"{cfg}"
    return make


PRESETS.register("fc", fc_spec)
PRESETS.register("cpu-tiny", _conv_preset(PolicyConfig(layers=4, filters=32)))
PRESETS.register("cpu-small", _conv_preset(PolicyConfig(layers=6, filters=48)))
PRESETS.register("cpu", _conv_preset(PolicyConfig(layers=6, filters=64)))
PRESETS.register("gpu-12x128", _conv_preset(PolicyConfig(layers=12, filters=128, batch_norm=True)))
PRESETS.register("gpu-13x192", _conv_preset(PolicyConfig(layers=13, filters=192, batch_norm=True)))
PRESETS.register("gpu-b6c128", _conv_preset(PolicyConfig(layers=14, filters=128, residual=True)))
PRESETS.register("gpu-b10c128", _conv_preset(PolicyConfig(layers=22, filters=128, residual=True)))


def make_spec(preset: str | None, planes: int, size: int = 19, **overrides) -> NetSpec:
    """A preset's spec, or (preset None) a ``PolicyConfig`` built from ``overrides``
    (layers, filters, first_kernel, residual, batch_norm)."""
    if preset is None:
        return policy_spec(PolicyConfig(**overrides), planes, size)
    if overrides:
        raise ValueError(f"preset {preset!r} takes no layer options (got {sorted(overrides)}); use one or the other")
    return PRESETS.create(preset, planes=planes, size=size)
