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
from shared.checkpoint import CheckpointError, load_checkpoint, load_model
from shared.distributed import select_device


class PolicyError(Exception):
    """A model file that cannot be used as a Go policy; the message names the file and the reason."""


class Policy:
    """A policy network + the feature set it was trained on + board size."""

    def __init__(self, net: nn.Module, feature_set: str, size: int = 19, meta: dict | None = None,
                 device: str | torch.device = "cpu"):
        self.device = select_device(device) if isinstance(device, str) else torch.device(device)
        self.net = net.to(self.device, memory_format=torch.channels_last).eval()  # NHWC: faster convolutions
        self.feature_set = feature_set                  # name, e.g. "alphago"
        self.features = get_feature_set(feature_set)
        self.size = size                                # board size the net was built for
        self.meta = dict(meta or {})                    # the model file's meta (spec, preset, training info)

    @classmethod
    def load(cls, path, device: str | torch.device = "auto") -> Policy:
        """Load a model file written by `go-cnn train`. PolicyError (naming the file) otherwise."""
        path = Path(path)
        try:
            meta = load_checkpoint(path)["meta"]
            if meta.get("app") != "go" or "feature_set" not in meta:
                raise PolicyError(f"{path}: not a Go policy model (meta app={meta.get('app')!r}; "
                                  f"expected a file written by `go-cnn train`)")
            net, meta = load_model(path)
        except CheckpointError as e:
            raise PolicyError(str(e)) from None
        try:
            get_feature_set(meta["feature_set"])
        except ValueError as e:
            raise PolicyError(f"{path}: {e}") from None
        return cls(net, meta["feature_set"], int(meta.get("board_size", 19)), meta, device)

    @classmethod
    def from_network(cls, net: nn.Module, feature_set: str, size: int = 19, device="cpu") -> Policy:
        """Wrap a network (e.g. an untrained preset, for tests)."""
        return cls(net, feature_set, size, {"app": "go", "feature_set": feature_set, "board_size": size}, device)

    def planes(self, pos: dict) -> np.ndarray:
        """Input planes (B, C, size, size) float32 of the positions."""
        return self.features.encode(pos, self.size)

    @torch.no_grad()
    def raw_logits(self, planes: np.ndarray | torch.Tensor, symmetries: int = 1) -> torch.Tensor:
        """Network logits (S, B, N) float32 on CPU for the first S = `symmetries` board symmetries
        of the planes (B, C, size, size), each mapped back to the original orientation."""
        if not 1 <= symmetries <= NUM_SYMMETRIES:
            raise ValueError(f"symmetries must be 1..{NUM_SYMMETRIES}, got {symmetries}")
        x = torch.as_tensor(np.asarray(planes, np.float32))  # (B, C, s, s)
        b = x.shape[0]
        xs = torch.cat([apply_planes(x, s, self.size) for s in range(symmetries)]) if symmetries > 1 else x
        out, _ = self.net(xs.to(self.device).contiguous(memory_format=torch.channels_last))
        out = out.float().cpu().reshape(symmetries, b, -1)  # (S, B, N), in transformed coordinates
        _, dst = tables(self.size)
        # point p of the original board sits at dst[s][p] after symmetry s
        return torch.stack([out[s][:, torch.from_numpy(dst[s].copy())] for s in range(symmetries)])

    def masked_probabilities(self, planes: np.ndarray, legal: np.ndarray, symmetries: int = 1) -> np.ndarray:
        """Like `probabilities`, from ready planes (B, C, s, s) and the legal mask (B, N) bool."""
        z = self.raw_logits(planes, symmetries)
        acc = np.zeros(legal.shape, np.float64)
        for s in range(symmetries):
            acc += masked_softmax(z[s], legal)
        return (acc / symmetries).astype(np.float32)

    def probabilities(self, pos: dict, symmetries: int = 1) -> np.ndarray:
        """(B, N) float32 softmax over the LEGAL points only: illegal points exactly 0, rows sum to 1;
        an all-zero row where no point is legal. symmetries=8 averages the probabilities of the
        8 board symmetries (each a masked softmax)."""
        stones = np.ascontiguousarray(pos["stones"], np.int8)
        if stones.ndim != 2 or stones.shape[1] != self.size * self.size:
            raise ValueError(f"stones must be (B, {self.size * self.size}), got {stones.shape}")
        legal = analyze(stones, pos["to_move"], pos["ko"], self.size, need_after=True)["legal"].astype(bool)
        return self.masked_probabilities(self.planes(dict(pos, stones=stones)), legal, symmetries)


def masked_softmax(logits: torch.Tensor | np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Softmax of logits (B, N) over the points where legal (B, N) is True -> float32 (B, N);
    exactly 0 elsewhere; all-zero rows where nothing is legal."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    mask = torch.as_tensor(legal, dtype=torch.bool)
    z = z.masked_fill(~mask, float("-inf"))
    p = torch.softmax(z, dim=-1)
    p = torch.nan_to_num(p, nan=0.0).masked_fill(~mask, 0.0)  # rows with no legal point: all -inf -> nan -> 0
    return p.numpy().astype(np.float32)
