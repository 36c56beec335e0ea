"""The Go domain of `cnn-compare`: move prediction designs on KGS positions.

Data (read in place from DATA_ROOT/go): training positions = every non-pass move of the first
``train_games`` games of each kgs-train archive (spread over the five years), evaluation = every
``eval_stride``-th position of the first ``eval_games`` games of each kgs-dev archive (2017, games
never seen in training). Planes (``alphago``, 31) are encoded once and kept as uint8 (they are
0/1), so every design trains at the network's own speed, not the encoder's.

Designs (same 31-plane input, logits over the 361 points; ``go_cnn.model`` specs):
FC baseline, 3x3 vs 5x5 first layer, with vs without max pooling, deeper, wider.
Metrics: top-1 and top-5 move accuracy on the kgs-dev positions.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from shared.domains import DomainData, TrainedDomain, design_from_spec, register_domain
from shared.layers import Conv, Flatten, Pool, ReLU
from shared.network import NetSpec
from shared.train import TrainConfig, evaluate

from .dataset import positions_from_sources
from .features import get_feature_set
from .model import PolicyConfig, fc_spec, policy_spec


@dataclass(frozen=True)
class GoDataConfig:
    feature_set: str = "alphago"   # input planes
    train_games: int = 60          # games taken from the start of each kgs-train archive (5 archives)
    eval_games: int = 40           # games from the start of each kgs-dev archive (3 archives)
    eval_stride: int = 6           # keep every n-th position of an evaluation game
    size: int = 19                 # board size


QUICK = GoDataConfig(train_games=2, eval_games=1, eval_stride=4)


class PlaneSet(Dataset):
    """(planes float32 (C, H, W), move int64) from uint8 planes held in memory."""

    def __init__(self, planes: np.ndarray, moves: np.ndarray):
        self.planes = torch.from_numpy(planes)   # (M, C, H, W) uint8
        self.moves = torch.from_numpy(moves)     # (M,) int64

    def __len__(self) -> int:
        return len(self.moves)

    def __getitem__(self, i):
        return self.planes[i].float(), self.moves[i]

    def __getitems__(self, idx):  # DataLoader: one gather + convert per batch
        idx = torch.as_tensor(idx)
        x = self.planes[idx].float()
        return list(zip(x.unbind(0), self.moves[idx].unbind(0)))


def _archives(root: Path) -> list[Path]:
    files = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")) if root.is_dir() else []
    if not files:
        raise FileNotFoundError(f"{root}: no SGF archives (expected DATA_ROOT/go/kgs-train and kgs-dev)")
    return files


def collect(archives: list[Path], games: int, stride: int, feature_set: str, size: int = 19) -> tuple:
    """-> (planes uint8 (M, C, s, s), moves int64 (M,), games used): every ``stride``-th position of
    the first ``games`` usable games of each archive."""
    planes, moves, used = [], [], 0
    for a in archives:
        n = 0
        for g in positions_from_sources([a], feature_set, size):
            planes.append(g["planes"][::stride].astype(np.uint8))
            moves.append(g["moves"][::stride])
            n += 1
            if n >= games:
                break
        used += n
    return np.concatenate(planes), np.concatenate(moves).astype(np.int64), used


def _pool_spec(planes: int, size: int, filters: int = 32) -> NetSpec:
    """5x5 conv, 2x2 max pooling (19x19 -> 10x10), three 3x3 convs, then a dense layer back to the
    361 points (a pooled map cannot name a point by itself)."""
    layers = (Conv(filters, 5, padding="same"), ReLU(), Pool("max", 2, ceil=True),
              Conv(filters, 3, padding="same"), ReLU(), Conv(filters, 3, padding="same"), ReLU(),
              Conv(filters, 3, padding="same"), ReLU(), Flatten())
    return NetSpec((planes, size, size), layers, num_classes=size * size)


class GoDomain(TrainedDomain):
    name = "go"
    metrics = ("top1", "top5")
    description = ("Go move prediction: 31 `alphago` planes of KGS positions -> one of 361 points; "
                   "trained on kgs-train games, scored on kgs-dev (2017) positions.")
    num_classes = None
    train_config = TrainConfig(optimizer="adamw", lr=1e-3, batch_size=128, log_every=50)

    def __init__(self, data: GoDataConfig = GoDataConfig()):
        self.data_cfg = data
        self.planes = get_feature_set(data.feature_set).num_planes
        self.input_shape = (self.planes, data.size, data.size)

    def _cfg(self, quick: bool) -> GoDataConfig:
        return replace(QUICK, feature_set=self.data_cfg.feature_set, size=self.data_cfg.size) if quick else self.data_cfg

    def designs(self, quick: bool = False) -> dict[str, dict]:
        p, s = self.planes, self.data_cfg.size
        conv = {
            "fc": (fc_spec(p, s, hidden=(1024, 1024)), "fully connected: flatten -> 1024 -> 1024 -> 361 (ReLU)"),
            "cnn-3x3": (policy_spec(PolicyConfig(layers=5, filters=32, first_kernel=3), p, s),
                        "5 conv layers, 32 filters, 3x3 first layer, no pooling, 1x1 output + point bias"),
            "cnn-5x5": (policy_spec(PolicyConfig(layers=5, filters=32, first_kernel=5), p, s),
                        "as cnn-3x3 with a 5x5 first layer (AlphaGo's choice)"),
            "cnn-5x5-maxpool": (_pool_spec(p, s), "cnn-5x5 with 2x2 max pooling after layer 1, dense output"),
            "cnn-5x5-deep": (policy_spec(PolicyConfig(layers=8, filters=32, first_kernel=5), p, s),
                             "depth: 8 conv layers, 32 filters"),
            "cnn-5x5-wide": (policy_spec(PolicyConfig(layers=5, filters=64, first_kernel=5), p, s),
                             "width: 5 conv layers, 64 filters"),
        }
        return {k: design_from_spec(k, spec, desc) for k, (spec, desc) in conv.items()}

    def fingerprint(self, data_root: Path, quick: bool) -> str:
        cfg = self._cfg(quick)
        h = hashlib.sha1(json.dumps({"v": 1, **cfg.__dict__}, sort_keys=True).encode())
        for sub in ("kgs-train", "kgs-dev"):
            for a in _archives(Path(data_root) / "go" / sub):
                h.update(f"{a.name}|{a.stat().st_size}".encode())
        return h.hexdigest()[:16]

    def load_data(self, data_root: Path, quick: bool) -> DomainData:
        cfg = self._cfg(quick)
        root = Path(data_root) / "go"
        tp, tm, tg = collect(_archives(root / "kgs-train"), cfg.train_games, 1, cfg.feature_set, cfg.size)
        ep, em, eg = collect(_archives(root / "kgs-dev"), cfg.eval_games, cfg.eval_stride, cfg.feature_set, cfg.size)
        info = {"train": f"{len(tm):,} positions from {tg} kgs-train games",
                "eval": f"{len(em):,} positions from {eg} kgs-dev games", "features": cfg.feature_set}
        return DomainData(PlaneSet(tp, tm), {"kgs-dev": PlaneSet(ep, em)}, info)

    def score(self, model: torch.nn.Module, evals: dict) -> dict[str, float]:
        m = evaluate(model, evals["kgs-dev"], batch_size=512, device=self.train_config.device)
        return {"top1": m["top1"], "top5": m["top5"]}


def register() -> None:
    """Register the Go domain without the entry point (tests, notebooks)."""
    register_domain("go", GoDomain, replace=True)
