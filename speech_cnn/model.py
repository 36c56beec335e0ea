"""Named network presets for the speech classifier (``PRESETS``, a ``shared.registry.Registry``).

Every preset is a function ``(input_shape=(1, F, T), num_classes=K) -> NetSpec`` built from
``shared.layers`` specs, so ``shared.summary`` reports parameters and MACs of each. F is frequency
(mel bands, the H axis), T is time (frames, the W axis).

Frequency-axis CNNs (the lecture's "filters move in the frequency direction"; Abdel-Hamid et al.
2014, Sainath & Parada 2015):
- ``fcnn`` (default): kernels spanning 8 mel bands x 3 frames, max-pooling along frequency, two more
  small conv layers, then a max over TIME only -- the frequency axis is kept into the classifier
  (averaging frequency away cost 30+ points on unseen speakers in our pilots).
- ``fcnn-lws``: ``fcnn`` with limited weight sharing in the first layer (``BandConv``: separate
  weights per frequency band).
- ``fcnn-fstride4``: cnn-one-fstride4-like: one wide-in-time filter bank strided by 4 along frequency.
- ``fcnn-wide``: a larger ``fcnn`` (GPU-sized; runs on CPU too).
Baselines on the same features:
- ``cnn2d``: an image CNN (3x3 kernels, 2x2 pooling, global average over frequency AND time).
- ``trad-fpool3``: cnn-trad-fpool3-like (20-frame x 8-band filters, pool 3 in frequency, dense layers).
- ``tcnn``: time-axis CNN -- the first filter spans all bands, so filters move along time only.
- ``fc``: fully-connected network on the flattened feature image.
"""
from __future__ import annotations

from shared.layers import BandConv, BatchNorm, Conv, Dense, Dropout, Flatten, GlobalPool, Pool, ReLU
from shared.network import NetSpec
from shared.registry import Registry

PRESETS = Registry("speech-presets")
DEFAULT_PRESET = "fcnn"


def _cbr(out: int, kernel, stride=1, padding="valid") -> tuple:
    """Conv -> BatchNorm -> ReLU (no conv bias: batch norm has one)."""
    return (Conv(out, kernel, stride, padding, bias=False), BatchNorm(), ReLU())


def _freq_kernel(f: int, want: int) -> int:
    return max(1, min(want, f))


@PRESETS.register("fcnn")
def fcnn(input_shape=(1, 40, 101), num_classes: int = 10, width: int = 24, dropout: float = 0.3) -> NetSpec:
    """Frequency CNN, about 50k parameters for 40 bands: (8 x 3) filters, pool 3 along frequency."""
    _, f, _ = input_shape
    w1, w2, w3 = width, 2 * width, 3 * width
    layers = (*_cbr(w1, (_freq_kernel(f, 8), 3), padding=(0, 1)),   # (w1, F-7, T)
              Pool("max", (3, 3), ceil=True),                      # (w1, ~F/3, T/3) frequency pooling
              *_cbr(w2, 3, padding=1),                             # (w2, F', T/3)
              Pool("max", (1, 2), ceil=True),                      # (w2, F', T/6) time only
              *_cbr(w3, 3, padding=1),                             # (w3, F', T/4)
              GlobalPool("max", axis="w"),                         # (w3, F', 1): pool over time only
              Flatten(), Dropout(dropout))                         # (w3 * F',)
    return NetSpec(tuple(input_shape), layers, num_classes)


@PRESETS.register("fcnn-wide")
def fcnn_wide(input_shape=(1, 40, 101), num_classes: int = 10) -> NetSpec:
    """``fcnn`` with 64/128/192 maps (about 0.3M parameters; a GPU-sized preset)."""
    return fcnn(input_shape, num_classes, width=64, dropout=0.4)


@PRESETS.register("fcnn-lws")
def fcnn_lws(input_shape=(1, 40, 101), num_classes: int = 10, bands: int = 4, width: int = 24) -> NetSpec:
    """Limited weight sharing: the first layer has its own (8 x 3) filters per frequency band."""
    _, f, _ = input_shape
    bands = max(1, min(bands, f // 8))
    layers = (BandConv(width, (_freq_kernel(f // bands, 8), 3), bands, padding=(0, 1), bias=False),
              BatchNorm(), ReLU(),
              Pool("max", (3, 3), ceil=True),
              *_cbr(2 * width, 3, padding=1),
              Pool("max", (1, 2), ceil=True),
              *_cbr(3 * width, 3, padding=1),
              GlobalPool("max", axis="w"),
              Flatten(), Dropout(0.3))
    return NetSpec(tuple(input_shape), layers, num_classes)


@PRESETS.register("fcnn-fstride4")
def fcnn_fstride4(input_shape=(1, 40, 101), num_classes: int = 10, maps: int = 64) -> NetSpec:
    """cnn-one-fstride4-like: (8 bands x 9 frames) filters with stride 4 along frequency, one
    time-conv layer on top, max over time, frequency kept."""
    _, f, _ = input_shape
    layers = (*_cbr(maps, (_freq_kernel(f, 8), 9), stride=(4, 1), padding=(0, 4)),  # (maps, (F-8)/4+1, T)
              Pool("max", (1, 3), ceil=True),                                      # (maps, F', T/3)
              *_cbr(maps, (1, 5), padding=(0, 2)),                                 # along time
              GlobalPool("max", axis="w"),                                         # (maps, F', 1)
              Flatten(), Dropout(0.3))
    return NetSpec(tuple(input_shape), layers, num_classes)


@PRESETS.register("cnn2d")
def cnn2d(input_shape=(1, 40, 101), num_classes: int = 10, width: int = 32) -> NetSpec:
    """Image-CNN baseline: square 3x3 kernels, 2x2 pooling, global average over the whole map."""
    layers = (*_cbr(width, 3, padding=1), Pool("max", 2, ceil=True),
              *_cbr(2 * width, 3, padding=1), Pool("max", 2, ceil=True),
              *_cbr(2 * width, 3, padding=1),
              GlobalPool("avg", axis="all"), Dropout(0.3))             # (2 * width,)
    return NetSpec(tuple(input_shape), layers, num_classes)


@PRESETS.register("trad-fpool3")
def trad_fpool3(input_shape=(1, 40, 101), num_classes: int = 10) -> NetSpec:
    """cnn-trad-fpool3-like (Sainath & Parada 2015): 64 (8 x 20) filters, pool 3 in frequency,
    64 (4 x 10) filters, a 32-unit linear layer, a 128-unit ReLU layer."""
    _, f, t = input_shape
    layers = (*_cbr(64, (_freq_kernel(f, 8), min(20, t))), Pool("max", (3, 1)),
              *_cbr(64, (_freq_kernel(max(1, (f - 7) // 3), 4), min(10, max(1, t - 19)))),
              Flatten(), Dense(32), Dense(128), ReLU(), Dropout(0.3))
    return NetSpec(tuple(input_shape), layers, num_classes)


@PRESETS.register("tcnn")
def tcnn(input_shape=(1, 40, 101), num_classes: int = 10, width: int = 64) -> NetSpec:
    """Time-axis baseline (TC-ResNet-like): the first filter covers all F bands x 3 frames, so the
    map has height 1 and every later filter moves along time only; max over time."""
    _, f, _ = input_shape
    layers = (*_cbr(width, (f, 3), padding=(0, 1)),        # (width, 1, T)
              Pool("max", (1, 2), ceil=True),
              *_cbr(width, (1, 5), padding=(0, 2)),
              Pool("max", (1, 2), ceil=True),
              *_cbr(width, (1, 5), padding=(0, 2)),
              GlobalPool("max", axis="w"), Flatten(), Dropout(0.3))   # (width,)
    return NetSpec(tuple(input_shape), layers, num_classes)


@PRESETS.register("fc")
def fc(input_shape=(1, 40, 101), num_classes: int = 10, hidden: int = 128) -> NetSpec:
    """Fully-connected baseline on the flattened (F x T) feature image."""
    layers = (Flatten(), Dense(hidden), BatchNorm(), ReLU(), Dropout(0.3),
              Dense(hidden), BatchNorm(), ReLU(), Dropout(0.3))
    return NetSpec(tuple(input_shape), layers, num_classes)


def make_spec(preset: str, input_shape: tuple, num_classes: int) -> NetSpec:
    """``PRESETS.create`` with the feature image shape and class count."""
    return PRESETS.create(preset, input_shape=tuple(input_shape), num_classes=int(num_classes))
