"""What a CNN learned, for any ``Network`` (both apps use this one implementation).

- ``filter_grid(weight)``: first-layer filters (out, in, kh, kw) tiled into one image;
- ``feature_maps(net, x, layers)``: outputs of chosen body layers for one input;
- ``maximize_activation(net, layer, k, ...)``: an input that maximises filter ``k``'s mean activation
  (gradient ascent on the input with L2 decay and clipping), plus the activation after every step;
- ``saliency(net, x)``: |d score / d input|, max over input channels, for the predicted (or a given)
  class (Simonyan, Vedaldi & Zisserman 2014).

Inputs are one sample ``(C, H, W)`` (Go planes, a spectrogram ``(1, F, T)``); ``layer`` is an index
into ``net.body`` (= the position in the NetSpec's layer list). Images are numpy arrays; ``write_png``
and ``save_figure`` write PNG files atomically (temp file in the same folder + ``os.replace``) through
matplotlib's Agg canvas, never pyplot's global state.
"""
from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .layers import Conv
from .network import Network

__all__ = [
    "activation_layers",
    "conv_layers",
    "feature_maps",
    "filter_grid",
    "first_conv_weight",
    "maximize_activation",
    "saliency",
    "save_figure",
    "tile",
    "write_bytes_atomic",
    "write_png",
]


# ------------------------------------------------------------------------------------- files

def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_png(img: np.ndarray, path: str | os.PathLike, cmap: str = "viridis", scale: int = 1,
              vmin: float | None = None, vmax: float | None = None) -> Path:
    """A 2-D array as a PNG of exactly (H*scale, W*scale) pixels (NaN = background); atomic."""
    from matplotlib.image import imsave

    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"write_png needs a 2-D array, got shape {img.shape}")
    if scale > 1:
        img = np.kron(img, np.ones((scale, scale)))
    buf = io.BytesIO()
    masked = np.ma.masked_invalid(img)
    imsave(buf, masked, cmap=cmap, vmin=vmin, vmax=vmax, format="png")
    return write_bytes_atomic(path, buf.getvalue())


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Render a ``matplotlib.figure.Figure`` with the Agg canvas and write it atomically (never a
    half-written PNG under the final name); a pyplot-managed figure is closed afterwards."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    try:
        if fig.canvas is None or not hasattr(fig.canvas, "print_png"):
            FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        return write_bytes_atomic(path, buf.getvalue())
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)


# ------------------------------------------------------------------------------------- filters

def tile(tiles: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """(N, h, w) -> one image of ceil(N / cols) x cols tiles with ``pad`` NaN pixels around each:
    shape (rows * (h + pad) + pad, cols * (w + pad) + pad)."""
    n, h, w = tiles.shape
    rows = max(1, math.ceil(n / cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = tiles[i]
    return out


def filter_grid(weight: torch.Tensor | np.ndarray, normalize: bool = True, pad: int = 1,
                max_in: int | None = None) -> np.ndarray:
    """Conv weights (out, in, kh, kw) -> one image. One input channel: the ``out`` filters in a
    near-square grid. Several: one row per filter, one column per input channel (first ``max_in``).
    ``normalize`` scales each filter to [-1, 1] by its largest |weight|."""
    w = torch.as_tensor(weight).detach().float().cpu().numpy()
    if w.ndim != 4:
        raise ValueError(f"filter_grid needs conv weights (out, in, kh, kw), got shape {w.shape}")
    if max_in is not None:
        w = w[:, :max_in]
    if normalize:
        m = np.abs(w).reshape(w.shape[0], -1).max(1).reshape(-1, 1, 1, 1)
        w = w / np.where(m > 0, m, 1)
    o, i, kh, kw = w.shape
    if i == 1:
        return tile(w[:, 0], cols=math.ceil(math.sqrt(o)), pad=pad)
    return tile(w.reshape(o * i, kh, kw), cols=i, pad=pad)


def conv_layers(net: Network) -> list[int]:
    """Body indices of the Conv layers of a ``Network``."""
    return [i for i, s in enumerate(net.spec.layers) if isinstance(s, Conv)]


def activation_layers(net: Network) -> list[int]:
    """Body indices where each Conv's output has passed its BatchNorm/ReLU (the feature maps one
    would look at): the last of the run of BatchNorm/ReLU layers after each Conv, else the Conv."""
    out, layers = [], net.spec.layers
    for i in conv_layers(net):
        j = i
        while j + 1 < len(layers) and type(layers[j + 1]).__name__ in ("BatchNorm", "ReLU"):
            j += 1
        out.append(j)
    return out


def first_conv_weight(net: Network) -> torch.Tensor:
    """Weights (out, in, kh, kw) of the first Conv layer."""
    for m in net.body.modules():
        if isinstance(m, nn.Conv2d):
            return m.weight.detach()
    raise ValueError("the network has no convolution layer (a fully-connected design has no filters to show)")


# ------------------------------------------------------------------------------------- activations

def _check_layer(net: Network, layer: int) -> int:
    n = len(net.body)
    if not -n <= layer < n:
        raise ValueError(f"layer {layer} out of range: the network has {n} body layers (0..{n - 1})")
    return layer % n


def _layer_out(net: Network, x: torch.Tensor, layers: list[int]) -> dict[int, torch.Tensor]:
    outs: dict[int, torch.Tensor] = {}
    hooks = [net.body[i].register_forward_hook(lambda m, inp, out, i=i: outs.__setitem__(i, out))
             for i in layers]
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return outs


def _param_device(net: nn.Module) -> torch.device:
    p = next(net.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def feature_maps(net: Network, x: torch.Tensor, layers: list[int]) -> dict[int, torch.Tensor]:
    """Outputs of body ``layers`` for one input ``x`` (C, H, W) -> {layer: (C', H', W') or (F,)}."""
    idx = [_check_layer(net, i) for i in layers]
    was = net.training
    net.eval()
    try:
        outs = _layer_out(net, x.unsqueeze(0).to(_param_device(net)), idx)
    finally:
        net.train(was)
    return {i: outs[i][0].float().cpu() for i in idx}


def maps_image(maps: torch.Tensor, max_maps: int = 64, pad: int = 1) -> np.ndarray:
    """(C, H, W) feature maps -> a near-square grid image of the first ``max_maps`` channels,
    each scaled to [0, 1] by its own range."""
    m = maps.detach().float().cpu().numpy()
    if m.ndim == 1:
        m = m[:, None, None]
    m = m[:max_maps]
    lo = m.reshape(len(m), -1).min(1).reshape(-1, 1, 1)
    hi = m.reshape(len(m), -1).max(1).reshape(-1, 1, 1)
    m = (m - lo) / np.where(hi > lo, hi - lo, 1)
    return tile(m, cols=math.ceil(math.sqrt(len(m))), pad=pad)


def maximize_activation(net: Network, layer: int | None, channel: int, input_shape: tuple | None = None,
                        steps: int = 200, lr: float = 0.05, l2: float = 1e-3,
                        clip: tuple[float, float] | None = None, init: torch.Tensor | None = None,
                        seed: int = 0) -> tuple[torch.Tensor, list[float]]:
    """Gradient ascent on the input to maximise the mean activation of ``channel`` at body ``layer``
    (``layer=None``: the logit of class ``channel``). Objective: act - l2 * ||x||^2 (at a ReLU layer
    the ascent follows the pre-activation, so a filter that starts dead still moves); each step moves
    x by ``lr`` along the gradient scaled to unit RMS, then clips to ``clip``. -> (x (C, H, W), activation before each step
    and after the last one: ``steps + 1`` values)."""
    shape = tuple(input_shape or net.input_shape)
    dev = _param_device(net)
    g = torch.Generator().manual_seed(seed)
    x = (init.clone().float() if init is not None else 0.1 * torch.randn(shape, generator=g)).to(dev)
    if clip is not None:
        x = x.clamp(*clip)
    idx = None if layer is None else _check_layer(net, layer)
    was = net.training
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)

    relu = idx is not None and isinstance(net.body[idx], nn.ReLU)

    def activation(xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (reported activation, the quantity ascended): at a ReLU layer the gradient follows the
        pre-activation, so a filter that starts dead (all zero) still gets a direction."""
        if idx is None:
            a = net(xb)[0][0, channel]
            return a, a
        seen: dict = {}
        h = net.body[idx].register_forward_hook(lambda m, inp, out: seen.update(inp=inp[0], out=out))
        try:
            net(xb)
        finally:
            h.remove()
        out = seen["out"][0]   # (C', H', W') or (F,)
        if not 0 <= channel < out.shape[0]:
            raise ValueError(f"filter {channel} out of range: layer {idx} has {out.shape[0]} channels")
        a = out[channel].mean()
        return a, (seen["inp"][0][channel].mean() if relu else a)

    trace: list[float] = []
    try:
        for _ in range(steps):
            xb = x.unsqueeze(0).requires_grad_(True)
            a, target = activation(xb)
            obj = target - l2 * xb.pow(2).sum()
            (grad,) = torch.autograd.grad(obj, xb)
            trace.append(float(a.detach()))
            with torch.no_grad():
                grad = grad[0] / (grad.pow(2).mean().sqrt() + 1e-12)
                x = x + lr * grad
                if clip is not None:
                    x = x.clamp(*clip)
        with torch.no_grad():
            trace.append(float(activation(x.unsqueeze(0))[0]))
    finally:
        for p in net.parameters():
            p.requires_grad_(True)
        net.train(was)
    return x.detach().cpu(), trace


def saliency(net: nn.Module, x: torch.Tensor, target: int | None = None) -> tuple[torch.Tensor, int]:
    """|d logit[target] / d x| maximised over input channels, for one input x (C, H, W) -> ((H, W), target);
    ``target=None`` uses the predicted class."""
    was = net.training
    net.eval()
    try:
        xb = x.unsqueeze(0).float().to(_param_device(net)).requires_grad_(True)
        logits = net(xb)[0][0]
        t = int(logits.argmax()) if target is None else int(target)
        if not 0 <= t < logits.shape[0]:
            raise ValueError(f"class {t} out of range (0..{logits.shape[0] - 1})")
        (grad,) = torch.autograd.grad(logits[t], xb)
    finally:
        net.train(was)
    return grad[0].abs().amax(0).cpu(), t


def render_views(net: Network, x: torch.Tensor, out: str | os.PathLike, what: set[str], *,
                 layer: int | None = None, filt: int = 0, steps: int = 100,
                 clip: tuple[float, float] = (0.0, 1.0), scale: int = 8,
                 input_image=None, warn=print) -> tuple[list[Path], dict]:
    """The views both apps share, as PNGs under `out`: "filters" (first-layer grid), "maps" (feature
    maps of `layer`, or of every activation layer), "maximize" (gradient ascent on the input for
    filter `filt` of `layer`). `input_image(x) -> 2-D array` draws an input (default: maps_image).
    Returns (files, report). A bad `layer`/`filt` raises ValueError naming it."""
    n_body = len(net.body)
    if layer is not None and not -n_body <= layer < n_body:
        raise ValueError(f"--layer {layer} out of range: the model has {n_body} body layers")
    draw = input_image or maps_image
    acts = activation_layers(net)
    out = Path(out)
    files, report = [], {}
    if "filters" in what:
        try:
            files.append(write_png(filter_grid(first_conv_weight(net)), out / "filters.png",
                                   cmap="RdBu_r", scale=8, vmin=-1, vmax=1))
        except ValueError as e:
            warn(f"filters: skipped ({e})")
    if "maps" in what:
        for i in ([layer] if layer is not None else acts):
            m = feature_maps(net, x, [i])[i % n_body]
            if m.dim() == 3:
                files.append(write_png(maps_image(m), out / f"maps_layer{i % n_body}.png", scale=scale))
    if "maximize" in what:
        L = layer if layer is not None else (acts[0] if acts else None)
        xm, trace = maximize_activation(net, L, filt, steps=steps, clip=clip)
        tag = f"layer{L % n_body}" if L is not None else "logits"
        files.append(write_png(draw(xm), out / f"maximize_{tag}_filter{filt}.png", scale=scale))
        report["maximize"] = {"layer": L, "filter": filt, "start": trace[0], "end": trace[-1]}
    return files, report
