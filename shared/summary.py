"""Per-layer output shape, parameter count and multiply-accumulates (MACs) of a model.

Feature-map size along one axis (the lecture formula): out = (n + 2p - f) / s + 1, rounded down,
for input size n, filter size f, padding p, stride s. E.g. 5x5 input, 3x3 filter -> 3x3;
padding 1 -> 5x5; stride 2 -> 2x2.

MACs are per sample: a convolution costs out_elements * (in_channels / groups) * kh * kw, a dense
layer in * out; pooling, ReLU, batch norm, dropout count 0. Shapes come from a real forward pass of
one zero sample (batch 1, eval mode), so what is printed is what runs.

For a ``Network`` (built from a ``NetSpec``) there is one row per layer spec plus the head; for any
other ``nn.Module`` one row per leaf module that runs in the forward pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .layers import conv_output_size  # re-exported: summary.conv_output_size
from .network import NetSpec, Network, build

__all__ = ["Row", "Summary", "conv_output_size", "summary"]


@dataclass
class Row:
    name: str               # module path, e.g. "body.0" or "head"
    kind: str               # layer spec / module class name, e.g. "Conv"
    out_shape: tuple        # output shape of one sample (no batch axis)
    params: int             # parameters of this layer
    macs: int               # multiply-accumulates per sample


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)
    input_shape: tuple = ()
    total_params: int = 0   # all parameters of the model (also those no row owns)
    total_macs: int = 0

    def __str__(self) -> str:
        head = ("#", "layer", "kind", "output shape", "params", "MACs")
        lines = [head] + [(str(i), r.name, r.kind, "x".join(map(str, r.out_shape)), f"{r.params:,}", f"{r.macs:,}")
                          for i, r in enumerate(self.rows)]
        widths = [max(len(line[c]) for line in lines) for c in range(len(head))]

        def fmt(line: tuple) -> str:  # text columns left-aligned, numbers right-aligned
            return "  ".join(s.rjust(w) if c >= 4 else s.ljust(w) for c, (s, w) in enumerate(zip(line, widths)))

        rule = "-" * len(fmt(head))
        body = [fmt(line) for line in lines]
        return "\n".join([f"input: {'x'.join(map(str, self.input_shape))}", body[0], rule, *body[1:], rule,
                          f"total params: {self.total_params:,}", f"total MACs: {self.total_macs:,}"])


def _leaf_macs(m: nn.Module, out: torch.Tensor) -> int:
    per_sample = out[0].numel()
    if isinstance(m, nn.Conv2d | nn.Conv1d):
        kk = 1
        for k in m.kernel_size:
            kk *= k
        return per_sample * (m.in_channels // m.groups) * kk
    if isinstance(m, nn.Linear):
        return per_sample * m.in_features
    return 0


def summary(model_or_spec: nn.Module | NetSpec, input_shape: tuple | None = None) -> Summary:
    """Summarise ``model_or_spec`` for inputs of ``input_shape`` (one sample, no batch axis;
    defaults to the spec's ``input_shape`` for a ``Network``)."""
    model = build(model_or_spec) if isinstance(model_or_spec, NetSpec) else model_or_spec
    if input_shape is None:
        if not isinstance(model, Network):
            raise ValueError("summary: input_shape is required for a model not built from a NetSpec")
        input_shape = model.input_shape
    if isinstance(model, Network):
        units = [(f"body.{i}", type(s).__name__, m) for i, (s, m) in enumerate(zip(model.spec.layers, model.body))]
        if model.head is not None:
            units.append(("head", "Dense", model.head))
    else:
        units = [(n, type(m).__name__, m) for n, m in model.named_modules() if n and not any(m.children())]

    shapes: dict[int, tuple] = {}
    macs = [0] * len(units)

    def shape_hook(u: int):
        def hook(m, inp, out):  # a forward hook must return None (a value would replace the output)
            if torch.is_tensor(out) and u not in shapes:
                shapes[u] = tuple(out.shape[1:])
        return hook

    def mac_hook(u: int):
        def hook(m, inp, out):
            if torch.is_tensor(out):
                macs[u] += _leaf_macs(m, out)
        return hook

    hooks = []
    for u, (_, _, mod) in enumerate(units):
        hooks.append(mod.register_forward_hook(shape_hook(u)))
        hooks += [leaf.register_forward_hook(mac_hook(u)) for leaf in mod.modules() if not any(leaf.children())]
    was_training = model.training
    p = next(model.parameters(), None)
    x = torch.zeros((1, *input_shape), device=p.device if p is not None else "cpu")
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    rows = [Row(name, kind, shapes[u], sum(q.numel() for q in mod.parameters()), macs[u])
            for u, (name, kind, mod) in enumerate(units) if u in shapes]
    return Summary(rows, tuple(input_shape), sum(q.numel() for q in model.parameters()), sum(r.macs for r in rows))
