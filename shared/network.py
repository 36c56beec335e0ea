"""``NetSpec`` (a whole network as data) -> ``Network`` (an ``nn.Module``), and the JSON form of a spec.

    spec = NetSpec((1, 28, 28), (Conv(32, 3), ReLU(), Pool("max", 2), Flatten()), num_classes=10)
    net = build(spec)
    logits, loss = net(x, targets)     # (B, 10), mean cross-entropy (natural log)

``num_classes=K`` appends a classification head: ``Flatten`` (when the last layer's output is still a
map) + ``Dense(K)``. ``num_classes=None`` uses the last layer's output, flattened, as the logits
(Go: a (B, 1, 19, 19) map -> (B, 361) move logits).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .layers import LAYER_TYPES, Shape


@dataclass(frozen=True)
class NetSpec:
    input_shape: tuple[int, ...]       # (C, H, W) of one sample, or (F,) for a flat input
    layers: tuple = ()                 # layer specs from shared.layers, applied in order
    num_classes: int | None = None     # K -> Flatten + Dense(K) head; None -> flattened last output


class Network(nn.Module):
    """The module built from a ``NetSpec``: ``body`` (one child per layer spec, named "0", "1", ...)
    and an optional ``head``. ``forward(x, targets=None, label_smoothing=0.0) -> (logits, loss | None)``."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        self.spec = spec
        self.input_shape = tuple(spec.input_shape)
        shape: Shape = self.input_shape
        mods = []
        for i, layer in enumerate(spec.layers):
            try:
                m, shape = layer.make(shape)
            except ValueError as e:
                raise ValueError(f"layer {i} ({type(layer).__name__}): {e}") from None
            mods.append(m)
        self.body = nn.Sequential(*mods)
        self.feature_shape = tuple(shape)  # output of the body for one sample
        self.head: nn.Module | None = None
        if spec.num_classes is not None:
            n_in = 1
            for d in shape:
                n_in *= d
            lin = nn.Linear(n_in, spec.num_classes)
            self.head = lin if len(shape) == 1 else nn.Sequential(nn.Flatten(), lin)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Body output, ``(B, *feature_shape)``."""
        if tuple(x.shape[1:]) != self.input_shape:
            want = ", ".join(map(str, self.input_shape))
            raise ValueError(f"Network expects input (B, {want}), got {tuple(x.shape)}")
        if not x.is_floating_point():  # compact integer input (Go planes are int8): cast on the device
            x = x.to(next(self.parameters(), torch.empty(0)).dtype)
        return self.body(x)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None,
                label_smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = self.features(x)
        logits = self.head(z) if self.head is not None else z.flatten(1)  # (B, K)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
        return logits, loss


def build(spec: NetSpec) -> Network:
    """Build the ``nn.Module`` described by ``spec`` (PyTorch's default initialisation)."""
    return Network(spec)


def _layer_to_dict(layer: Any) -> dict:
    name = type(layer).__name__
    if LAYER_TYPES.get(name) is not type(layer):
        raise TypeError(f"not a shared.layers spec: {layer!r}")
    d: dict[str, Any] = {"type": name}
    for f in dataclasses.fields(layer):
        v = getattr(layer, f.name)
        if f.name == "body":
            v = [_layer_to_dict(x) for x in v]
        elif isinstance(v, tuple):
            v = list(v)
        d[f.name] = v
    return d


def _layer_from_dict(d: dict) -> Any:
    d = dict(d)
    name = d.pop("type", None)
    cls = LAYER_TYPES.get(name)
    if cls is None:
        raise ValueError(f"unknown layer type {name!r}; known: {', '.join(sorted(LAYER_TYPES))}")
    known = {f.name for f in dataclasses.fields(cls)}
    extra = set(d) - known
    if extra:
        raise ValueError(f"layer {name}: unknown field(s) {sorted(extra)}; known: {sorted(known)}")
    kw = {}
    for k, v in d.items():
        if k == "body":
            v = tuple(_layer_from_dict(x) for x in v)
        elif isinstance(v, list):
            v = tuple(v)
        kw[k] = v
    return cls(**kw)


def spec_to_dict(spec: NetSpec) -> dict:
    """JSON-able dict (``json.dumps`` works on it); inverse of ``spec_from_dict``."""
    return {"input_shape": list(spec.input_shape),
            "layers": [_layer_to_dict(x) for x in spec.layers],
            "num_classes": spec.num_classes}


def spec_from_dict(d: dict) -> NetSpec:
    """Rebuild a ``NetSpec`` from ``spec_to_dict`` output (e.g. read back from a checkpoint)."""
    try:
        return NetSpec(tuple(int(x) for x in d["input_shape"]),
                       tuple(_layer_from_dict(x) for x in d["layers"]),
                       None if d.get("num_classes") is None else int(d["num_classes"]))
    except (KeyError, TypeError) as e:
        raise ValueError(f"not a network spec dict: {e}") from None
