"""A trained move predictor, ready to ask: position(s) in, a probability per legal point out.

    pol = Policy.load("model.pt")                 # file written by `go-cnn train`
    p = pol.probabilities(pos)                    # (B, N) float32, 0 on illegal points
    p = pol.probabilities(pos, symmetries=8)      # averaged over the 8 board symmetries

`pos` is the dict the feature sets encode: stones (B, N) int8 (0 empty, 1 black, 2 white),
to_move (B,) int8 (1 black, 2 white), ko (B,) int (-1 none), last (B, H) int16 (most recent move
first, -1 none/pass). Used by `evaluate`, `predict` and the GTP engine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from go_cnn.fastboard import analyze
from go_cnn.features import get_feature_set
from go_cnn.symmetry import NUM_SYMMETRIES, apply_planes, tables
from shared.checkpoint import CheckpointError, load_model
from shared.distributed import select_device


class PolicyError(Exception):
    """A model file that cannot be used as a Go policy; the message names the file and the reason."""


class Policy:
    """A policy network + the feature set it was trained on + board size."""

    def __init__(self, net: nn.Module, feature_set: str, size: int = 19, meta: dict | None = None,
                 device: str | torch.device = "cpu"):
        self.device = select_device(device) if isinstance(device, str) else torch.device(device)
        self.net = net.to(self.device).eval()
        self.feature_set = feature_set                  # name, e.g. "alphago"
        self.features = get_feature_set(feature_set)
        self.size = size                                # board size the net was built for
        self.meta = dict(meta or {})                    # the model file's meta (spec, preset, training info)

    @classmethod
    def load(cls, path, device: str | torch.device = "auto") -> "Policy":
        """Load a model file written by `go-cnn train`. PolicyError (naming the file) otherwise."""
        path = Path(path)
        try:
            net, meta = load_model(path)
        except CheckpointError as e:
            raise PolicyError(str(e)) from None
        if meta.get("app") != "go" or "feature_set" not in meta:
            raise PolicyError(f"{path}: not a Go policy model (meta app={meta.get('app')!r}; "
                              f"expected a file written by `go-cnn train`)")
        try:
            get_feature_set(meta["feature_set"])
        except ValueError as e:
            raise PolicyError(f"{path}: {e}") from None
        return cls(net, meta["feature_set"], int(meta.get("board_size", 19)), meta, device)

    @classmethod
    def from_network(cls, net: nn.Module, feature_set: str, size: int = 19, device="cpu") -> "Policy":
        """Wrap a network (e.g. an untrained preset, for tests)."""
        return cls(net, feature_set, size, {"app": "go", "feature_set": feature_set, "board_size": size}, device)

    def planes(self, pos: dict) -> np.ndarray:
        """Input planes (B, C, size, size) float32 of the positions."""
        return self.features.encode(pos, self.size)

    @torch.no_grad()
    def logits(self, planes: np.ndarray | torch.Tensor, symmetries: int = 1) -> torch.Tensor:
        """Raw logits (B, N) on CPU. With symmetries > 1 they are the mean of the log-softmax over the
        first `symmetries` board symmetries, each mapped back to the original orientation."""
        x = torch.as_tensor(planes, dtype=torch.float32).to(self.device)  # (B, C, s, s)
        if symmetries <= 1:
            out, _ = self.net(x)
            return out.float().cpu()
        if not 1 <= symmetries <= NUM_SYMMETRIES:
            raise ValueError(f"symmetries must be 1..{NUM_SYMMETRIES}, got {symmetries}")
        _, dst = tables(self.size)
        b = x.shape[0]
        xs = torch.cat([apply_planes(x, s, self.size) for s in range(symmetries)])  # (S*B, C, s, s)
        out, _ = self.net(xs)
        out = out.float().cpu().reshape(symmetries, b, -1)  # (S, B, N), in transformed coordinates
        # point p of the original board sits at dst[s][p] after symmetry s
        back = torch.stack([out[s][:, torch.as_tensor(dst[s])] for s in range(symmetries)])
        return back.log_softmax(-1).mean(0)

    def probabilities(self, pos: dict, symmetries: int = 1) -> np.ndarray:
        """(B, N) float32 softmax over the LEGAL points only: illegal points exactly 0, rows sum to 1;
        an all-zero row where no point is legal. symmetries=8 averages the 8 board symmetries'
        probabilities."""
        stones = np.ascontiguousarray(pos["stones"], np.int8)
        if stones.ndim != 2 or stones.shape[1] != self.size * self.size:
            raise ValueError(f"stones must be (B, {self.size * self.size}), got {stones.shape}")
        legal = analyze(stones, pos["to_move"], pos["ko"], self.size, need_after=True)["legal"].astype(bool)
        planes = self.planes(pos)
        if symmetries <= 1:
            return masked_softmax(self.logits(planes), legal)
        if not 1 <= symmetries <= NUM_SYMMETRIES:
            raise ValueError(f"symmetries must be 1..{NUM_SYMMETRIES}, got {symmetries}")
        x = torch.as_tensor(planes)
        _, dst = tables(self.size)
        acc = np.zeros(legal.shape, np.float64)
        with torch.no_grad():
            xs = torch.cat([apply_planes(x, s, self.size) for s in range(symmetries)]).to(self.device)
            out, _ = self.net(xs)
        out = out.float().cpu().reshape(symmetries, len(legal), -1)
        for s in range(symmetries):
            acc += masked_softmax(out[s][:, torch.as_tensor(dst[s])], legal)
        return (acc / symmetries).astype(np.float32)


def masked_softmax(logits: torch.Tensor | np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Softmax of logits (B, N) over the points where legal (B, N) is True -> float32 (B, N);
    exactly 0 elsewhere; all-zero rows where nothing is legal."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    mask = torch.as_tensor(legal, dtype=torch.bool)
    z = z.masked_fill(~mask, float("-inf"))
    p = torch.softmax(z, dim=-1)
    p = torch.nan_to_num(p, nan=0.0).masked_fill(~mask, 0.0)  # rows with no legal point: all -inf -> nan -> 0
    return p.numpy().astype(np.float32)
