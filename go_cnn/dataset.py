"""Training data: memory-mapped shards -> (planes, move) samples; and positions straight from SGF.

`GoShardDataset(dir, split, augment)` reads the manifest(s) written by `go-cnn prepare`, drops
duplicate games (first in shard order wins), keeps the games of the requested split, and maps the
position records (shards.py, 114 bytes each). Planes are built on demand by the feature set;
`__getitems__` builds a whole batch at once (one compiled call), which torch's DataLoader uses
automatically. `positions_from_sources` skips the prepare step for evaluation and prediction.

Contract: planes are int8 (C, 19, 19) per sample (0/1; `slides` also -1), 4x smaller than float32
through the workers, pinned memory and the host-to-device copy; the model casts them to its float
dtype (`shared.network.Network.features`). Code that needs float input (gradients w.r.t. the
input, as in shared/visualize.py) casts explicitly with `.float()`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from go_cnn.board import replay_game
from go_cnn.features import get_feature_set
from go_cnn.sgf import SGFError, parse_sgf
from go_cnn.shards import is_val, read_marker, unpack_stones
from go_cnn.sources import iter_sources
from go_cnn.symmetry import apply_moves, apply_planes


class DatasetError(Exception):
    """A dataset folder that cannot be used; the message names the folder and the reason."""


def load_manifest(root: Path) -> dict:
    """The manifest, or the union of the parts written with --shard i/N."""
    single = root / "manifest.json"
    parts = [single] if single.exists() else sorted(root.glob("manifest-*-of-*.json"))
    if not parts:
        raise DatasetError(f"{root}: no manifest.json (run `go-cnn prepare`, or it did not finish)")
    mans = [json.loads(p.read_text()) for p in parts]
    first = mans[0]
    for m in mans[1:]:
        if (m["feature_set"], m["val_fraction"]) != (first["feature_set"], first["val_fraction"]):
            raise DatasetError(f"{root}: manifest parts disagree on feature set or val fraction")
    shards = sorted({s for m in mans for s in m["shards"]})
    return dict(first, shards=shards)


class GoShardDataset(Dataset):
    """Samples (planes int8 (C, 19, 19), move int64) of one split of a prepared dataset."""

    def __init__(self, root, split: str = "train", augment: bool = False, feature_set: str | None = None,
                 seed: int | None = None):
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be train, val or all, not {split!r}")
        self.root = Path(root)
        man = load_manifest(self.root)
        self.feature_set = feature_set or man["feature_set"]  # name, e.g. "alphago"
        self.features = get_feature_set(self.feature_set)
        self.num_planes = self.features.num_planes
        self.board_size = man.get("board_size", 19)
        self.augment = augment
        self.rng = np.random.default_rng(seed)
        self.positions, rows, seen = [], [], set()
        for s, name in enumerate(man["shards"]):
            marker = read_marker(self.root, name)
            if marker is None:
                raise DatasetError(f"{self.root}: shard {name} is incomplete or damaged; re-run prepare")
            games = np.load(self.root / marker["files"]["games"])
            self.positions.append(np.load(self.root / marker["files"]["positions"], mmap_mode="r"))
            keep = np.array([h not in seen and not seen.add(h) for h in games["hash"].tolist()], bool)
            if split != "all":
                val = is_val(games["hash"], man["val_fraction"])
                keep &= val if split == "val" else ~val
            for g in games[keep]:
                rows.append(np.stack([np.full(g["count"], s, np.int64),
                                      np.arange(g["start"], g["start"] + g["count"], dtype=np.int64)], 1))
        self.index = np.concatenate(rows) if rows else np.empty((0, 2), np.int64)  # (M, 2) shard, row

    def __len__(self) -> int:
        return len(self.index)

    def records(self, idx) -> np.ndarray:
        """Position records (shards.POSITION_DTYPE) for dataset indices, in the given order."""
        idx = np.asarray(idx, np.int64)
        sel = self.index[idx]
        out = np.empty(len(idx), self.positions[0].dtype)
        for s in np.unique(sel[:, 0]):
            m = sel[:, 0] == s
            out[m] = self.positions[s][sel[m, 1]]
        return out

    def batch(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        """(planes (B, C, 19, 19) int8, moves (B,) int64) for dataset indices."""
        rec = self.records(idx)
        planes = self.features.encode(records_to_positions(rec), self.board_size)
        moves = rec["target"].astype(np.int64)
        if self.augment:
            syms = self.rng.integers(0, 8, len(rec))
            planes, moves = apply_planes(planes, syms, self.board_size), apply_moves(moves, syms, self.board_size)
        return torch.from_numpy(np.ascontiguousarray(planes)), torch.from_numpy(moves)

    def __getitem__(self, i: int):
        planes, moves = self.batch([i])
        return planes[0], moves[0]

    def __getitems__(self, indices):  # used by DataLoader: one batched encode per batch
        planes, moves = self.batch(indices)
        return list(zip(planes.unbind(0), moves.unbind(0)))


def _worker_init(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed % (2**32))


def make_loader(dataset: GoShardDataset, batch_size: int = 256, shuffle: bool = True, num_workers: int = 2,
                pin_memory: bool | None = None, drop_last: bool = False) -> DataLoader:
    """DataLoader with batched encoding in worker processes; pin_memory defaults to CUDA available."""
    pin = torch.cuda.is_available() if pin_memory is None else pin_memory
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      pin_memory=pin, drop_last=drop_last, worker_init_fn=_worker_init,
                      persistent_workers=num_workers > 0)


def records_to_positions(rec: np.ndarray) -> dict:
    """Shard records -> the dict the feature sets encode."""
    return {"stones": unpack_stones(rec["stones"]), "to_move": rec["to_move"], "ko": rec["ko"],
            "last": rec["last"]}


def game_positions(game, feature_set: str = "alphago") -> dict:
    """One parsed game -> planes (M, C, s, s) int8, moves (M,), legal (M, s*s) bool, move_number (M,),
    error (why replay stopped early, or ''). One row per non-pass move, state before it."""
    r = replay_game(game)
    fs = get_feature_set(feature_set)
    pos = {"stones": r["stones"], "to_move": r["to_move"], "ko": r["ko"], "last": r["last"]}
    from go_cnn.fastboard import analyze
    legal = analyze(r["stones"], r["to_move"], r["ko"], game.size)["legal"].astype(bool)
    return {"planes": fs.encode(pos, game.size), "moves": r["target"].astype(np.int64), "legal": legal,
            "move_number": r["move_number"].astype(np.int64), "error": r["error"]}


def positions_from_sources(sources, feature_set: str = "alphago", size: int = 19,
                           on_error=None) -> Iterator[dict]:
    """Yield one `game_positions` dict per usable game (plus "name") of SGF files/folders/archives,
    no prepare step. Games of another board size are skipped; bad files go to on_error(name, reason)."""
    for f in iter_sources(sources):
        if f.data is None:
            if on_error:
                on_error(f.name, f.error)
            continue
        try:
            games = parse_sgf(f.data)
        except SGFError as e:
            if on_error:
                on_error(f.name, str(e))
            continue
        for g in games:
            if g.size != size or not g.events:
                continue
            out = game_positions(g, feature_set)
            if len(out["moves"]):
                out["name"] = f.name
                yield out
